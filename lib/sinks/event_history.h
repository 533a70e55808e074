/*
 * event_history — recent events per tenant domain, in memory, with what became of them:
 * the store behind GET /api/events. Fed as an outcome sink (outcome.h).
 *
 * What is kept, per event: event_id, domain, stream_seq, when it was received and
 * last updated, the stored event (payload, cut to history.max_event_bytes and then
 * flagged "truncated"), a status, the delivery attempt / max_deliver / will_retry of
 * the latest attempt, and the latest EVENT_HISTORY_MAX_ATTEMPTS attempts, each with
 * at most EVENT_HISTORY_MAX_ENDPOINTS endpoint results (url, status, error, delivered).
 *
 * Status and lists. Each domain has two lists, each holding the history.per_domain
 * most recently received events of its kind, newest first (by received_at, then
 * stream_seq):
 *   - the "successful" list: events whose latest outcome is not a failure —
 *     "pending" (stored, no delivery outcome seen by this instance yet) and
 *     "successful" (every endpoint answered 2xx);
 *   - the "failed" list: "failed" (the latest attempt failed; will_retry says whether
 *     JetStream redelivers it) and "dead_lettered" (given up, in the DLQ stream).
 * An event moves to the other list when its status crosses over: a pending event
 * that fails moves to the failed list; a failed event that later succeeds moves back
 * to the successful list (its attempts still show the failures) and leaves the failed
 * list. It takes its place by received time, so an event older than every event of a
 * full list is forgotten on the way. A pending event takes a place in the successful
 * list; when it then fails, that list is one short until the next event arrives.
 * An outcome for an attempt older than the latest one recorded is stale and ignored;
 * a dead-letter outcome for the attempt that just failed replaces that attempt's
 * record (same endpoints, plus the reason). A replayed dead letter is stored again
 * under a higher stream_seq and its attempts restart at 1: its outcomes are recorded
 * after the earlier ones (the event takes the new stream_seq), while late outcomes
 * of the older copy are stale.
 *
 * A delivery outcome for an event not in the store (eventhub restarted, the event was
 * forgotten, or the outcome beat the publish ack) adds it, dated from when JetStream
 * stored it: an event forgotten for being old is forgotten again at once when its
 * list is full of newer ones. received_at is when the event was stored (the publish
 * ack, or the ESL outcome), updated_at the latest outcome.
 *
 * Identity: (domain, event_id); events without an event_id are known by stream_seq
 * (an outcome with neither, or with no domain — a non-JSON message in the stream —
 * is not kept). Domains are matched ASCII case-insensitively and shown lower-cased.
 * A duplicate received for an event not in the store adds nothing (its fate was
 * decided before). Text kept is valid UTF-8 (invalid bytes become '?'); a payload is
 * shown as JSON only when it is whole and valid, else as a string.
 *
 * Bounds: history.max_domains domains (the least recently active one is forgotten
 * whole), 2 x history.per_domain events per domain, the sizes above per event, and a
 * global byte budget (max_total_bytes) over all of it: past it, the oldest events of
 * the least recently active domains are forgotten first. So memory stays bounded
 * whatever the traffic.
 *
 * Threads: the sinks run on producer threads (nats.c's ack thread, the delivery
 * thread, ESL node threads); queries run on the HTTP thread. One mutex guards the
 * store. It is held only for lookups and pointer moves: the copies an outcome needs
 * (payload, attempt record, event) are made before taking it — only a new domain, a
 * hash table's growth and a query's reference array are allocated under it — the
 * frees after releasing it, and a query copies references out under it and formats
 * the JSON after releasing it (payloads and attempt records are immutable and
 * refcounted, so a query holds them safely). No I/O ever happens under the lock.
 */
#ifndef EVENTHUB_EVENT_HISTORY_H
#define EVENTHUB_EVENT_HISTORY_H

#include "core/outcome.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_HISTORY_MAX_ATTEMPTS 10  /* latest attempts kept per event */
#define EVENT_HISTORY_MAX_ENDPOINTS 16 /* endpoint results kept per attempt */
#define EVENT_HISTORY_DEFAULT_MAX_BYTES ((size_t)256 << 20)
/* A query answer holds at most this many events / about this many bytes of payload. */
#define EVENT_HISTORY_QUERY_MAX_EVENTS 10000
#define EVENT_HISTORY_QUERY_MAX_BYTES ((size_t)16 << 20)

struct event_history_options {
    int max_domains;        /* history.max_domains, >= 1 */
    int per_domain;         /* history.per_domain, >= 1 (each list) */
    size_t max_event_bytes; /* history.max_event_bytes, >= 1 */
    size_t max_total_bytes; /* 0 = EVENT_HISTORY_DEFAULT_MAX_BYTES */
    int max_deliver;        /* shown for pending events (nats.max_deliveries) */
};

struct event_history;

/* NULL when out of memory or an option is out of range. */
struct event_history *event_history_new(const struct event_history_options *opts);
/* No sink may run any more, nor a query. Accepts NULL. */
void event_history_free(struct event_history *h);

/* The sink to register with outcomes_add (h is borrowed for the sink's life). */
struct outcome_sink event_history_sink(struct event_history *h);
/* What the sink calls; any thread. */
void event_history_received(struct event_history *h, const struct outcome_received *r);
void event_history_delivery(struct event_history *h, const struct outcome_delivery *d);

enum event_history_lists {
    EVENT_HISTORY_SUCCESSFUL = 1 << 0,
    EVENT_HISTORY_FAILED = 1 << 1,
    EVENT_HISTORY_ALL = EVENT_HISTORY_SUCCESSFUL | EVENT_HISTORY_FAILED,
};

struct event_history_query {
    unsigned lists;     /* enum event_history_lists */
    const char *domain; /* NULL or "" = every domain; else exact, case-insensitive */
    int limit;          /* events per domain and list, >= 1 */
};

/*
 * The answer of GET /api/events:
 *   {"events_by_domain":{"<domain>":[event…newest first]},
 *    "failed_events_by_domain":{…}}
 * plus "truncated":true when the answer hit EVENT_HISTORY_QUERY_MAX_*. Domains come
 * most recently active first; a domain appears in a map only with events in it.
 * Returns a new string (caller frees) and its length, or NULL when out of memory.
 * Any thread; the lock is held only while references are copied out.
 */
char *event_history_query_json(struct event_history *h, const struct event_history_query *q,
                               size_t *len);

struct event_history_stats {
    size_t domains;
    size_t events;
    size_t bytes;             /* what the byte budget counts */
    uint64_t evicted_events;  /* forgotten by a full list or the byte budget */
    uint64_t evicted_domains; /* forgotten by max_domains */
};

void event_history_get_stats(struct event_history *h, struct event_history_stats *out);

#endif
