/*
 * delivery — see delivery.h.
 *
 * Data owned by the delivery thread (no locks): jobs, transfers, the curl multi
 * handle's transfers, delivered_memory. Shared with other threads, under `lock`: the
 * inbox ring, the current config pointer and the stopping flag.
 *
 * A job is one JetStream message being delivered. Life of a job:
 *   inbox → job_begin (parse, route, attempt number) → ready queue → transfers
 *   started up to the concurrency cap → all answered → job_settle (ack/nak/dead letter).
 */
#include "delivery.h"

#include "clock.h"
#include "config.h"
#include "dead_letter.h"
#include "delivered_memory.h"
#include "event.h"
#include "outcome.h"
#include "log.h"
#include "nats_link.h"
#include "publisher.h"
#include "stats.h"
#include "webhook_call.h"
#include "json_print.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct endpoint_outcome {
    int status;      /* HTTP status, 0 when no answer */
    char error[160]; /* transport error or "HTTP 500" */
    bool delivered;  /* 2xx now or in an earlier attempt */
    bool called;     /* called in this attempt */
    int64_t latency_us;
};

struct job {
    struct delivery *d;
    natsMsg *msg;
    const struct config *cfg;  /* settings: the startup config, never swapped */
    struct config *routes_cfg; /* the route table it started with (reference held) */
    const struct route *route; /* borrowed from routes_cfg */
    struct event_info info;
    uint64_t seq;
    uint64_t memory_key;    /* seq mixed with the stored time: seqs restart with a new stream */
    int64_t stored_wall_us; /* when JetStream stored it (for the end-to-end latency) */
    int attempt;            /* JetStream's delivery count (also counts hand-backs at restarts) */
    int failures;           /* attempts that really failed, as this process saw them */
    char *body;
    size_t body_len;
    struct endpoint_outcome *outcomes;
    size_t next_endpoint; /* next endpoint index to start */
    int running;          /* calls in flight */

    int64_t progress_ms; /* last "in progress" sent */
    bool in_ready;       /* still in the ready queue (calls left to start) */
    struct job *next_ready;
    struct job *prev, *next; /* active list */
};

struct delivery {
    struct nats_link *link;
    struct dead_letter *dl;
    const struct outcomes *outcomes; /* may be NULL */
    natsSubscription *sub;
    CURLM *multi;
    pthread_t thread;
    bool thread_started;

    const struct config *settings; /* startup config: timeouts, attempts, names */
    pthread_mutex_t lock;
    struct config *cfg; /* under lock: the current route table */
    natsMsg **inbox;    /* ring, under lock */
    size_t inbox_head, inbox_count, inbox_cap;
    bool stopping;           /* under lock */
    bool drained;            /* under lock: the subscription delivered all it held */
    bool keep_alive_at_exit; /* main thread: drain failed, never free (see delivery_stop) */
    int64_t stop_deadline_ms;

    /* Delivery thread only. */
    struct job *active;
    struct job *ready_head, *ready_tail;
    int running_calls;
    int max_concurrent;
    struct delivered_memory *memory;
    struct webhook_pool *pool;
    _Atomic int jobs;
};

static const char *const SUBSYS = "delivery";

/* ---- inbox (nats.c subscription thread → delivery thread) ---- */

static void on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    struct delivery *d = closure;
    pthread_mutex_lock(&d->lock);
    bool ok = d->inbox_count < d->inbox_cap; /* also while draining: ours to finish */
    if (ok) {
        d->inbox[(d->inbox_head + d->inbox_count) % d->inbox_cap] = msg;
        d->inbox_count++;
    }
    pthread_mutex_unlock(&d->lock);
    if (ok) {
        curl_multi_wakeup(d->multi);
        return;
    }
    pthread_mutex_lock(&d->lock);
    bool stopping = d->stopping;
    pthread_mutex_unlock(&d->lock);
    if (stopping) {
        natsMsg_Nak(msg, NULL); /* hand it back at once for another instance */
        natsMsg_Destroy(msg);
        return;
    }
    /* Stopping, or more in hand than the consumer should ever send: give it back so
     * another instance (or this one, later) takes it. */
    natsMsg_NakWithDelay(msg, 1000, NULL);
    natsMsg_Destroy(msg);
}

static bool inbox_pending(struct delivery *d)
{
    pthread_mutex_lock(&d->lock);
    bool pending = d->inbox_count > 0;
    pthread_mutex_unlock(&d->lock);
    return pending;
}

