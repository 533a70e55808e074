/*
 * lanes — the registry of delivery lanes (lane.h), one per endpoint key, and the
 * JetStream side of the parked backlog: one durable consumer per lane on the retry
 * stream, filtered to the lane's subject `<retry_subject_prefix>.<key>`, with a small
 * ack window (delivery.retry_window), so one endpoint's backlog never fills anyone
 * else's window.
 *
 * Threads: lanes_get / lanes_endpoint / lanes_bind from any thread (one mutex,
 * held for a lookup). A manager thread owned here polls the retry stream once a
 * second (how many records each subject holds: the lanes' `parked`), creates the
 * consumer and subscription of every lane that has or gets records, and finds
 * backlogs left by an earlier run or by a route that is gone. Retry records arrive
 * on nats.c's delivery threads and go straight to `on_record`.
 */
#ifndef EVENTHUB_LANES_H
#define EVENTHUB_LANES_H

#include "delivery/lane.h"

#include <nats/nats.h>
#include <stddef.h>

struct config;
struct endpoint;
struct nats_link;
struct lanes;

/* Called on a nats.c thread for each retry record of `lane`; takes `msg`. */
typedef void (*lanes_record_fn)(void *closure, struct lane *lane, natsMsg *msg);

/* `settings`: the startup config (names, windows, breaker); `routes`: the first route
 * table (a reference is taken). Starts no thread. */
struct lanes *lanes_new(const struct config *settings, struct config *routes,
                        struct nats_link *link, lanes_record_fn on_record, void *closure);

/* Starts the manager thread (after the first bind). */
int lanes_start(struct lanes *ls);

/* Delivery thread (or before it starts). A new route table: lanes of its endpoints are made or
 * re-bound; lanes whose endpoint left the routes are retired (their parked records are
 * dead-lettered as `endpoint_removed`). Takes a reference on cfg. */
void lanes_bind(struct lanes *ls, struct config *cfg);

/* The lane of an endpoint of the current (or a recent) route table; made if new. */
struct lane *lanes_get(struct lanes *ls, const struct endpoint *ep, const char *domain);

/* The lane's endpoint in the current route table and a reference on that table
 * (*cfg_out, to config_unref), or NULL when the lane is retired. */
const struct endpoint *lanes_endpoint(struct lanes *ls, struct lane *lane, struct config **cfg_out);

/* JetStream was set up (again): the manager makes sure every lane's consumer exists
 * (a memory stream or a new server has none). Any thread. */
void lanes_recheck(struct lanes *ls);

/* Whether the current route table has the endpoint with this key. Any thread. */
bool lanes_routed(struct lanes *ls, const char *key);

/* Asks the manager to set up consumers of lanes that want one, now. Any thread. */
void lanes_poke(struct lanes *ls);

/* Every lane, for a walk on the delivery thread (the array may grow between calls). */
size_t lanes_count(struct lanes *ls);
struct lane *lanes_at(struct lanes *ls, size_t i);

/* Stops receiving retry records (drains every lane's subscription) and joins the
 * manager. Records already handed over are the receiver's to settle. False when a
 * subscription did not drain in 2 s: nats.c may still call on_record. */
bool lanes_stop(struct lanes *ls);
void lanes_free(struct lanes *ls);

/* What /api/stats and /metrics show of one lane (a copy). */
struct lane_view {
    char key[17];
    char domain[256];
    char label[512];
    char url[512];
    const char *state; /* lane_state_name */
    int in_flight, waiting;
    int64_t parked; /* -1 unknown */
    int consecutive_failures;
    int last_status;
    char last_error[160];
    int64_t next_try_wall_ms; /* 0 = none */
    int64_t delivered, failed;
};

/* Delivery thread: copies every lane's view for readers (twice a second). */
void lanes_publish_views(struct lanes *ls, int64_t now_mono_ms);

/* Any thread: a malloc'd copy of the last published views (count in *n). */
struct lane_view *lanes_views(struct lanes *ls, size_t *n);

#endif
