/*
 * esl_source — one FreeSWITCH node as a source of events: its connection (esl_conn),
 * its call tracker, and its outbox towards JetStream.
 *
 * Everything here runs on the node's connection thread: an event is turned into
 *  - a raw event (when the node publishes events): every header, "_body", plus
 *    "domain", "event_id" (Core-UUID:Event-Sequence, also the Nats-Msg-Id so two
 *    eventhub instances on one FreeSWITCH store it once), "received_at", "esl_node";
 *  - call tracking: a call record update for the records API (key-value bucket) and,
 *    when the call ends and the node publishes signals, one call signal;
 * each queued in the node's outbox, which publishes asynchronously and keeps a
 * message until JetStream acked it. The reader never waits for JetStream.
 * With `logs:` set on the node, FreeSWITCH log lines (log/data) go to the domain log
 * of the call their channel belongs to ("default" when none).
 */
#ifndef EVENTHUB_ESL_SOURCE_H
#define EVENTHUB_ESL_SOURCE_H

#include <stdint.h>

struct config;
struct domain_log;
struct outcomes;
struct esl_node;
struct publisher;
struct esl_source;

struct esl_source_stats {
    const char *name;
    const char *state;
    uint64_t events_received;
    uint64_t signals_published; /* queued for JetStream */
    uint64_t events_published;  /* queued for JetStream */
    uint64_t no_domain;         /* events or calls skipped: no tenant domain */
    uint64_t buffered;          /* waiting in the outbox now */
    uint64_t dropped;           /* refused by a full outbox */
    uint64_t stored;            /* acked by JetStream */
    uint64_t reconnects;
    uint64_t protocol_errors;
    uint64_t live_calls;
    char last_error[200];
};

/* Starts following `node` (an element of cfg->esl_nodes). Borrows cfg, pub, outcomes
 * (call signals are announced there; may be NULL) and domain_logs (FreeSWITCH log
 * lines; may be NULL). */
struct esl_source *esl_source_start(const struct config *cfg, const struct esl_node *node,
                                    struct publisher *pub, const struct outcomes *outcomes,
                                    struct domain_log *domain_logs);
/* Stops reading FreeSWITCH, then waits up to timeout_ms for queued messages to be
 * stored (the publisher must still be open). Stats stay readable. Accepts NULL. */
void esl_source_stop(struct esl_source *src, int64_t timeout_ms);
/* Frees (after stop). Accepts NULL. */
void esl_source_free(struct esl_source *src);
void esl_source_get_stats(struct esl_source *src, struct esl_source_stats *out);
/* The node's state and counters as a JSON object (for /health and /api/stats), or NULL
 * when out of memory. Any thread. */
struct cJSON *esl_source_stats_json(struct esl_source *src);

#endif
