/*
 * delivery — takes stored events from the durable push consumer and calls every
 * endpoint of the event's domain concurrently; acks an event once every endpoint has
 * answered 2xx or has had its copy *parked*. docs/DELIVERY.md tells the whole design.
 *
 * Each endpoint is a lane (lane.h): its own queue, concurrency limit
 * (max_concurrent), circuit breaker, Retry-After pause and rate limit. A call that
 * fails, and an event for an endpoint that is behind (open breaker, pause, backlog,
 * slow answers), does not wait in the events consumer's ack window: its copy goes to
 * the retry stream as a retry record (retry_record.h) under the endpoint's own
 * subject, and the endpoint's own durable consumer there (lanes.h) brings it back
 * when it is due. So one endpoint's trouble holds only its own, small, window.
 *
 * Settling:
 *   event, every endpoint 2xx or parked        → ack (after the parking publishes
 *                                                are acked by JetStream)
 *   event not valid / no route                 → dead_letter (record, then term)
 *   record 2xx                                 → ack
 *   record failed, attempts left               → nak with the backoff delay
 *   record attempts exhausted / waited past
 *   delivery.max_retry_age / 410 / endpoint
 *   no longer routed                           → dead_letter for that endpoint
 *
 * Threads: nats.c's delivery threads and the publisher's ack thread only hand
 * messages and publish results to the inbox and wake the delivery thread. The
 * delivery thread (owned here) runs one libcurl multi loop and schedules the lanes
 * round robin (one call per lane per turn) under delivery.max_concurrent. Calls that
 * wait long send "in progress" so JetStream does not redeliver them meanwhile.
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
struct lanes;

/* Takes a reference on cfg (routes); borrows link, dl and outcomes (NULL: nobody
 * listens). Starts the delivery thread. */
struct delivery *delivery_new(struct config *cfg, struct nats_link *link, struct dead_letter *dl,
                              const struct outcomes *outcomes);

/* Binds to the durable consumer once JetStream is set up; later calls are no-ops.
 * 0 or -1 (logged). */
int delivery_subscribe(struct delivery *d);

/* Swaps the route table for new events; events in flight keep theirs. Only the routes
 * (and endpoint settings) are taken from `cfg`: timeouts, attempts and backoff stay as
 * started. Any thread. */
void delivery_set_config(struct delivery *d, struct config *cfg);

/*
 * Graceful stop: no new messages, queued ones nak'ed for another instance, calls in
 * flight finish or time out (bounded by timeout_ms) and are settled. Joins the thread.
 */
void delivery_stop(struct delivery *d, int64_t timeout_ms);
void delivery_free(struct delivery *d);

/* Events and retry records being worked on right now. Any thread. */
int delivery_inflight(const struct delivery *d);

/* The lanes, for the read APIs (lanes_views); NULL when d is NULL. */
struct lanes *delivery_lanes(const struct delivery *d);

#endif
