/*
 * lane — one endpoint's share of delivery: its queue of calls waiting in this process,
 * its concurrency limit, circuit breaker, Retry-After pause and rate limit, and what
 * is known of its parked backlog (the endpoint's retry records in the retry stream).
 *
 * A lane is keyed by the endpoint's key (config.h): the same endpoint in the same
 * route is the same lane across reloads. Lanes are made by the lane registry
 * (lanes.h) and live as long as it does.
 *
 * Threads: the scheduling fields are the delivery thread's alone (no locks). The
 * registry's manager thread owns the NATS fields (consumer, subscription) and writes
 * `parked`; the registry lock guards `endpoint` and `routed`.
 */
#ifndef EVENTHUB_LANE_H
#define EVENTHUB_LANE_H

#include "delivery/endpoint_health.h"

#include <nats/nats.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct endpoint;
struct lane_call; /* delivery.c's queued call */

enum lane_state {
    LANE_HEALTHY = 0,
    LANE_FAILING,      /* recent failures, breaker still closed */
    LANE_OPEN,         /* breaker open: no calls until the cool-down ends */
    LANE_HALF_OPEN,    /* the probe call is out */
    LANE_PAUSED,       /* a Retry-After answer is in force */
    LANE_RATE_LIMITED, /* calls wait for the token bucket */
    LANE_RETIRED,      /* no route has this endpoint any more */
};

struct lane {
    char key[17];
    char *domain; /* the route's domain ("*" for the default route) */
    char *label;
    char *display_url;

    /* Registry lock. */
    const struct endpoint *endpoint; /* in the registry's current config; NULL = retired */

    /* Delivery thread. */
    struct lane_call *head, *tail; /* calls that may start, oldest first */
    struct lane_call *later;       /* calls not due yet (retry records), soonest first */
    int waiting;                   /* calls in both */
    int in_flight;                 /* calls running */
    int held_records;              /* retry records of this lane held in the process */
    int max_concurrent;
    struct breaker breaker;
    struct token_bucket bucket;
    double rate_per_s;
    int64_t paused_until_ms; /* monotonic; 0 = not paused */
    bool rate_waiting;       /* the last start attempt waited for a token */
    bool in_ring;
    struct lane *ring_next;
    int64_t parked_local;   /* records parked by this process since the last poll */
    uint64_t seen_poll;     /* the poll generation parked_local counts from */
    int64_t last_answer_ms; /* monotonic: the last answer (or when calls started) */
    int last_status;        /* 0 = none yet (or a transport error) */
    char last_error[160];
    int64_t delivered, failed;

    /* Manager thread (lanes.c); `parked` and `poll_gen` read by anyone. */
    _Atomic int64_t parked; /* records in the retry stream; -1 = not known yet */
    _Atomic uint64_t poll_gen;
    _Atomic bool want_consumer;
    _Atomic bool recheck; /* JetStream was set up again: make sure the consumer exists */
    bool consumer_ready;
    bool polled; /* registry lock: seen in the last poll */
    natsSubscription *sub;
    struct lanes *owner;
};

/* Calls may start now (ignoring the queue): concurrency, pause, breaker and rate limit
 * allow one. May take a breaker permission or a token: then the caller must start the
 * call (or give the breaker permission back). `now_ms` is monotonic. */
bool lane_may_start(struct lane *lane, int64_t now_ms);

/* After a call: feeds the breaker, counts, remembers the last answer. */
void lane_call_result(struct lane *lane, bool ok, int status, const char *error, int64_t now_ms);

/* The endpoint has a parked backlog, an open breaker or a pause: new events for it are
 * parked at once instead of called (they would only wait behind the backlog). */
bool lane_is_behind(struct lane *lane, int64_t now_ms);

/* Records parked for this lane: the last count from the stream plus what this process
 * parked since (delivery thread). */
int64_t lane_parked(struct lane *lane);

/* A new parked record was stored for this lane. */
void lane_parked_one(struct lane *lane);

enum lane_state lane_state(const struct lane *lane, int64_t now_ms, bool routed);
const char *lane_state_name(enum lane_state state);

/* Monotonic time at which something may change for a blocked lane (pause end, breaker
 * probe, next token); 0 when nothing is scheduled. */
int64_t lane_next_change_ms(const struct lane *lane, int64_t now_ms);

#endif