static natsMsg *inbox_pop(struct delivery *d)
{
    natsMsg *msg = NULL;
    pthread_mutex_lock(&d->lock);
    if (d->inbox_count > 0) {
        msg = d->inbox[d->inbox_head];
        d->inbox_head = (d->inbox_head + 1) % d->inbox_cap;
        d->inbox_count--;
    }
    pthread_mutex_unlock(&d->lock);
    return msg;
}

/* ---- jobs ---- */

static void job_free(struct delivery *d, struct job *job)
{
    if (job->prev)
        job->prev->next = job->next;
    else if (d->active == job)
        d->active = job->next;
    if (job->next)
        job->next->prev = job->prev;
    natsMsg_Destroy(job->msg);
    config_unref(job->routes_cfg);
    free(job->body);
    free(job->outcomes);
    free(job);
    atomic_fetch_sub(&d->jobs, 1);
}

static void ready_push(struct delivery *d, struct job *job)
{
    job->in_ready = true;
    job->next_ready = NULL;
    if (d->ready_tail)
        d->ready_tail->next_ready = job;
    else
        d->ready_head = job;
    d->ready_tail = job;
}

static const char *msg_subject(natsMsg *msg)
{
    const char *s = natsMsg_GetSubject(msg);
    return s ? s : "";
}

/* The dead-letter record: why, what each endpoint said, and the event itself. Endpoints
 * are shown by display_url: the record is kept for days and shown by /api/dlq, and
 * nothing reads an endpoint back from it (a replay delivers to the route as it is). */
static char *build_record(const struct job *job, const char *reason, const char *detail,
                          int64_t max_payload)
{
    cJSON *o = cJSON_CreateObject();
    char ts[32];
    clock_format_rfc3339_ms(clock_wall_ms(), ts, sizeof ts);
    cJSON_AddStringToObject(o, "reason", reason);
    cJSON_AddStringToObject(o, "detail", detail);
    cJSON_AddStringToObject(o, "domain", job->info.domain);
    cJSON_AddStringToObject(o, "event_id", job->info.event_id);
    cJSON_AddStringToObject(o, "stream", job->cfg->nats.stream_name);
    cJSON_AddNumberToObject(o, "stream_seq", (double)job->seq);
    cJSON_AddStringToObject(o, "subject", msg_subject(job->msg));
    const char *kind = NULL; /* kept so a replay (POST /api/dlq/...) keeps the event's kind */
    if (natsMsgHeader_Get(job->msg, PUBLISHER_KIND_HEADER, &kind) == NATS_OK && kind)
        cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddNumberToObject(o, "attempts", job->attempt);
    cJSON_AddStringToObject(o, "dead_lettered_at", ts);
    cJSON *eps = cJSON_AddArrayToObject(o, "endpoints");
    if (job->route && job->outcomes) {
        for (size_t i = 0; i < job->route->endpoint_count; i++) {
            const struct endpoint_outcome *oc = &job->outcomes[i];
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "url", job->route->endpoints[i].display_url);
            if (oc->status)
                cJSON_AddNumberToObject(e, "status", oc->status);
            else
                cJSON_AddNullToObject(e, "status");
            if (oc->error[0])
                cJSON_AddStringToObject(e, "error", oc->error);
            cJSON_AddBoolToObject(e, "delivered", oc->delivered);
            cJSON_AddItemToArray(eps, e);
        }
    }
    const char *data = natsMsg_GetData(job->msg);
    int len = natsMsg_GetDataLength(job->msg);
    /* The record must fit the server's max payload. A large event is left out: it
     * stays in the event stream under stream_seq until the limits trim it. */
    /* A valid event is embedded as it is; other bytes become a JSON string, where
     * escaping can make a byte six (\u00XX). */
    bool embed = strcmp(reason, "no_route") == 0 || strcmp(reason, "max_deliveries_exceeded") == 0;
    bool fits = max_payload <= 0 || (int64_t)len * (embed ? 1 : 6) + 8192 < max_payload;
    char *copy = fits ? malloc((size_t)len + 1) : NULL;
    if (!fits) {
        cJSON_AddBoolToObject(o, "event_omitted", true);
        cJSON_AddNumberToObject(o, "event_bytes", len);
    }
    if (copy) {
        memcpy(copy, data ? data : "", (size_t)len);
        copy[len] = '\0';
        /* A valid event is embedded as it was stored (cJSON raw keeps its bytes). */
        if (embed)
            cJSON_AddRawToObject(o, "event", copy);
        else
            cJSON_AddStringToObject(o, "event_raw", copy);
        free(copy);
    }
    char *text = json_print(o);
    cJSON_Delete(o);
    return text;
}

