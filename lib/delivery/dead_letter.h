/*
 * dead_letter — moves events that cannot be delivered into the dead-letter stream.
 *
 * An event is dead-lettered when its attempts are exhausted, when no route matches
 * its domain, or when the stored message is not a valid event. The record (reason,
 * per-endpoint outcome, the event itself) is published to the dead-letter stream with
 * a Nats-Msg-Id derived from the original's sequence, so a retry after a crash stores
 * it once. Only after JetStream acked the record is the original terminated; if the
 * publish fails, the original is nak'ed with a delay and comes back later — an event
 * is never dropped on the way.
 *
 * Threads: dead_letter_submit() from the delivery thread; a worker thread owned here
 * does the (synchronous, rare) publishes so the delivery loop never blocks on them.
 */
#ifndef EVENTHUB_DEAD_LETTER_H
#define EVENTHUB_DEAD_LETTER_H

#include <nats/nats.h>
#include <stdbool.h>

struct config;
struct nats_link;
struct dead_letter;

struct dead_letter *dead_letter_new(const struct config *cfg, struct nats_link *link);
/* Stores queued records for up to timeout_ms, naks what is left (it comes back
 * later), joins the worker. Accepts NULL. */
void dead_letter_free(struct dead_letter *dl, int64_t timeout_ms);

/*
 * Takes ownership of `msg` (the original) and `record` (malloc'd JSON text). `domain`
 * picks the subject (may be empty). `id_suffix` (NULL for a record of the whole
 * event) makes the record one endpoint's: it joins the Nats-Msg-Id ("<endpoint
 * key>-r<retry record seq>"), so each endpoint of one event, and each parked record,
 * gets its own dead letter. Returns false when the queue is full — the
 * original was then nak'ed for a later retry, and both were released.
 */
bool dead_letter_submit(struct dead_letter *dl, natsMsg *msg, const char *domain,
                        uint64_t stream_seq, const char *id_suffix, const char *reason,
                        char *record);

#endif
