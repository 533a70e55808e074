/*
 * delivery_internal — what the delivery module's files share (delivery.h is the
 * module's interface). Everything here belongs to the delivery thread unless a
 * comment says otherwise. The files:
 *   delivery.c         the thread, the inbox, keep-alives, stop, the public functions
 *   delivery_job.c     a job's making and freeing, its outcome, its dead letter
 *   delivery_sched.c   lanes' queues, the round robin, starting calls, their answers
 *   delivery_event.c   an event from the events consumer: route, park, ack
 *   delivery_record.c  a parked delivery coming back: checks, call, settle
 */
#ifndef EVENTHUB_DELIVERY_INTERNAL_H
#define EVENTHUB_DELIVERY_INTERNAL_H

#include "delivery/delivery.h"
#include "core/event.h"
#include "delivery/lanes.h"
#include "nats/publisher.h"
#include "delivery/retry_record.h"
#include "delivery/settle_rule.h"

#include <curl/curl.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct route;
struct endpoint;
struct delivered_memory;
struct webhook_pool;

#define SLOW_LANE_MS 100
#define MAX_RETRY_AFTER_MS (24LL * 3600 * 1000)
#define PARK_RETRY_MS 1000

enum park_why { PARK_NONE = 0, PARK_FAILED, PARK_BEHIND, PARK_RETRY_AFTER, PARK_GONE };

struct endpoint_outcome {
    int status;      /* HTTP status, 0 when no answer */
    char error[160]; /* transport error or "HTTP 500" */
    bool delivered;  /* 2xx now or in an earlier attempt */
    bool called;     /* called in this attempt */
    int64_t latency_us;
    enum park_why park;
    int64_t not_before_wall_ms; /* Retry-After */
    int64_t pause_ms;           /* the answer's Retry-After (429/503), parsed; -1 none */
};

struct job;

/* One endpoint's call for one job, waiting in its lane or running. */
struct lane_call {
    struct job *job;
    size_t index;
    struct lane *lane;
    struct lane_call *next;
};

enum job_kind { JOB_EVENT, JOB_RECORD };

struct job {
    struct delivery *d;
    enum job_kind kind;
    natsMsg *msg;
    const struct config *cfg;               /* settings: the startup config, never swapped */
    struct config *routes_cfg;              /* the route table it started with (reference) */
    const struct route *route;              /* events: borrowed from routes_cfg */
    const struct endpoint *record_endpoint; /* records: borrowed from routes_cfg */
    size_t endpoint_count;
    struct event_info info;
    /* The W3C trace context of msg (validated), read once by delivery_job_trace;
     * borrowed from msg's headers. */
    bool trace_read;
    const char *traceparent, *tracestate; /* NULL: none */
    uint64_t seq;
    uint64_t memory_key;        /* seq mixed with the stored time: seqs restart with a new stream */
    int64_t stored_wall_us;     /* when JetStream stored the event (end-to-end latency, age) */
    int attempt;                /* the attempt number the endpoints see */
    int failures;               /* attempts that really failed before this one */
    struct retry_record record; /* records: what the headers said */
    uint64_t record_seq;        /* records: its sequence in the retry stream */
    char *body;
    size_t body_len;
    struct endpoint_outcome *outcomes;
    struct lane_call *calls; /* one per endpoint */
    int running;             /* calls in flight */
    int queued;              /* calls waiting in lanes */
    int parks_pending;       /* park publishes not yet answered */
    bool park_failed;
    bool settling;  /* all calls done; waiting for park publishes */
    int64_t due_ms; /* records: monotonic time before which the call must not start */

    int64_t progress_ms;     /* last "in progress" sent */
    struct job *prev, *next; /* active list */
};

enum inbox_kind { IN_EVENT, IN_RECORD, IN_PARKED };

struct inbox_item {
    enum inbox_kind kind;
    natsMsg *msg;      /* IN_EVENT, IN_RECORD */
    struct lane *lane; /* IN_RECORD */
    struct job *job;   /* IN_PARKED */
    bool ok;           /* IN_PARKED */
};

