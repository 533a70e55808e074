/*
 * delivery — takes stored events from the durable push consumer and calls every
 * endpoint of the event's domain concurrently; acks when all answered 2xx.
 *
 * Threads: nats.c's subscription thread only hands each message to the delivery
 * inbox (bounded; the consumer's max_ack_pending bounds what can arrive) and wakes
 * the delivery thread. The delivery thread (owned here) runs one libcurl multi loop:
 * it turns messages into jobs, starts at most delivery.max_concurrent requests,
 * collects answers, and settles each message:
 *   every endpoint 2xx             → ack
 *   a failure, attempts left       → nak with the backoff delay; endpoints that
 *                                    answered 2xx are remembered and not called again
 *   attempts exhausted / no route /
 *   not a valid event              → dead_letter (record, then term)
 * Jobs that wait long (queued behind the concurrency cap, slow endpoints) send
 * "in progress" so JetStream does not redeliver them meanwhile.
 */
#ifndef EVENTHUB_DELIVERY_H
#define EVENTHUB_DELIVERY_H

#include <stdbool.h>
#include <stdint.h>

struct config;
struct dead_letter;
struct outcomes;
struct nats_link;
struct delivery;

/* Takes a reference on cfg (routes); borrows link, dl and outcomes (NULL: nobody
 * listens). Starts the delivery thread. */
struct delivery *delivery_new(struct config *cfg, struct nats_link *link, struct dead_letter *dl,
                              const struct outcomes *outcomes);

/* Binds to the durable consumer once JetStream is set up; later calls are no-ops.
 * 0 or -1 (logged). */
int delivery_subscribe(struct delivery *d);

/* Swaps the route table for new events; events in flight keep theirs. Only the routes
 * are taken from `cfg`: timeouts, attempts and backoff stay as started. Any thread. */
void delivery_set_config(struct delivery *d, struct config *cfg);

/*
 * Graceful stop: no new messages, queued ones nak'ed for another instance, calls in
 * flight finish or time out (bounded by timeout_ms) and are settled. Joins the thread.
 */
void delivery_stop(struct delivery *d, int64_t timeout_ms);
void delivery_free(struct delivery *d);

/* Events being worked on right now (queued or with calls in flight). Any thread. */
int delivery_inflight(const struct delivery *d);

#endif
