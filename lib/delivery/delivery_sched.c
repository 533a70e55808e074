/*
 * delivery_sched — the lanes' queues and the round robin over them, starting
 * calls and taking their answers (delivery_internal.h). Delivery thread.
 */
#include "delivery/delivery_internal.h"

#include "core/clock.h"
#include "config/config.h"
#include "delivery/dead_letter.h"
#include "delivery/delivered_memory.h"
#include "core/json_print.h"
#include "core/log.h"
#include "nats/nats_link.h"
#include "core/outcome.h"
#include "core/stats.h"
#include "delivery/webhook_call.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBSYS DELIVERY_SUBSYS

/* ---- lanes: queues and the round robin ---- */

static void ring_add(struct delivery *d, struct lane *lane)
{
    if (lane->in_ring)
        return;
    lane->in_ring = true;
    if (!d->ring) {
        lane->ring_next = lane;
        d->ring = lane;
        return;
    }
    /* Insert just before the lane whose turn is next: the newcomer waits a full turn. */
    struct lane *prev = d->ring;
    while (prev->ring_next != d->ring)
        prev = prev->ring_next;
    prev->ring_next = lane;
    lane->ring_next = d->ring;
}

/* Puts c at the end of the lane's queue of calls that may start. */
static void queue_append(struct lane *lane, struct lane_call *c)
{
    c->next = NULL;
    if (lane->tail)
        lane->tail->next = c;
    else
        lane->head = c;
    lane->tail = c;
}

void delivery_lane_push(struct delivery *d, struct lane_call *c, bool at_head)
{
    struct lane *lane = c->lane;
    if (c->job->due_ms > clock_mono_ms()) {
        /* Not due: into the sorted list (at most the lane's window long). */
        struct lane_call **link = &lane->later;
        while (*link && (*link)->job->due_ms <= c->job->due_ms)
            link = &(*link)->next;
        c->next = *link;
        *link = c;
    } else if (at_head) {
        c->next = lane->head;
        lane->head = c;
        if (!lane->tail)
            lane->tail = c;
    } else {
        queue_append(lane, c);
    }
    lane->waiting++;
    c->job->queued++;
    ring_add(d, lane);
}

/* Moves the calls that became due to the end of the queue. */
static void lane_promote(struct lane *lane, int64_t now_ms)
{
    while (lane->later && lane->later->job->due_ms <= now_ms) {
        struct lane_call *c = lane->later;
        lane->later = c->next;
        queue_append(lane, c);
    }
}

struct lane_call *delivery_lane_pop(struct lane *lane)
{
    struct lane_call *c = lane->head;
    if (!c)
        return NULL;
    lane->head = c->next;
    if (!lane->head)
        lane->tail = NULL;
    c->next = NULL;
    lane->waiting--;
    c->job->queued--;
    return c;
}

/* Slow: calls out and none answered for SLOW_LANE_MS (hung or slow endpoint). */
bool delivery_lane_slow(const struct lane *lane, int64_t now_ms)
{
    /* Also held back by its own rate limit: its queue drains at that rate only. */
    if (lane->rate_per_s > 0 && lane->rate_waiting)
        return true;
    return lane->in_flight > 0 && now_ms - lane->last_answer_ms >= SLOW_LANE_MS;
}

bool delivery_lane_remove(struct lane *lane, struct lane_call *c)
{
    for (struct lane_call **link = &lane->later; *link; link = &(*link)->next)
        if (*link == c) {
            *link = c->next;
            lane->waiting--;
            c->job->queued--;
            return true;
        }
    struct lane_call *prev = NULL;
    for (struct lane_call *x = lane->head; x; prev = x, x = x->next)
        if (x == c) {
            if (prev)
                prev->next = c->next;
            else
                lane->head = c->next;
            if (lane->tail == c)
                lane->tail = prev;
            lane->waiting--;
            c->job->queued--;
            return true;
        }
    return false;
}

/* How many calls a slow lane may keep waiting: one round of its calls, and never more
 * than an eighth of the events consumer's window (the rest of the window stays for the
 * other endpoints). */
int delivery_slow_queue_cap(const struct delivery *d, const struct lane *lane)
{
    int share = d->settings->nats.max_ack_pending / 8;
    if (share < 1)
        share = 1;
    return lane->max_concurrent < share ? lane->max_concurrent : share;
}

/* A job's calls all answered (none running, none queued): settle it. */
void delivery_job_calls_done(struct delivery *d, struct job *job)
{
    if (job->running > 0 || job->queued > 0 || job->settling)
        return;
    if (job->kind == JOB_EVENT)
        delivery_event_settle(d, job);
    else
        delivery_record_settle(d, job);
}