/* Announces what this attempt did, endpoint by endpoint (domain log, history, metrics). */
static void log_outcome(struct delivery *d, const struct job *job, const char *type,
                        bool will_retry, const char *reason, const char *detail)
{
    if (!outcomes_active(d->outcomes))
        return;
    size_t n = job->route && job->outcomes ? job->route->endpoint_count : 0;
    struct outcome_endpoint eps[64];
    if (n > sizeof eps / sizeof eps[0])
        n = sizeof eps / sizeof eps[0];
    for (size_t i = 0; i < n; i++) {
        const struct endpoint_outcome *oc = &job->outcomes[i];
        const struct endpoint *ep = &job->route->endpoints[i];
        eps[i] = (struct outcome_endpoint){.url = ep->display_url,
                                           .label = ep->label,
                                           .status = oc->status,
                                           .error = oc->error,
                                           .delivered = oc->delivered,
                                           .called = oc->called,
                                           .latency_us = oc->latency_us};
    }
    /* Known whenever JetStream gave the stored time; at least 1 us (clocks of the
     * broker and this host may differ by a little on one machine too). */
    int64_t e2e = job->stored_wall_us > 0 ? clock_wall_us() - job->stored_wall_us : 0;
    if (job->stored_wall_us > 0 && e2e < 1)
        e2e = 1;
    struct outcome_delivery o = {
        .type = type,
        .domain = job->info.domain,
        .event_id = job->info.event_id,
        .stream_seq = job->seq,
        .attempt = job->attempt,
        .max_deliver = job->cfg->nats.max_deliver,
        .will_retry = will_retry,
        .reason = reason,
        .detail = detail,
        .endpoints = eps,
        .endpoint_count = n,
        .e2e_latency_us = e2e,
        .event = natsMsg_GetData(job->msg),
        .event_len = (size_t)natsMsg_GetDataLength(job->msg),
    };
    outcomes_delivery(d->outcomes, &o);
}

static void job_dead_letter(struct delivery *d, struct job *job, const char *reason,
                            const char *detail)
{
    log_outcome(d, job, "dead_lettered", false, reason, detail);
    char *record =
        build_record(job, reason, detail, natsConnection_GetMaxPayload(nats_link_conn(d->link)));
    if (!record) {
        natsMsg_NakWithDelay(job->msg, 5000, NULL);
        job_free(d, job);
        return;
    }
    log_warn(SUBSYS, "event %s (domain %s, stream seq %llu) goes to the dead-letter stream: %s",
             job->info.event_id[0] ? job->info.event_id : "-", job->info.domain,
             (unsigned long long)job->seq, detail);
    dead_letter_submit(d->dl, job->msg, job->info.domain, job->seq, reason, record);
    job->msg = NULL; /* taken by dead_letter */
    job_free(d, job);
}

static uint64_t endpoint_id(const struct endpoint *ep)
{
    return delivered_memory_endpoint_id(ep->url, (const char *const *)ep->headers,
                                        ep->header_count);
}

static int64_t backoff_ms(const struct config *cfg, int attempt)
{
    size_t i = attempt > 0 ? (size_t)attempt - 1 : 0;
    if (i >= cfg->delivery.backoff_count)
        i = cfg->delivery.backoff_count - 1;
    return cfg->delivery.backoff_ms[i];
}