struct delivery {
    struct nats_link *link;
    struct dead_letter *dl;
    const struct outcomes *outcomes; /* may be NULL */
    natsSubscription *sub;
    CURLM *multi;
    pthread_t thread;
    bool thread_started;
    struct lanes *lanes;
    struct publisher *pub; /* parking publishes */

    const struct config *settings; /* startup config: timeouts, attempts, names */
    pthread_mutex_t lock;
    struct config *cfg;       /* under lock: the current route table */
    struct inbox_item *inbox; /* ring, under lock; grows (bounded by the windows) */
    size_t inbox_head, inbox_count, inbox_cap;
    size_t event_items;      /* events in the inbox (bounded by max_ack_pending) */
    bool stopping;           /* under lock */
    bool drained;            /* under lock: the subscriptions delivered all they held */
    bool keep_alive_at_exit; /* main thread: drain failed, never free (see delivery_stop) */
    bool parks_abandoned;    /* delivery thread, at exit: a park publish never answered */
    int64_t stop_deadline_ms;

    /* Delivery thread only. */
    struct config *bound_cfg; /* the route table the lanes are bound to */
    struct job *active;
    struct lane *ring; /* lanes with calls waiting (circular via ring_next): the one
                          whose turn is next */
    int running_calls;
    int lanes_in_flight; /* lanes with calls out */
    int max_concurrent;
    struct delivered_memory *memory;
    struct webhook_pool *pool;
    _Atomic int jobs;
    _Atomic int held; /* of the jobs, parked deliveries held here (not being called) */
};

extern const char *const DELIVERY_SUBSYS;

/* A parked delivery held in (n 1) or leaving (n -1) its lane. */
static inline void delivery_hold(struct delivery *d, struct lane *lane, int n)
{
    lane->held_records += n;
    atomic_fetch_add(&d->held, n);
}

/* delivery_job.c */
struct job *delivery_job_new(struct delivery *d, enum job_kind kind, natsMsg *msg);
void delivery_job_free(struct delivery *d, struct job *job);
const struct endpoint *delivery_job_endpoint(const struct job *job, size_t i);
/* Reads job->traceparent / tracestate from its message on first use (delivery thread). */
void delivery_job_trace(struct job *job);
void delivery_job_dead_letter(struct delivery *d, struct job *job, struct lane *lane,
                              const char *reason, const char *detail);
void delivery_log_outcome(struct delivery *d, const struct job *job, const char *type,
                          bool will_retry, const char *reason, const char *detail);
uint64_t delivery_endpoint_id(const struct endpoint *ep);
int64_t delivery_backoff_ms(const struct config *cfg, int failures);
/* The settle_rule limits of the startup config. */
struct settle_limits delivery_settle_limits(const struct config *cfg);

/* delivery_sched.c */
void delivery_lane_push(struct delivery *d, struct lane_call *c, bool at_head);
struct lane_call *delivery_lane_pop(struct lane *lane);
int64_t delivery_schedule(struct delivery *d);
void delivery_shed_slow_lanes(struct delivery *d, int64_t now_ms);
bool delivery_lane_slow(const struct lane *lane, int64_t now_ms);
/* Takes a waiting call out of its lane's lists; false when it is not there. */
bool delivery_lane_remove(struct lane *lane, struct lane_call *c);
int delivery_slow_queue_cap(const struct delivery *d, const struct lane *lane);
void delivery_job_calls_done(struct delivery *d, struct job *job);

/* delivery_event.c */
void delivery_event_begin(struct delivery *d, natsMsg *msg);
void delivery_event_settle(struct delivery *d, struct job *job);
void delivery_on_parked_item(struct delivery *d, struct job *job, bool ok);

/* delivery_record.c */
void delivery_record_begin(struct delivery *d, struct lane *lane, natsMsg *msg);
void delivery_record_settle(struct delivery *d, struct job *job);

/* delivery.c (publisher ack thread) */
void delivery_on_parked(void *closure, const struct publish_result *res);

#endif