/* Takes the event calls out of slow lanes' queues beyond one round of calls: their
 * events are parked rather than held in the events consumer's window. */
void delivery_shed_slow_lanes(struct delivery *d, int64_t now_ms)
{
    if (!d->ring)
        return;
    struct lane *start = d->ring, *lane = start;
    do {
        struct lane *next = lane->ring_next;
        bool behind = lane_is_behind(lane, now_ms) || delivery_lane_slow(lane, now_ms);
        if (behind &&
            lane->waiting >
                (delivery_lane_slow(lane, now_ms) ? delivery_slow_queue_cap(d, lane) : 0)) {
            /* Keep records (already parked) and the first round; shed event calls. */
            struct lane_call **link = &lane->head, *last = NULL;
            int kept = 0;
            struct lane_call *shed = NULL;
            while (*link) {
                struct lane_call *c = *link;
                bool keep = c->job->kind == JOB_RECORD ||
                            (delivery_lane_slow(lane, now_ms) && !lane_is_behind(lane, now_ms) &&
                             kept < delivery_slow_queue_cap(d, lane));
                if (keep) {
                    kept++;
                    last = c;
                    link = &c->next;
                    continue;
                }
                *link = c->next;
                lane->waiting--;
                c->next = shed;
                shed = c;
            }
            lane->tail = last;
            while (shed) {
                struct lane_call *c = shed;
                shed = c->next;
                /* One call at a time leaves the job's count: a job with two calls here
                 * (the same endpoint twice in a route) settles once, after the last. */
                c->job->queued--;
                c->job->outcomes[c->index].park = PARK_BEHIND;
                delivery_job_calls_done(d, c->job);
            }
        }
        lane = next;
    } while (d->ring && lane != start && lane->in_ring);
}

static void on_call_done(void *closure, size_t endpoint_index, int status, const char *error,
                         int64_t latency_us, const char *retry_after);

/* Starts the head call of `lane`; false when it could not be started. */
static bool start_call(struct delivery *d, struct lane *lane, struct lane_call *c)
{
    struct job *job = c->job;
    const struct endpoint *ep = delivery_job_endpoint(job, c->index);
    delivery_job_trace(job);
    struct webhook_request rq = {
        .endpoint = ep,
        .traceparent = job->traceparent,
        .tracestate = job->tracestate,
        .endpoint_index = c->index,
        .body = job->body,
        .body_len = job->body_len,
        .event_id = job->info.event_id,
        .domain = job->info.domain,
        .attempt = job->attempt,
        .default_timeout_ms = job->cfg->delivery.timeout_ms,
        .connect_timeout_ms = job->cfg->delivery.connect_timeout_ms,
        .done = on_call_done,
        .closure = c,
    };
    if (webhook_call_start(d->pool, &rq) != 0) {
        struct endpoint_outcome *oc = &job->outcomes[c->index];
        oc->status = 0;
        snprintf(oc->error, sizeof oc->error, "could not start the request");
        oc->park = PARK_FAILED;
        breaker_cancel(&lane->breaker);
        return false;
    }
    if (lane->in_flight == 0) {
        lane->last_answer_ms = clock_mono_ms();
        d->lanes_in_flight++;
    }
    lane->in_flight++;
    job->running++;
    d->running_calls++;
    job->outcomes[c->index].called = true;
    return true;
}

/* Once the global cap is three quarters used, a lane at or over its fair share (the
 * cap divided among the lanes that have calls out or waiting) waits. */
static bool over_fair_share(const struct delivery *d, const struct lane *lane, size_t ring_lanes)
{
    int headroom = d->max_concurrent / 4;
    if (d->running_calls < d->max_concurrent - headroom)
        return false;
    size_t busy = (size_t)d->lanes_in_flight > ring_lanes ? (size_t)d->lanes_in_flight : ring_lanes;
    int share = d->max_concurrent / (int)(busy + 1);
    if (share < 1)
        share = 1;
    return lane->in_flight >= share;
}

/* Round robin over the lanes with calls waiting: one call per lane per turn, while
 * under the global cap. Returns the earliest time a blocked lane may change (0 none). */