static void job_settle(struct delivery *d, struct job *job)
{
    const struct route *route = job->route;
    size_t failed = 0;
    char first_error[200] = "";
    for (size_t i = 0; i < route->endpoint_count; i++) {
        if (!job->outcomes[i].delivered) {
            if (!failed)
                snprintf(first_error, sizeof first_error, "%s: %s", route->endpoints[i].display_url,
                         job->outcomes[i].error);
            failed++;
        }
    }
    if (failed == 0) {
        natsMsg_Ack(job->msg, NULL);
        stats_inc(STAT_DELIVERED);
        delivered_memory_set_failures(d->memory, job->memory_key, 0);
        for (size_t i = 0; i < route->endpoint_count; i++)
            delivered_memory_remove(d->memory, job->memory_key, endpoint_id(&route->endpoints[i]));
        log_debug(SUBSYS, "event %s delivered to %zu endpoint(s) (attempt %d)", job->info.event_id,
                  route->endpoint_count, job->attempt);
        log_outcome(d, job, "forwarded", false, NULL, NULL);
        job_free(d, job);
        return;
    }
    int failures = job->failures + 1;
    if (failures >= job->cfg->nats.max_deliver) {
        char detail[320];
        snprintf(detail, sizeof detail,
                 "%zu of %zu endpoint(s) still failing after %d attempts (%s)", failed,
                 route->endpoint_count, failures, first_error);
        /* The count stays remembered: if the dead-letter record cannot be stored now,
         * the message comes back and goes straight to the dead-letter stream again
         * (job_begin) instead of starting a new round of attempts. */
        delivered_memory_set_failures(d->memory, job->memory_key, failures);
        log_outcome(d, job, "failed", false, NULL, first_error);
        job_dead_letter(d, job, "max_deliveries_exceeded", detail);
        return;
    }
    for (size_t i = 0; i < route->endpoint_count; i++)
        if (job->outcomes[i].delivered)
            delivered_memory_add(d->memory, job->memory_key, endpoint_id(&route->endpoints[i]));
    delivered_memory_set_failures(d->memory, job->memory_key, failures);
    int64_t delay = backoff_ms(job->cfg, failures);
    natsMsg_NakWithDelay(job->msg, delay, NULL);
    stats_inc(STAT_RETRIED);
    log_outcome(d, job, "failed", true, NULL, first_error);
    static struct log_ratelimit rl;
    int suppressed = 0;
    if (log_ratelimit_ok(&rl, 10, 10000, &suppressed))
        log_warn(SUBSYS,
                 "event %s (domain %s) attempt %d/%d: %zu endpoint(s) failed (%s); retry in "
                 "%lld ms (%d similar suppressed)",
                 job->info.event_id, job->info.domain, failures, job->cfg->nats.max_deliver, failed,
                 first_error, (long long)delay, suppressed);
    job_free(d, job);
}

static struct config *current_config(struct delivery *d)
{
    pthread_mutex_lock(&d->lock);
    struct config *cfg = config_ref(d->cfg);
    pthread_mutex_unlock(&d->lock);
    return cfg;
}

/* routes[].events: the kinds a route wants (none listed = all). */
static bool route_wants(const struct route *route, natsMsg *msg)
{
    if (route->event_kind_count == 0)
        return true;
    const char *kind = NULL;
    if (natsMsgHeader_Get(msg, PUBLISHER_KIND_HEADER, &kind) != NATS_OK || !kind)
        kind = "ingress";
    for (size_t i = 0; i < route->event_kind_count; i++)
        if (strcmp(route->event_kinds[i], kind) == 0 || strcmp(route->event_kinds[i], "ALL") == 0)
            return true;
    return false;
}

