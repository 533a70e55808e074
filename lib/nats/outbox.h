/*
 * outbox — a bounded buffer of messages that must reach JetStream, for a producer
 * that may never block (the FreeSWITCH socket reader).
 *
 * outbox_add() queues a message; outbox_pump() hands queued messages to the
 * publisher without blocking. A message leaves the outbox only when JetStream acked
 * it; a failed or timed-out publish goes back to the queue and is tried again on the
 * next pump. While JetStream is unreachable messages accumulate in the queue; when
 * `capacity` messages wait, outbox_add() refuses (the caller counts and logs the drop).
 * Messages already submitted do not count against it, so a burst while JetStream is
 * up is not dropped.
 *
 * Threads: add/pump/stats from the owner's thread; the publisher's completion
 * callback (nats.c thread) updates slots under the outbox lock.
 */
#ifndef EVENTHUB_OUTBOX_H
#define EVENTHUB_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct publisher;
struct outbox;

struct outbox_stats {
    size_t queued;       /* waiting for a (re)submit */
    size_t inflight;     /* submitted, no ack yet */
    uint64_t published;  /* acked by JetStream (including duplicates) */
    uint64_t duplicates; /* acked as duplicates (already stored, e.g. by an HA peer) */
    uint64_t dropped;    /* refused by outbox_add because it was full */
    uint64_t rejected;   /* refused by JetStream for good (too large, no stream...):
                            dropped and logged, so one bad message cannot block the rest */
    uint64_t abandoned;  /* best-effort messages whose publish failed (not retried) */
    uint64_t retries;    /* publishes that failed and were queued again */
};

/* `capacity` bounds the messages waiting for JetStream (queued for a submit); up to
 * `max_inflight` more may be submitted and waiting for their ack. */
struct outbox *outbox_new(struct publisher *pub, size_t capacity, size_t max_inflight);
/* Waits up to timeout_ms for in-flight publishes, then frees what is left (counted
 * as lost in the log). Accepts NULL. */
void outbox_free(struct outbox *ob, int64_t timeout_ms);

/*
 * Queues a message. Takes ownership of `data` (malloc'd). `subject`, `msg_id` and
 * `kind` are copied (msg_id and kind may be NULL). With `retry`, a publish that fails
 * for a passing reason (timeout, disconnected) is queued again, ahead of the others;
 * without it (best effort: a state a later message supersedes) it is abandoned.
 * A permanent refusal (too large, rejected by the stream) is never retried. Returns
 * false when full — `data` is freed and the drop counted.
 */
bool outbox_add(struct outbox *ob, const char *subject, const char *msg_id, const char *kind,
                char *data, size_t len, bool retry);

/* Submits queued messages until the publisher refuses; returns how many it sent. */
size_t outbox_pump(struct outbox *ob);
/* True when something waits for a (re)submit. */
bool outbox_has_queued(struct outbox *ob);
/* Pumps and waits until empty or timeout_ms; true when empty. */
bool outbox_flush(struct outbox *ob, int64_t timeout_ms);
void outbox_get_stats(struct outbox *ob, struct outbox_stats *out);

#endif