int64_t delivery_schedule(struct delivery *d)
{
    int64_t now = clock_mono_ms();
    int64_t wake = 0;
    bool started = true;
    while (d->ring && d->running_calls < d->max_concurrent && started) {
        started = false;
        /* One turn: every lane in the ring once, d->ring moving along as the cursor. */
        size_t n = 1;
        struct lane *prev = d->ring;
        while (prev->ring_next != d->ring) {
            prev = prev->ring_next;
            n++;
        }
        for (size_t v = 0; v < n && d->ring && d->running_calls < d->max_concurrent; v++) {
            struct lane *lane = d->ring;
            struct lane *next = lane->ring_next;
            lane_promote(lane, now);
            struct lane_call *c = lane->head;
            if (!c && !lane->later) {
                /* Nothing left: leaves the ring. */
                lane->in_ring = false;
                if (next == lane) {
                    d->ring = NULL;
                    break;
                }
                prev->ring_next = next;
                d->ring = next;
                continue;
            }
            if (!c) {
                if (!wake || lane->later->job->due_ms < wake)
                    wake = lane->later->job->due_ms;
            } else if (over_fair_share(d, lane, n)) {
                /* The last slots of the global cap are kept for lanes under their share:
                 * slow endpoints together cannot take every slot. */
            } else if (lane_may_start(lane, now)) {
                delivery_lane_pop(lane);
                if (start_call(d, lane, c))
                    started = true;
                else
                    delivery_job_calls_done(d, c->job);
            } else {
                int64_t t = lane_next_change_ms(lane, now);
                if (t && (!wake || t < wake))
                    wake = t;
            }
            prev = lane;
            d->ring = next;
        }
    }
    return wake;
}

/* ---- calls ---- */

static void on_call_done(void *closure, size_t endpoint_index, int status, const char *error,
                         int64_t latency_us, const char *retry_after)
{
    struct lane_call *c = closure;
    struct job *job = c->job;
    struct delivery *d = job->d;
    struct lane *lane = c->lane;
    struct endpoint_outcome *oc = &job->outcomes[endpoint_index];
    int64_t now = clock_mono_ms();
    oc->status = status;
    oc->latency_us = latency_us;
    oc->delivered = status >= 200 && status < 300;
    if (oc->delivered) {
        stats_inc(STAT_ENDPOINT_OK);
        oc->error[0] = '\0';
        oc->park = PARK_NONE;
    } else {
        stats_inc(STAT_ENDPOINT_FAILED);
        if (error && error[0])
            snprintf(oc->error, sizeof oc->error, "%s", error);
        else
            snprintf(oc->error, sizeof oc->error, "HTTP %d", status);
        oc->park = status == 410 ? PARK_GONE : PARK_FAILED;
    }
    if (--lane->in_flight == 0)
        d->lanes_in_flight--;
    lane->last_answer_ms = now;
    job->running--;
    d->running_calls--;
    int64_t pause = (status == 429 || status == 503)
                        ? retry_after_parse_ms(retry_after, clock_wall_ms(), MAX_RETRY_AFTER_MS)
                        : -1;
    oc->pause_ms = pause;
    if (pause >= 0) {
        /* The endpoint said when: no call before then, and this is not counted as a
         * failed attempt (nor by the breaker). */
        breaker_cancel(&lane->breaker);
        lane->paused_until_ms = now + (pause > 0 ? pause : 1);
        lane->last_status = status;
        snprintf(lane->last_error, sizeof lane->last_error, "HTTP %d, Retry-After %s", status,
                 retry_after);
        static struct log_ratelimit rl;
        int suppressed = 0;
        if (log_ratelimit_ok(&rl, 5, 10000, &suppressed))
            log_warn(SUBSYS,
                     "endpoint %s (%s) asks to wait %lld ms (HTTP %d, Retry-After; %d similar "
                     "suppressed)",
                     lane->label, lane->domain, (long long)pause, status, suppressed);
        if (job->kind == JOB_RECORD) {
            struct settle_limits lim = delivery_settle_limits(job->cfg);
            struct settle_answer answer = {.status = status, .pause_ms = pause};
            int64_t age_ms = (clock_wall_us() - job->stored_wall_us) / 1000;
            if (settle_after_answer(&answer, job->failures, age_ms, &lim).action != SETTLE_HOLD) {
                /* Waiting would pass delivery.max_retry_age: settled (dead-lettered). */
                delivery_job_calls_done(d, job);
                return;
            }
        }
        if (job->kind == JOB_RECORD) {
            oc->called = false;
            delivery_lane_push(d, c, true); /* held, first in line */
            return;
        }
        oc->park = PARK_RETRY_AFTER;
        oc->not_before_wall_ms = clock_wall_ms() + pause;
    } else {
        lane_call_result(lane, oc->delivered, status, oc->error, now);
    }
    delivery_job_calls_done(d, job);
}

/* Long waits (queues, slow endpoints, open breakers) must not make JetStream
 * redeliver meanwhile; an event waiting for park acks is covered too. */
