/*
 * api_sched — which queued API job a free worker takes next (pure; api_worker calls it
 * with its lock held, the unit tests call it directly).
 *
 * Each lane has a FIFO queue and a cap on the workers its jobs may hold at once. A free
 * worker takes, in this order:
 *   1. among the lanes under their cap, the head that has waited longest (oldest first
 *      across lanes, so a flood of one kind cannot starve another: the caps keep scans
 *      from holding every worker, and age keeps light requests from shutting out the
 *      rest);
 *   2. a head that cannot run (its lane is at its cap) and has waited `timeout_ms` or
 *      more, to be answered 503 instead of run: so no job waits longer than the
 *      timeout, even while its lane is full;
 * and otherwise sleeps until the next head would reach the timeout.
 */
#ifndef EVENTHUB_API_SCHED_H
#define EVENTHUB_API_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_sched_lane {
    size_t queued;         /* jobs waiting */
    unsigned running;      /* jobs of this lane being run */
    unsigned max_running;  /* the lane's cap */
    int64_t head_since_ms; /* when the oldest waiting job was queued (when queued > 0) */
};

struct api_sched_pick {
    int lane;        /* the lane whose head to take, or -1: nothing to do now */
    bool expire;     /* answer that head 503 instead of running it */
    int64_t wake_ms; /* lane -1: when a waiting head reaches the timeout (0 = nothing waits) */
};

/* Borrows `lanes` (n of them). Ties in age go to the lower lane number. */
struct api_sched_pick api_sched_pick(const struct api_sched_lane *lanes, size_t n, int64_t now_ms,
                                     int64_t timeout_ms);

#endif