static void job_begin(struct delivery *d, natsMsg *msg)
{
    struct job *job = calloc(1, sizeof *job);
    if (!job) {
        natsMsg_NakWithDelay(msg, 1000, NULL);
        natsMsg_Destroy(msg);
        return;
    }
    atomic_fetch_add(&d->jobs, 1);
    job->d = d;
    job->msg = msg;
    job->cfg = d->settings;
    job->routes_cfg = current_config(d);
    job->progress_ms = clock_mono_ms();
    job->next = d->active;
    if (d->active)
        d->active->prev = job;
    d->active = job;

    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        job->seq = meta->Sequence.Stream;
        job->memory_key = job->seq ^ ((uint64_t)meta->Timestamp * 0x9e3779b97f4a7c15ULL);
        job->stored_wall_us = meta->Timestamp / 1000;
        job->attempt = (int)meta->NumDelivered;
        jsMsgMetaData_Destroy(meta);
    } else {
        job->attempt = 1;
    }

    const char *data = natsMsg_GetData(msg);
    int len = natsMsg_GetDataLength(msg);
    enum event_status st = event_inspect(data ? data : "", (size_t)len, &job->info);
    if (st != EVENT_OK) {
        job_dead_letter(d, job, st == EVENT_ERR_JSON ? "invalid_json" : event_status_name(st),
                        job->info.detail);
        return;
    }
    job->route = config_find_route(job->routes_cfg, job->info.domain);
    if (!job->route) {
        job_dead_letter(d, job, "no_route", "no route for this domain and no default route");
        return;
    }
    if (!route_wants(job->route, msg)) {
        /* The tenant's route does not subscribe to this kind of event: done. */
        natsMsg_Ack(msg, NULL);
        stats_inc(STAT_FILTERED);
        job_free(d, job);
        return;
    }
    /* Attempts are the failures this process saw: a message handed back at a restart
     * (or redelivered after a crash) is redelivered without having failed, so JetStream's
     * delivery count runs ahead. It still bounds a crash loop: far past max_deliver,
     * the event is dead-lettered rather than tried for ever. */
    job->failures = delivered_memory_failures(d->memory, job->memory_key);
    if (job->failures >= job->cfg->nats.max_deliver) {
        job_dead_letter(d, job, "max_deliveries_exceeded",
                        "attempts exhausted (the dead-letter record is being stored again)");
        return;
    }
    if (job->attempt > job->cfg->nats.max_deliver * 3 + 10) {
        job_dead_letter(d, job, "max_deliveries_exceeded",
                        "delivered too many times without being settled (restarts or crashes "
                        "during delivery)");
        return;
    }
    job->outcomes = calloc(job->route->endpoint_count, sizeof *job->outcomes);
    job->body = event_with_attempt(data, (size_t)len, job->attempt, &job->body_len);
    if (!job->outcomes || !job->body) {
        natsMsg_NakWithDelay(msg, 1000, NULL);
        job_free(d, job);
        return;
    }
    for (size_t i = 0; i < job->route->endpoint_count; i++) {
        if (delivered_memory_has(d->memory, job->memory_key,
                                 endpoint_id(&job->route->endpoints[i]))) {
            job->outcomes[i].delivered = true;
        }
    }
    ready_push(d, job);
}

/* ---- calls ---- */

static void on_call_done(void *closure, size_t endpoint_index, int status, const char *error,
                         int64_t latency_us)
{
    struct job *job = closure;
    struct endpoint_outcome *oc = &job->outcomes[endpoint_index];
    oc->status = status;
    oc->called = true;
    oc->latency_us = latency_us;
    oc->delivered = status >= 200 && status < 300;
    if (oc->delivered) {
        stats_inc(STAT_ENDPOINT_OK);
        oc->error[0] = '\0';
    } else {
        stats_inc(STAT_ENDPOINT_FAILED);
        if (error && error[0])
            snprintf(oc->error, sizeof oc->error, "%s", error);
        else
            snprintf(oc->error, sizeof oc->error, "HTTP %d", status);
    }
    job->running--;
    job->d->running_calls--;
    if (job->running == 0 && !job->in_ready)
        job_settle(job->d, job);
}

/* Starts calls from the ready queue while under the concurrency cap. */
static void start_calls(struct delivery *d)
{
    while (d->ready_head && d->running_calls < d->max_concurrent) {
        struct job *job = d->ready_head;
        const struct route *route = job->route;
        while (job->next_endpoint < route->endpoint_count && d->running_calls < d->max_concurrent) {
            size_t i = job->next_endpoint++;
            if (job->outcomes[i].delivered)
                continue;
            struct webhook_request rq = {
                .endpoint = &route->endpoints[i],
                .endpoint_index = i,
                .body = job->body,
                .body_len = job->body_len,
                .event_id = job->info.event_id,
                .domain = job->info.domain,
                .attempt = job->attempt,
                .default_timeout_ms = job->cfg->delivery.timeout_ms,
                .connect_timeout_ms = job->cfg->delivery.connect_timeout_ms,
                .done = on_call_done,
                .closure = job,
            };
            if (webhook_call_start(d->pool, &rq) == 0) {
                job->running++;
                d->running_calls++;
            } else {
                job->outcomes[i].status = 0;
                snprintf(job->outcomes[i].error, sizeof job->outcomes[i].error,
                         "could not start the request");
            }
        }
        if (job->next_endpoint < route->endpoint_count)
            break; /* cap reached in the middle of this job */
        d->ready_head = job->next_ready;
        if (!d->ready_head)
            d->ready_tail = NULL;
        job->in_ready = false;
        if (job->running == 0)
            job_settle(d, job); /* nothing to call (all delivered earlier, or none started) */
    }
}

