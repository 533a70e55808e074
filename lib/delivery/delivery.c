/*
 * delivery — see delivery.h.
 *
 * Data owned by the delivery thread (no locks): jobs, lane scheduling fields, the
 * curl multi handle's transfers, delivered_memory. Shared with other threads, under
 * `lock`: the inbox, the current config pointer and the stopping flag.
 *
 * A job is one message being delivered: an *event* from the events consumer (one
 * call per endpoint of its route) or a *record* from a lane's retry consumer (one
 * call, to that lane's endpoint). Each call waits in its lane's queue; the scheduler
 * visits the lanes that have calls waiting, round robin, and starts one call per
 * visit while the lane and the global cap allow.
 *
 * Life of an event: inbox → delivery_event_begin (parse, route; per endpoint: delivered
 * before? behind? else queue a call) → calls answered → delivery_event_settle: parked copies
 * published → all publishes acked → ack (a failed park: nak, the whole event comes
 * back; endpoints that answered 2xx are remembered and not called again).
 * Life of a record: inbox → delivery_record_begin (dead-letter checks, due time) → lane queue
 * (held while the endpoint is open or paused) → call → delivery_record_settle.
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

const char *const DELIVERY_SUBSYS = "delivery";
#define SUBSYS DELIVERY_SUBSYS

/* ---- inbox (nats.c threads → delivery thread) ---- */

/* Lock held. */
static bool inbox_push_locked(struct delivery *d, const struct inbox_item *it)
{
    if (d->inbox_count == d->inbox_cap) {
        size_t cap = d->inbox_cap ? d->inbox_cap * 2 : 1024;
        struct inbox_item *grown = malloc(cap * sizeof *grown);
        if (!grown)
            return false;
        for (size_t i = 0; i < d->inbox_count; i++)
            grown[i] = d->inbox[(d->inbox_head + i) % d->inbox_cap];
        free(d->inbox);
        d->inbox = grown;
        d->inbox_cap = cap;
        d->inbox_head = 0;
    }
    d->inbox[(d->inbox_head + d->inbox_count) % d->inbox_cap] = *it;
    d->inbox_count++;
    return true;
}

static void on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    struct delivery *d = closure;
    struct inbox_item it = {.kind = IN_EVENT, .msg = msg};
    pthread_mutex_lock(&d->lock);
    /* The consumer's window bounds what can arrive; more than that (a redelivery
     * racing its original) is given back. */
    bool ok = d->event_items < (size_t)d->settings->nats.max_ack_pending + 256 &&
              inbox_push_locked(d, &it);
    if (ok)
        d->event_items++;
    pthread_mutex_unlock(&d->lock);
    if (ok) {
        curl_multi_wakeup(d->multi);
        return;
    }
    natsMsg_NakWithDelay(msg, 1000, NULL);
    natsMsg_Destroy(msg);
}

/* nats.c thread: a retry record of `lane` (bounded by the lane's window). */
static void on_record(void *closure, struct lane *lane, natsMsg *msg)
{
    struct delivery *d = closure;
    struct inbox_item it = {.kind = IN_RECORD, .msg = msg, .lane = lane};
    pthread_mutex_lock(&d->lock);
    bool ok = inbox_push_locked(d, &it);
    pthread_mutex_unlock(&d->lock);
    if (ok) {
        curl_multi_wakeup(d->multi);
        return;
    }
    natsMsg_NakWithDelay(msg, 1000, NULL);
    natsMsg_Destroy(msg);
}

/* Publisher ack thread: a parked copy is stored, or not. Never dropped: the job
 * waits for it (the publisher completes every submission, timeouts included). */
