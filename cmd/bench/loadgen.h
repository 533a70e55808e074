/*
 * loadgen — the sending half of bench: POSTs events to eventhub over a fixed
 * pool of keep-alive HTTP/1.1 connections driven by one epoll loop.
 *
 * Runs entirely on the calling (main) thread and returns when the send phase
 * of one plan (which events, which domains, what pace) is over: duration or count reached (or *stop
 * set), every request finished and every parked retry accepted or given up. Owns its sockets and
 * slot buffers for the duration of loadgen_run; fills the caller's result.
 */
#ifndef BENCH_LOADGEN_H
#define BENCH_LOADGEN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "hist.h"
#include "opts.h"
#include "tracker.h"

#define LOADGEN_STATUS_MAX 600

/* What one loadgen_run sends; the transport settings come from bench_opts. */
struct loadgen_plan {
    const char *runid;          /* event ids are "bench-<runid>-<seq>"; borrowed */
    const char *const *domains; /* event seq goes to domains[seq % ndomains]; borrowed */
    int ndomains;               /* >= 1 */
    uint64_t count;             /* events to send; 0 = bounded by duration only */
    double rate;                /* events/s in total; 0 = as fast as possible */
    double duration_s;          /* send phase length; 0 = bounded by count only */
};

/* The plan of a plain run: o's count, rate and duration, all events to o->domain
 * (*domain_slot is set to it; domains points there). */
struct loadgen_plan loadgen_plan_from_opts(const struct bench_opts *o, const char *runid,
                                           const char **domain_slot);

struct loadgen_result {
    uint64_t sent;                       /* distinct events sent at least once */
    uint64_t attempts;                   /* HTTP requests started, retries included */
    uint64_t accepted;                   /* distinct events answered 202 */
    uint64_t duplicate_acks;             /* 202 answers saying "duplicate":true */
    uint64_t status[LOADGEN_STATUS_MAX]; /* answers by HTTP status, per attempt */
    uint64_t rejected_4xx;               /* per attempt */
    uint64_t rejected_5xx;               /* per attempt */
    uint64_t other_status;               /* 1xx/2xx/3xx other than 202, per attempt */
    uint64_t conn_errors;                /* transport failures, per attempt */
    uint64_t timeouts;                   /* subset of conn_errors */
    uint64_t connects;                   /* TCP connections opened */
    uint64_t retries;                    /* attempts beyond the first */
    uint64_t failed;                     /* events that ended without a 202 */
    uint64_t body_bytes;                 /* sum of body sizes of distinct events */
    int64_t first_send_us;               /* monotonic; 0 if nothing was sent */
    int64_t sending_stopped_us;          /* when new sends stopped */
    int64_t end_us;                      /* when the last transfer finished */
    bool capacity_reached;               /* stopped at TRACKER capacity */
    bool interrupted;                    /* *stop was set */
    char last_error[160];                /* one sample transport error or 5xx body */
    struct hist ingress;                 /* scheduled send -> 202, microseconds */
};

/* Returns 0, or -1 if the target or the event loop could not be set up
 * (message on stderr). */
int loadgen_run(const struct bench_opts *o, const struct loadgen_plan *plan, struct tracker *t,
                const volatile sig_atomic_t *stop, struct loadgen_result *r);

#endif