/* Long waits (cap, slow endpoints) must not make JetStream redeliver meanwhile. */
static void keep_alive(struct delivery *d, int64_t now_ms)
{
    for (struct job *job = d->active; job; job = job->next) {
        int64_t every = job->cfg->nats.ack_wait_ms / 3;
        if (now_ms - job->progress_ms >= every) {
            natsMsg_InProgress(job->msg, NULL);
            job->progress_ms = now_ms;
        }
    }
}

static void give_back_queued(struct delivery *d)
{
    natsMsg *msg;
    while ((msg = inbox_pop(d)) != NULL) {
        natsMsg_Nak(msg, NULL);
        natsMsg_Destroy(msg);
    }
    /* Every job not started yet, wherever it stands in the queue. */
    struct job **link = &d->ready_head;
    d->ready_tail = NULL;
    while (*link) {
        struct job *job = *link;
        if (job->running > 0 || job->next_endpoint > 0) {
            d->ready_tail = job; /* partly started: it stays */
            link = &job->next_ready;
            continue;
        }
        *link = job->next_ready;
        job->in_ready = false;
        natsMsg_Nak(job->msg, NULL);
        job_free(d, job);
    }
}

static void *delivery_main(void *arg)
{
    struct delivery *d = arg;
    int64_t last_keepalive = clock_mono_ms();
    for (;;) {
        pthread_mutex_lock(&d->lock);
        bool stopping = d->stopping;
        bool drained = d->drained;
        int64_t deadline = d->stop_deadline_ms;
        pthread_mutex_unlock(&d->lock);

        natsMsg *msg;
        while ((msg = inbox_pop(d)) != NULL)
            job_begin(d, msg);
        if (stopping) {
            /* Finish what this instance holds (handing it back would count as a delivery
             * in JetStream); at the deadline, give the rest back. */
            if (drained && !d->active && !inbox_pending(d))
                break;
            if (clock_mono_ms() > deadline) {
                give_back_queued(d);
                log_warn(SUBSYS,
                         "stopping with %d event(s) unsettled; JetStream will redeliver "
                         "them",
                         atomic_load(&d->jobs));
                break;
            }
        }

        start_calls(d);
        if (webhook_pool_perform(d->pool) > 0)
            start_calls(d); /* answers freed slots */
        int64_t now = clock_mono_ms();
        if (now - last_keepalive >= 1000) {
            keep_alive(d, now);
            last_keepalive = now;
        }
        webhook_pool_wait(d->pool, 200);
    }
    /* Whatever is left (stop deadline passed; calls abandoned) is handed back now, so
     * another instance takes it without waiting for ack_wait. */
    while (d->active) {
        struct job *job = d->active;
        d->active = job->next;
        job->prev = job->next = NULL;
        if (job->msg)
            natsMsg_Nak(job->msg, NULL);
        job_free(d, job);
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
    d->max_concurrent = cfg->delivery.max_concurrent;
    d->inbox_cap = (size_t)cfg->nats.max_ack_pending + 256;
    atomic_init(&d->jobs, 0);
    pthread_mutex_init(&d->lock, NULL);
    d->inbox = calloc(d->inbox_cap, sizeof *d->inbox);
    d->memory = delivered_memory_new((size_t)cfg->nats.max_ack_pending * 8 + 1024);
    d->pool = webhook_pool_new(cfg->delivery.max_concurrent, cfg->delivery.max_host_connections);
    if (!d->inbox || !d->memory || !d->pool) {
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
    if (d->sub)
        return 0; /* nats.c re-subscribes by itself after a reconnect */
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
     * and are finished like the rest. The consumer itself stays. */
    if (d->sub && (natsSubscription_Drain(d->sub) != NATS_OK ||
                   natsSubscription_WaitForDrainCompletion(d->sub, 2000) != NATS_OK)) {
        /* nats.c may still call on_message: `d` must outlive the process. */
        d->keep_alive_at_exit = true;
        log_warn(SUBSYS, "the subscription did not drain in time; its messages will be "
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
    if (d->keep_alive_at_exit)
        return; /* a nats.c thread may still hold `d` (see delivery_stop) */
    natsSubscription_Destroy(d->sub);
    webhook_pool_free(d->pool);
    delivered_memory_free(d->memory);
    if (d->inbox) {
        natsMsg *msg;
        while ((msg = inbox_pop(d)) != NULL)
            natsMsg_Destroy(msg);
    }
    free(d->inbox);
    config_unref(d->cfg);
    config_unref((struct config *)d->settings);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int delivery_inflight(const struct delivery *d)
{
    return atomic_load(&d->jobs);
}