void delivery_on_parked(void *closure, const struct publish_result *res)
{
    struct job *job = closure;
    struct delivery *d = job->d;
    struct inbox_item it = {.kind = IN_PARKED, .job = job, .ok = res->outcome == PUBLISH_OK};
    pthread_mutex_lock(&d->lock);
    while (!inbox_push_locked(d, &it)) {
        /* Out of memory: try again shortly (this must not be lost). */
        pthread_mutex_unlock(&d->lock);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    curl_multi_wakeup(d->multi);
}

static bool inbox_pop(struct delivery *d, struct inbox_item *out)
{
    pthread_mutex_lock(&d->lock);
    bool got = d->inbox_count > 0;
    if (got) {
        *out = d->inbox[d->inbox_head];
        d->inbox_head = (d->inbox_head + 1) % d->inbox_cap;
        d->inbox_count--;
        if (out->kind == IN_EVENT)
            d->event_items--;
    }
    pthread_mutex_unlock(&d->lock);
    return got;
}

static bool inbox_pending(struct delivery *d)
{
    pthread_mutex_lock(&d->lock);
    bool pending = d->inbox_count > 0;
    pthread_mutex_unlock(&d->lock);
    return pending;
}

static void keep_alive(struct delivery *d, int64_t now_ms)
{
    int64_t wall_us = clock_wall_us();
    for (struct job *job = d->active, *next; job; job = next) {
        next = job->next;
        /* A parked delivery held past delivery.max_retry_age (an open breaker, a long
         * Retry-After) is dead-lettered now, not at its next try. */
        if (job->kind == JOB_RECORD && job->running == 0 && job->queued > 0 &&
            wall_us - job->stored_wall_us > job->cfg->delivery.max_retry_age_ms * 1000) {
            struct lane *lane = job->calls[0].lane;
            if (delivery_lane_remove(lane, &job->calls[0])) {
                delivery_hold(d, lane, -1);
                char detail[400];
                snprintf(detail, sizeof detail,
                         "%s: %s (not delivered within delivery.max_retry_age)", lane->display_url,
                         lane->last_error[0] ? lane->last_error : "no answer");
                delivery_job_dead_letter(d, job, lane, "endpoint_unavailable", detail);
                continue;
            }
        }
        int64_t every = job->cfg->nats.ack_wait_ms / 3;
        if (now_ms - job->progress_ms >= every) {
            natsMsg_InProgress(job->msg, NULL);
            job->progress_ms = now_ms;
        }
    }
}

/* At the stop deadline: calls not started are given back (JetStream redelivers them to
 * another instance); the jobs are dropped once nothing of theirs runs. */
/* At the start of a stop: parked deliveries held here (not due yet, or waiting for an
 * open breaker or a pause) go back to the retry stream at once, due when they were —
 * the stop does not wait for them. Their calls never started. */
static void release_held_records(struct delivery *d)
{
    int64_t now = clock_mono_ms();
    for (size_t i = 0;; i++) {
        struct lane *lane = lanes_at(d->lanes, i);
        if (!lane)
            break;
        struct lane_call **lists[2] = {&lane->head, &lane->later};
        for (int k = 0; k < 2; k++) {
            struct lane_call **link = lists[k];
            while (*link) {
                struct lane_call *c = *link;
                if (c->job->kind != JOB_RECORD) {
                    link = &c->next;
                    continue;
                }
                *link = c->next;
                lane->waiting--;
                delivery_hold(d, lane, -1);
                struct job *job = c->job;
                job->queued--;
                int64_t wait = job->due_ms > now ? job->due_ms - now : 0;
                if (lane->paused_until_ms > now && lane->paused_until_ms - now > wait)
                    wait = lane->paused_until_ms - now;
                natsMsg_NakWithDelay(job->msg, wait, NULL);
                delivery_job_free(d, job);
            }
        }
        lane->tail = NULL;
        for (struct lane_call *c = lane->head; c; c = c->next)
            lane->tail = c;
    }
}

static void give_back_queued(struct delivery *d)
{
    struct inbox_item it;
    while (inbox_pop(d, &it)) {
        if (it.kind == IN_PARKED) {
            delivery_on_parked_item(d, it.job, it.ok);
            continue;
        }
        natsMsg_Nak(it.msg, NULL);
        natsMsg_Destroy(it.msg);
    }
    while (d->ring) {
        struct lane *lane = d->ring;
        struct lane_call *c;
        while ((c = delivery_lane_pop(lane)) != NULL) {
            (void)c;
        }
        while ((c = lane->later) != NULL) {
            lane->later = c->next;
            lane->waiting--;
            c->job->queued--;
        }
        lane->in_ring = false;
        d->ring = lane->ring_next == lane ? NULL : lane->ring_next;
        if (d->ring) {
            struct lane *p = d->ring;
            while (p->ring_next != lane)
                p = p->ring_next;
            p->ring_next = lane->ring_next;
        }
    }
    struct job *job = d->active;
    while (job) {
        struct job *next = job->next;
        if (job->running == 0 && !job->settling) {
            if (job->kind == JOB_RECORD && job->calls)
                delivery_hold(d, job->calls[0].lane, -1);
            natsMsg_Nak(job->msg, NULL);
            delivery_job_free(d, job);
        }
        job = next;
    }
}

static bool parks_pending(const struct delivery *d)
{
    for (const struct job *job = d->active; job; job = job->next)
        if (job->parks_pending > 0)
            return true;
    return false;
}

static void rebind_if_changed(struct delivery *d)
{
    pthread_mutex_lock(&d->lock);
    struct config *cfg = d->cfg == d->bound_cfg ? NULL : config_ref(d->cfg);
    pthread_mutex_unlock(&d->lock);
    if (!cfg)
        return;
    lanes_bind(d->lanes, cfg);
    config_unref(d->bound_cfg);
    d->bound_cfg = cfg;
}

static void take_inbox(struct delivery *d)
{
    struct inbox_item it;
    while (inbox_pop(d, &it)) {
        switch (it.kind) {
        case IN_EVENT:
            delivery_event_begin(d, it.msg);
            break;
        case IN_RECORD:
            delivery_record_begin(d, it.lane, it.msg);
            break;
        case IN_PARKED:
            delivery_on_parked_item(d, it.job, it.ok);
            break;
        }
    }
}

static void *delivery_main(void *arg)
{
    struct delivery *d = arg;
    int64_t last_keepalive = clock_mono_ms(), last_view = 0;
    for (;;) {
        pthread_mutex_lock(&d->lock);
        bool stopping = d->stopping;
        bool drained = d->drained;
        int64_t deadline = d->stop_deadline_ms;
        pthread_mutex_unlock(&d->lock);

        rebind_if_changed(d);
        take_inbox(d);
        if (stopping) {
            /* Finish what this instance holds (handing it back would count as a delivery
             * in JetStream); at the deadline, give the rest back. Parked deliveries
             * that wait here go back at once. */
            if (drained)
                release_held_records(d);
            if (drained && !d->active && !inbox_pending(d))
                break;
            if (clock_mono_ms() > deadline) {
                give_back_queued(d);
                if (!d->active) {
                    break;
                }
                log_warn(SUBSYS,
                         "stopping with %d event(s) unsettled; JetStream will redeliver "
                         "them",
                         atomic_load(&d->jobs));
                break;
            }
        }

        int64_t now = clock_mono_ms();
        delivery_shed_slow_lanes(d, now);
        int64_t wake = delivery_schedule(d);
        if (webhook_pool_perform(d->pool) > 0)
            wake = delivery_schedule(d); /* answers freed slots */
        now = clock_mono_ms();
        if (now - last_keepalive >= 1000) {
            keep_alive(d, now);
            last_keepalive = now;
        }
        if (now - last_view >= 500) {
            lanes_publish_views(d->lanes, now);
            last_view = now;
        }
        int timeout = 200;
        if (wake && wake - now < timeout)
            timeout = wake > now ? (int)(wake - now) : 1;
        if (d->ring && timeout > 50)
            timeout = 50; /* slow-lane checks */
        webhook_pool_wait(d->pool, timeout);
    }
    /* Events waiting for their park publishes are settled with the answers (each
     * publish completes: the publisher times it out), so no job is freed under a
     * callback. */
    int64_t until = clock_mono_ms() + d->settings->nats.publish_timeout_ms + 1000;
    while (parks_pending(d) && clock_mono_ms() < until) {
        struct inbox_item it;
        while (inbox_pop(d, &it)) {
            if (it.kind == IN_PARKED) {
                delivery_on_parked_item(d, it.job, it.ok);
            } else {
                natsMsg_Nak(it.msg, NULL);
                natsMsg_Destroy(it.msg);
            }
        }
        webhook_pool_wait(d->pool, 20);
    }
    /* Whatever is left (stop deadline passed; calls abandoned) is handed back now, so
     * another instance takes it without waiting for ack_wait. */
    struct job *job = d->active;
    while (job) {
        struct job *next = job->next;
        if (job->parks_pending > 0) {
            d->parks_abandoned = true; /* its publish may still answer: kept */
        } else {
            if (job->msg)
                natsMsg_Nak(job->msg, NULL);
            delivery_job_free(d, job);
        }
        job = next;
    }
    return NULL;
}

/* ---- public ---- */

struct delivery *delivery_new(struct config *cfg, struct nats_link *link, struct dead_letter *dl,
                              const struct outcomes *outcomes)
{
    struct delivery *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->link = link;
    d->dl = dl;
    d->outcomes = outcomes;
    d->settings = config_ref(cfg);
    d->cfg = config_ref(cfg);
    d->bound_cfg = config_ref(cfg);
    d->max_concurrent = cfg->delivery.max_concurrent;
    atomic_init(&d->jobs, 0);
    atomic_init(&d->held, 0);
    pthread_mutex_init(&d->lock, NULL);
    d->memory = delivered_memory_new((size_t)cfg->nats.max_ack_pending * 8 + 1024);
    d->pool = webhook_pool_new(cfg->delivery.max_concurrent, cfg->delivery.max_host_connections);
    d->lanes = lanes_new(cfg, cfg, link, on_record, d);
    d->pub = publisher_new(link, cfg->nats.max_ack_pending * 2 + 256, cfg->nats.publish_timeout_ms);
    if (!d->memory || !d->pool || !d->lanes || !d->pub) {
        delivery_free(d);
        return NULL;
    }
    d->multi = webhook_pool_multi(d->pool);
    if (pthread_create(&d->thread, NULL, delivery_main, d) != 0) {
        delivery_free(d);
        return NULL;
    }
    d->thread_started = true;
    return d;
}

int delivery_subscribe(struct delivery *d)
{
    if (d->sub) {
        lanes_recheck(d->lanes); /* nats.c re-subscribes by itself after a reconnect */
        return 0;
    }
    const struct config *cfg = d->settings;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = cfg->nats.stream_name;
    so.Consumer = cfg->nats.consumer_name;
    so.Queue = cfg->nats.deliver_group;
    so.ManualAck = true;
    jsErrCode jerr = 0;
    natsStatus s =
        js_Subscribe(&d->sub, nats_link_js(d->link), NULL, on_message, d, NULL, &so, &jerr);
    int rc = 0;
    if (s != NATS_OK) {
        log_error(SUBSYS, "cannot bind to consumer %s: %s (%s)", cfg->nats.consumer_name,
                  natsStatus_GetText(s), nats_GetLastError(NULL));
        rc = -1;
    } else {
        /* The consumer's max_ack_pending bounds what is outstanding; let nats.c hold it. */
        natsSubscription_SetPendingLimits(d->sub, cfg->nats.max_ack_pending * 2 + 1024, -1);
        log_info(SUBSYS, "receiving from consumer %s (deliver group %s)", cfg->nats.consumer_name,
                 cfg->nats.deliver_group);
        if (lanes_start(d->lanes) != 0) {
            log_error(SUBSYS, "cannot start the lane manager");
            rc = -1;
        }
    }
    return rc;
}

void delivery_set_config(struct delivery *d, struct config *cfg)
{
    config_ref(cfg);
    pthread_mutex_lock(&d->lock);
    struct config *old = d->cfg;
    d->cfg = cfg;
    pthread_mutex_unlock(&d->lock);
    config_unref(old);
    curl_multi_wakeup(d->multi);
}

void delivery_stop(struct delivery *d, int64_t timeout_ms)
{
    if (!d || !d->thread_started)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    d->stop_deadline_ms = clock_mono_ms() + timeout_ms;
    pthread_mutex_unlock(&d->lock);
    /* Drain (not Unsubscribe): messages nats.c already holds still reach on_message
     * and are finished like the rest. The consumers themselves stay. */
    if (d->sub && (natsSubscription_Drain(d->sub) != NATS_OK ||
                   natsSubscription_WaitForDrainCompletion(d->sub, 2000) != NATS_OK)) {
        /* nats.c may still call on_message: `d` must outlive the process. */
        d->keep_alive_at_exit = true;
        log_warn(SUBSYS, "the subscription did not drain in time; its messages will be "
                         "redelivered after ack_wait");
    }
    if (!lanes_stop(d->lanes)) {
        d->keep_alive_at_exit = true; /* on_record may still come: `d` must outlive it */
        log_warn(SUBSYS, "a retry subscription did not drain in time; its records will be "
                         "redelivered after ack_wait");
    }
    pthread_mutex_lock(&d->lock);
    d->drained = true;
    pthread_mutex_unlock(&d->lock);
    curl_multi_wakeup(d->multi);
    pthread_join(d->thread, NULL);
    d->thread_started = false;
}

void delivery_free(struct delivery *d)
{
    if (!d)
        return;
    delivery_stop(d, 0);
    if (d->keep_alive_at_exit || d->parks_abandoned)
        return; /* a nats.c thread may still hold `d` (see delivery_stop) */
    natsSubscription_Destroy(d->sub);
    publisher_free(d->pub, 2000);
    lanes_free(d->lanes);
    webhook_pool_free(d->pool);
    delivered_memory_free(d->memory);
    if (d->inbox) {
        struct inbox_item it;
        while (inbox_pop(d, &it))
            if (it.kind != IN_PARKED)
                natsMsg_Destroy(it.msg);
    }
    free(d->inbox);
    config_unref(d->cfg);
    config_unref(d->bound_cfg);
    config_unref((struct config *)d->settings);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int delivery_inflight(const struct delivery *d)
{
    /* Parked deliveries held for an open breaker or a later try are not in flight:
     * /api/stats shows them per endpoint (waiting, parked). */
    int n = atomic_load(&d->jobs) - atomic_load(&d->held);
    return n > 0 ? n : 0;
}

struct lanes *delivery_lanes(const struct delivery *d)
{
    return d ? d->lanes : NULL;
}
