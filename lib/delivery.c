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
 * Life of an event: inbox → event_begin (parse, route; per endpoint: delivered
 * before? behind? else queue a call) → calls answered → event_settle: parked copies
 * published → all publishes acked → ack (a failed park: nak, the whole event comes
 * back; endpoints that answered 2xx are remembered and not called again).
 * Life of a record: inbox → record_begin (dead-letter checks, due time) → lane queue
 * (held while the endpoint is open or paused) → call → record_settle.
 */
#include "delivery.h"

#include "clock.h"
#include "config.h"
#include "dead_letter.h"
#include "delivered_memory.h"
#include "event.h"
#include "json_print.h"
#include "lanes.h"
#include "log.h"
#include "nats_link.h"
#include "outcome.h"
#include "publisher.h"
#include "retry_record.h"
#include "stats.h"
#include "webhook_call.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A lane whose calls went unanswered this long is slow: events beyond one round of
 * calls are parked instead of queued behind it. */
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
};

static const char *const SUBSYS = "delivery";

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
static void on_parked(void *closure, const struct publish_result *res)
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

/* ---- jobs ---- */

static struct job *job_new(struct delivery *d, enum job_kind kind, natsMsg *msg)
{
    struct job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    atomic_fetch_add(&d->jobs, 1);
    job->d = d;
    job->kind = kind;
    job->msg = msg;
    job->cfg = d->settings;
    job->progress_ms = clock_mono_ms();
    job->next = d->active;
    if (d->active)
        d->active->prev = job;
    d->active = job;
    return job;
}

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
    free(job->calls);
    free(job);
    atomic_fetch_sub(&d->jobs, 1);
}

static const char *msg_subject(natsMsg *msg)
{
    const char *s = natsMsg_GetSubject(msg);
    return s ? s : "";
}

static const struct endpoint *job_endpoint(const struct job *job, size_t i)
{
    return job->kind == JOB_EVENT ? &job->route->endpoints[i] : job->record_endpoint;
}

/* The dead-letter record: why, what each endpoint said, and the event itself. Endpoints
 * are shown by display_url: the record is kept for days and shown by /api/dlq. A
 * record's dead letter is one endpoint's (endpoint_key): its replay goes to that
 * endpoint alone. */
static char *build_record(const struct job *job, const char *reason, const char *detail,
                          const char *lane_key, const char *lane_label, int64_t max_payload)
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
    if (job->kind == JOB_EVENT) {
        cJSON_AddStringToObject(o, "subject", msg_subject(job->msg));
    } else {
        char subject[EVENT_SUBJECT_MAX];
        if (event_subject(job->cfg->nats.subject_pattern, job->info.domain, subject,
                          sizeof subject))
            cJSON_AddStringToObject(o, "subject", subject);
    }
    const char *kind = NULL; /* kept so a replay (POST /api/dlq/...) keeps the event's kind */
    if (natsMsgHeader_Get(job->msg, PUBLISHER_KIND_HEADER, &kind) == NATS_OK && kind)
        cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddNumberToObject(o, "attempts", job->kind == JOB_EVENT ? job->attempt : job->failures);
    cJSON_AddStringToObject(o, "dead_lettered_at", ts);
    if (lane_key)
        cJSON_AddStringToObject(o, "endpoint_key", lane_key);
    cJSON *eps = cJSON_AddArrayToObject(o, "endpoints");
    if (job->kind == JOB_RECORD) {
        cJSON *e = cJSON_CreateObject();
        const struct endpoint_outcome *oc = job->outcomes;
        cJSON_AddStringToObject(
            e, "url", job->record_endpoint ? job->record_endpoint->display_url : lane_label);
        int status = oc && oc->called ? oc->status : job->record.last_status;
        const char *err = oc && oc->called ? oc->error : job->record.last_error;
        if (status)
            cJSON_AddNumberToObject(e, "status", status);
        else
            cJSON_AddNullToObject(e, "status");
        if (err && err[0])
            cJSON_AddStringToObject(e, "error", err);
        cJSON_AddBoolToObject(e, "delivered", false);
        cJSON_AddItemToArray(eps, e);
    } else if (job->route && job->outcomes) {
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
     * stays in the event stream under stream_seq until the limits trim it. A valid
     * event is embedded as it is; other bytes become a JSON string, where escaping
     * can make a byte six (\u00XX). */
    bool embed = strcmp(reason, "no_route") == 0 || job->kind == JOB_RECORD ||
                 strcmp(reason, "max_deliveries_exceeded") == 0;
    bool fits = max_payload <= 0 || (int64_t)len * (embed ? 1 : 6) + 8192 < max_payload;
    char *copy = fits ? malloc((size_t)len + 1) : NULL;
    if (!fits) {
        cJSON_AddBoolToObject(o, "event_omitted", true);
        cJSON_AddNumberToObject(o, "event_bytes", len);
    }
    if (copy) {
        memcpy(copy, data ? data : "", (size_t)len);
        copy[len] = '\0';
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

/* Announces what this attempt did (domain log, history, metrics). An event's outcome
 * lists every endpoint; a record's only its own (endpoint_total says how many the
 * event has: readers merge it into what they know). */
static void log_outcome(struct delivery *d, const struct job *job, const char *type,
                        bool will_retry, const char *reason, const char *detail)
{
    if (!outcomes_active(d->outcomes))
        return;
    size_t n = job->outcomes ? job->endpoint_count : 0;
    struct outcome_endpoint eps[64];
    if (n > sizeof eps / sizeof eps[0])
        n = sizeof eps / sizeof eps[0];
    for (size_t i = 0; i < n; i++) {
        const struct endpoint_outcome *oc = &job->outcomes[i];
        const struct endpoint *ep = job_endpoint(job, i);
        if (!ep) {
            n = 0;
            break;
        }
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
        .one_endpoint = job->kind == JOB_RECORD,
        .e2e_latency_us = e2e,
        .event = natsMsg_GetData(job->msg),
        .event_len = (size_t)natsMsg_GetDataLength(job->msg),
    };
    outcomes_delivery(d->outcomes, &o);
}

static void job_dead_letter(struct delivery *d, struct job *job, struct lane *lane,
                            const char *reason, const char *detail)
{
    log_outcome(d, job, "dead_lettered", false, reason, detail);
    const char *key = job->kind == JOB_RECORD && lane ? lane->key : NULL;
    /* A record's dead letter is told apart by the record (a replayed dead letter that
     * fails again is a new record, and must not look like a duplicate of the first). */
    char id_suffix[64];
    if (key)
        snprintf(id_suffix, sizeof id_suffix, "%s-r%llu", key, (unsigned long long)job->record_seq);
    char *record = build_record(job, reason, detail, key, lane ? lane->label : "",
                                natsConnection_GetMaxPayload(nats_link_conn(d->link)));
    if (!record) {
        natsMsg_NakWithDelay(job->msg, 5000, NULL);
        job_free(d, job);
        return;
    }
    if (key)
        log_error(SUBSYS,
                  "event %s (domain %s, stream seq %llu) for endpoint %s goes to the "
                  "dead-letter stream: %s",
                  job->info.event_id[0] ? job->info.event_id : "-", job->info.domain,
                  (unsigned long long)job->seq, lane->label, detail);
    else
        log_warn(SUBSYS, "event %s (domain %s, stream seq %llu) goes to the dead-letter stream: %s",
                 job->info.event_id[0] ? job->info.event_id : "-", job->info.domain,
                 (unsigned long long)job->seq, detail);
    dead_letter_submit(d->dl, job->msg, job->info.domain, job->seq, key ? id_suffix : NULL, reason,
                       record);
    job->msg = NULL; /* taken by dead_letter */
    job_free(d, job);
}

static uint64_t endpoint_id(const struct endpoint *ep)
{
    return delivered_memory_endpoint_id(ep->url, (const char *const *)ep->headers,
                                        ep->header_count);
}

static int64_t backoff_ms(const struct config *cfg, int failures)
{
    size_t i = failures > 0 ? (size_t)failures - 1 : 0;
    if (i >= cfg->delivery.backoff_count)
        i = cfg->delivery.backoff_count - 1;
    return cfg->delivery.backoff_ms[i];
}

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

static void lane_push(struct delivery *d, struct lane_call *c, bool at_head)
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
        c->next = NULL;
        if (lane->tail)
            lane->tail->next = c;
        else
            lane->head = c;
        lane->tail = c;
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
        c->next = NULL;
        if (lane->tail)
            lane->tail->next = c;
        else
            lane->head = c;
        lane->tail = c;
    }
}

static struct lane_call *lane_pop(struct lane *lane)
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
static bool lane_slow(const struct lane *lane, int64_t now_ms)
{
    return lane->in_flight > 0 && now_ms - lane->last_answer_ms >= SLOW_LANE_MS;
}

/* How many calls a slow lane may keep waiting: one round of its calls, and never more
 * than an eighth of the events consumer's window (the rest of the window stays for the
 * other endpoints). */
static int slow_queue_cap(const struct delivery *d, const struct lane *lane)
{
    int share = d->settings->nats.max_ack_pending / 8;
    if (share < 1)
        share = 1;
    return lane->max_concurrent < share ? lane->max_concurrent : share;
}

static void event_settle(struct delivery *d, struct job *job);
static void record_settle(struct delivery *d, struct job *job);

/* A job's calls all answered (none running, none queued): settle it. */
static void job_calls_done(struct delivery *d, struct job *job)
{
    if (job->running > 0 || job->queued > 0)
        return;
    if (job->kind == JOB_EVENT)
        event_settle(d, job);
    else
        record_settle(d, job);
}

/* Takes the event calls out of slow lanes' queues beyond one round of calls: their
 * events are parked rather than held in the events consumer's window. */
static void shed_slow_lanes(struct delivery *d, int64_t now_ms)
{
    if (!d->ring)
        return;
    struct lane *start = d->ring, *lane = start;
    do {
        struct lane *next = lane->ring_next;
        bool behind = lane_is_behind(lane, now_ms) || lane_slow(lane, now_ms);
        if (behind && lane->waiting > (lane_slow(lane, now_ms) ? slow_queue_cap(d, lane) : 0)) {
            /* Keep records (already parked) and the first round; shed event calls. */
            struct lane_call **link = &lane->head, *last = NULL;
            int kept = 0;
            struct lane_call *shed = NULL;
            while (*link) {
                struct lane_call *c = *link;
                bool keep = c->job->kind == JOB_RECORD ||
                            (lane_slow(lane, now_ms) && !lane_is_behind(lane, now_ms) &&
                             kept < slow_queue_cap(d, lane));
                if (keep) {
                    kept++;
                    last = c;
                    link = &c->next;
                    continue;
                }
                *link = c->next;
                lane->waiting--;
                c->job->queued--;
                c->next = shed;
                shed = c;
            }
            lane->tail = last;
            while (shed) {
                struct lane_call *c = shed;
                shed = c->next;
                c->job->outcomes[c->index].park = PARK_BEHIND;
                job_calls_done(d, c->job);
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
    const struct endpoint *ep = job_endpoint(job, c->index);
    struct webhook_request rq = {
        .endpoint = ep,
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
static int64_t schedule(struct delivery *d)
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
                lane_pop(lane);
                if (start_call(d, lane, c))
                    started = true;
                else
                    job_calls_done(d, c->job);
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

/* ---- events ---- */

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

static void event_begin(struct delivery *d, natsMsg *msg)
{
    struct job *job = job_new(d, JOB_EVENT, msg);
    if (!job) {
        natsMsg_NakWithDelay(msg, 1000, NULL);
        natsMsg_Destroy(msg);
        return;
    }
    job->routes_cfg = current_config(d);
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
        job_dead_letter(d, job, NULL, st == EVENT_ERR_JSON ? "invalid_json" : event_status_name(st),
                        job->info.detail);
        return;
    }
    job->route = config_find_route(job->routes_cfg, job->info.domain);
    if (!job->route) {
        job_dead_letter(d, job, NULL, "no_route", "no route for this domain and no default route");
        return;
    }
    if (!route_wants(job->route, msg)) {
        /* The tenant's route does not subscribe to this kind of event: done. */
        natsMsg_Ack(msg, NULL);
        stats_inc(STAT_FILTERED);
        job_free(d, job);
        return;
    }
    /* An event comes back only when parking failed or after a crash or restart: its
     * endpoints' own attempts are counted in their retry records. This bounds a loop
     * of crashes while it is being delivered. */
    if (job->attempt > job->cfg->nats.max_deliver * 3 + 10) {
        job_dead_letter(d, job, NULL, "max_deliveries_exceeded",
                        "delivered too many times without being settled (restarts or crashes "
                        "during delivery)");
        return;
    }
    size_t n = job->route->endpoint_count;
    job->endpoint_count = n;
    job->outcomes = calloc(n, sizeof *job->outcomes);
    job->calls = calloc(n, sizeof *job->calls);
    job->body = event_with_attempt(data, (size_t)len, 1, &job->body_len);
    if (!job->outcomes || !job->calls || !job->body) {
        natsMsg_NakWithDelay(msg, 1000, NULL);
        job_free(d, job);
        return;
    }
    job->attempt = 1; /* each endpoint's first attempt; retries count in its records */
    int64_t now = clock_mono_ms();
    for (size_t i = 0; i < n; i++) {
        const struct endpoint *ep = &job->route->endpoints[i];
        if (delivered_memory_has(d->memory, job->memory_key, endpoint_id(ep))) {
            job->outcomes[i].delivered = true;
            continue;
        }
        struct lane *lane = lanes_get(d->lanes, ep, job->route->domain);
        if (!lane) {
            job->outcomes[i].park = PARK_FAILED;
            snprintf(job->outcomes[i].error, sizeof job->outcomes[i].error, "out of memory");
            continue;
        }
        job->calls[i] = (struct lane_call){.job = job, .index = i, .lane = lane};
        bool slow_and_full = lane_slow(lane, now) && lane->waiting >= slow_queue_cap(d, lane);
        if (lane_is_behind(lane, now) || slow_and_full)
            job->outcomes[i].park = PARK_BEHIND;
        else
            lane_push(d, &job->calls[i], false);
    }
    job_calls_done(d, job);
}

/* Publishes the parked copies of an event; the ack waits for all of them. */
static void event_park(struct delivery *d, struct job *job)
{
    const struct config *cfg = job->cfg;
    const char *data = natsMsg_GetData(job->msg);
    int len = natsMsg_GetDataLength(job->msg);
    const char *kind = NULL;
    natsMsgHeader_Get(job->msg, PUBLISHER_KIND_HEADER, &kind);
    int64_t wall = clock_wall_ms();
    job->settling = true;
    job->parks_pending = 1; /* held while submitting */
    for (size_t i = 0; i < job->endpoint_count; i++) {
        struct endpoint_outcome *oc = &job->outcomes[i];
        if (oc->delivered || oc->park == PARK_NONE)
            continue;
        const struct endpoint *ep = &job->route->endpoints[i];
        struct retry_record r = {.event_seq = job->seq, .stored_wall_us = job->stored_wall_us};
        if (kind)
            snprintf(r.kind, sizeof r.kind, "%s", kind);
        r.last_status = oc->status;
        snprintf(r.last_error, sizeof r.last_error, "%s", oc->error);
        switch (oc->park) {
        case PARK_FAILED:
            r.attempts = 1;
            r.not_before_wall_ms = wall + backoff_ms(cfg, 1);
            break;
        case PARK_RETRY_AFTER:
            r.not_before_wall_ms = oc->not_before_wall_ms;
            break;
        case PARK_GONE:
            r.attempts = 1;
            snprintf(r.final_reason, sizeof r.final_reason, "endpoint_gone");
            break;
        default:
            break;
        }
        natsMsg *m = retry_record_msg(cfg->nats.retry_subject_prefix, ep->key, &r, data,
                                      (size_t)(len > 0 ? len : 0));
        char msg_id[256];
        retry_record_msg_id(msg_id, sizeof msg_id, cfg->nats.stream_name, ep->key, &r);
        job->parks_pending++;
        int rc = m ? publisher_submit_msg(d->pub, m, msg_id, on_parked, job) : -1;
        if (rc != 0) {
            job->parks_pending--;
            job->park_failed = true;
            continue;
        }
        if (job->calls[i].lane) {
            lane_parked_one(job->calls[i].lane);
            atomic_store(&job->calls[i].lane->want_consumer, true);
        }
    }
    lanes_poke(d->lanes);
    job->parks_pending--;
}

/* All parks answered: ack, or give the event back to try again. */
static void event_finish(struct delivery *d, struct job *job)
{
    size_t delivered = 0, parked = 0;
    char first_error[200] = "";
    for (size_t i = 0; i < job->endpoint_count; i++) {
        const struct endpoint_outcome *oc = &job->outcomes[i];
        if (oc->delivered) {
            delivered++;
            continue;
        }
        parked++;
        if (!first_error[0] && oc->error[0])
            snprintf(first_error, sizeof first_error, "%s: %s",
                     job->route->endpoints[i].display_url, oc->error);
    }
    if (job->park_failed) {
        /* The event comes back; what answered 2xx is not called again. */
        for (size_t i = 0; i < job->endpoint_count; i++)
            if (job->outcomes[i].delivered)
                delivered_memory_add(d->memory, job->memory_key,
                                     endpoint_id(&job->route->endpoints[i]));
        natsMsg_NakWithDelay(job->msg, PARK_RETRY_MS, NULL);
        stats_inc(STAT_RETRIED);
        static struct log_ratelimit rl;
        int suppressed = 0;
        if (log_ratelimit_ok(&rl, 5, 10000, &suppressed))
            log_warn(SUBSYS,
                     "event %s (domain %s): cannot park its delivery for %zu endpoint(s) in "
                     "the retry stream; it comes back in %d ms (%d similar suppressed)",
                     job->info.event_id, job->info.domain, parked, PARK_RETRY_MS, suppressed);
        job_free(d, job);
        return;
    }
    natsMsg_Ack(job->msg, NULL);
    for (size_t i = 0; i < job->endpoint_count; i++)
        delivered_memory_remove(d->memory, job->memory_key, endpoint_id(&job->route->endpoints[i]));
    if (parked == 0) {
        stats_inc(STAT_DELIVERED);
        log_debug(SUBSYS, "event %s delivered to %zu endpoint(s)", job->info.event_id,
                  job->endpoint_count);
        log_outcome(d, job, "forwarded", false, NULL, NULL);
    } else {
        stats_add(STAT_PARKED, parked);
        bool any_failed = false;
        for (size_t i = 0; i < job->endpoint_count; i++)
            any_failed |= job->outcomes[i].called && !job->outcomes[i].delivered;
        if (any_failed)
            stats_inc(STAT_RETRIED);
        log_outcome(d, job, "failed", true, any_failed ? NULL : "parked",
                    first_error[0] ? first_error : "endpoint behind: parked");
        static struct log_ratelimit rl;
        int suppressed = 0;
        if (any_failed && log_ratelimit_ok(&rl, 10, 10000, &suppressed))
            log_warn(SUBSYS,
                     "event %s (domain %s) attempt 1/%d: %zu endpoint(s) not delivered (%s); "
                     "parked in the retry stream, retry in %lld ms (%d similar suppressed)",
                     job->info.event_id, job->info.domain, job->cfg->nats.max_deliver, parked,
                     first_error, (long long)backoff_ms(job->cfg, 1), suppressed);
    }
    job_free(d, job);
}

static void event_settle(struct delivery *d, struct job *job)
{
    bool any = false;
    for (size_t i = 0; i < job->endpoint_count; i++)
        any |= !job->outcomes[i].delivered;
    if (!any) {
        event_finish(d, job);
        return;
    }
    event_park(d, job);
    if (job->parks_pending == 0)
        event_finish(d, job);
}

static void on_parked_item(struct delivery *d, struct job *job, bool ok)
{
    if (!ok)
        job->park_failed = true;
    if (--job->parks_pending == 0)
        event_finish(d, job);
}

/* ---- records ---- */

static void record_begin(struct delivery *d, struct lane *lane, natsMsg *msg)
{
    struct job *job = job_new(d, JOB_RECORD, msg);
    if (!job) {
        natsMsg_NakWithDelay(msg, 1000, NULL);
        natsMsg_Destroy(msg);
        return;
    }
    int delivered_count = 1;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        delivered_count = (int)meta->NumDelivered;
        job->record_seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    }
    const char *data = natsMsg_GetData(msg);
    int len = natsMsg_GetDataLength(msg);
    bool readable = retry_record_read(msg, &job->record);
    job->seq = job->record.event_seq;
    job->stored_wall_us = job->record.stored_wall_us;
    job->memory_key = job->seq;
    /* Failed attempts: those before parking, plus one per redelivery of the record
     * (each follows a failed call — or a restart that gave it back: that bounds a crash
     * loop too). */
    job->failures = job->record.attempts + (delivered_count > 1 ? delivered_count - 1 : 0);
    job->attempt = job->failures + 1;
    enum event_status st = event_inspect(data ? data : "", (size_t)(len > 0 ? len : 0), &job->info);
    job->record_endpoint = lanes_endpoint(d->lanes, lane, &job->routes_cfg);
    job->endpoint_count = 1;
    lane->held_records++;
    job->calls = calloc(1, sizeof *job->calls);
    job->outcomes = calloc(1, sizeof *job->outcomes);
    if (!job->calls || !job->outcomes) {
        lane->held_records--;
        natsMsg_NakWithDelay(msg, 1000, NULL);
        job_free(d, job);
        return;
    }
    job->calls[0] = (struct lane_call){.job = job, .index = 0, .lane = lane};
    const struct config *cfg = job->cfg;
    char detail[400];
    const char *reason = NULL;
    if (!readable || st != EVENT_OK) {
        reason = "invalid_record";
        snprintf(detail, sizeof detail, "the parked record is not readable");
    } else if (!job->record_endpoint) {
        reason = "endpoint_removed";
        snprintf(detail, sizeof detail,
                 "no route has this endpoint any more; its parked delivery cannot be made");
    } else if (job->record.final_reason[0]) {
        reason = job->record.final_reason;
        snprintf(detail, sizeof detail, "%s answered %d: it says the resource is gone for good",
                 job->record_endpoint->display_url, job->record.last_status);
    } else if (job->failures >= cfg->nats.max_deliver) {
        reason = "max_deliveries_exceeded";
        snprintf(detail, sizeof detail, "%s: %s (still failing after %d attempts)",
                 job->record_endpoint->display_url, job->record.last_error, job->failures);
    } else if (clock_wall_us() - job->stored_wall_us > cfg->delivery.max_retry_age_ms * 1000) {
        reason = "endpoint_unavailable";
        snprintf(detail, sizeof detail, "%s: %s (not delivered within delivery.max_retry_age)",
                 job->record_endpoint->display_url,
                 job->record.last_error[0] ? job->record.last_error : "no call made");
    }
    if (reason) {
        lane->held_records--;
        job_dead_letter(d, job, lane, reason, detail);
        return;
    }
    job->body = event_with_attempt(data, (size_t)len, job->attempt, &job->body_len);
    if (!job->body) {
        lane->held_records--;
        natsMsg_NakWithDelay(msg, 1000, NULL);
        job_free(d, job);
        return;
    }
    int64_t now_wall = clock_wall_ms();
    if (delivered_count <= 1 && job->record.not_before_wall_ms > now_wall)
        job->due_ms = clock_mono_ms() + (job->record.not_before_wall_ms - now_wall);
    lane_push(d, &job->calls[0], false);
}

static void record_settle(struct delivery *d, struct job *job)
{
    struct lane *lane = job->calls[0].lane;
    struct endpoint_outcome *oc = &job->outcomes[0];
    lane->held_records--;
    if (oc->delivered) {
        natsMsg_Ack(job->msg, NULL);
        stats_inc(STAT_DELIVERED);
        log_outcome(d, job, "forwarded", false, NULL, NULL);
        job_free(d, job);
        return;
    }
    if (oc->park == PARK_GONE) {
        char detail[400];
        snprintf(detail, sizeof detail, "%s answered %d: it says the resource is gone for good",
                 lane->display_url, oc->status);
        job_dead_letter(d, job, lane, "endpoint_gone", detail);
        return;
    }
    int failures = job->failures + 1;
    int64_t delay = backoff_ms(job->cfg, failures);
    int64_t age_after_ms = (clock_wall_us() - job->stored_wall_us) / 1000 + delay;
    if (failures >= job->cfg->nats.max_deliver ||
        age_after_ms > job->cfg->delivery.max_retry_age_ms) {
        char detail[400];
        bool exhausted = failures >= job->cfg->nats.max_deliver;
        if (exhausted)
            snprintf(detail, sizeof detail, "%s: %s (still failing after %d attempts)",
                     lane->display_url, oc->error, failures);
        else
            snprintf(detail, sizeof detail, "%s: %s (not delivered within delivery.max_retry_age)",
                     lane->display_url, oc->error);
        log_outcome(d, job, "failed", false, NULL, oc->error);
        job->failures = failures;
        job_dead_letter(d, job, lane,
                        exhausted ? "max_deliveries_exceeded" : "endpoint_unavailable", detail);
        return;
    }
    natsMsg_NakWithDelay(job->msg, delay, NULL);
    stats_inc(STAT_RETRIED);
    log_outcome(d, job, "failed", true, NULL, oc->error);
    static struct log_ratelimit rl;
    int suppressed = 0;
    if (log_ratelimit_ok(&rl, 10, 10000, &suppressed))
        log_warn(SUBSYS,
                 "event %s (domain %s) attempt %d/%d to %s failed (%s); retry in %lld ms (%d "
                 "similar suppressed)",
                 job->info.event_id, job->info.domain, failures, job->cfg->nats.max_deliver,
                 lane->label, oc->error, (long long)delay, suppressed);
    job_free(d, job);
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
    if (pause >= 0) {
        /* The endpoint said when: no call before then, and this is not counted as a
         * failed attempt (nor by the breaker). */
        breaker_cancel(&lane->breaker);
        lane->paused_until_ms = now + (pause > 0 ? pause : 1);
        lane->last_status = status;
        snprintf(lane->last_error, sizeof lane->last_error, "HTTP %d, Retry-After %s", status,
                 retry_after);
        log_warn(SUBSYS, "endpoint %s (%s) asks to wait %lld ms (HTTP %d, Retry-After)",
                 lane->label, lane->domain, (long long)pause, status);
        if (job->kind == JOB_RECORD) {
            oc->called = false;
            lane_push(d, c, true); /* held, first in line */
            return;
        }
        oc->park = PARK_RETRY_AFTER;
        oc->not_before_wall_ms = clock_wall_ms() + pause;
    } else {
        lane_call_result(lane, oc->delivered, status, oc->error, now);
        if (status == 410)
            log_error(SUBSYS,
                      "endpoint %s (%s) answered 410 Gone: this event is dead-lettered for it "
                      "(endpoint_gone); remove the endpoint from the route if it is gone for "
                      "good",
                      lane->label, lane->domain);
    }
    job_calls_done(d, job);
}

/* Long waits (queues, slow endpoints, open breakers) must not make JetStream
 * redeliver meanwhile; an event waiting for park acks is covered too. */
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

/* At the stop deadline: calls not started are given back (JetStream redelivers them to
 * another instance); the jobs are dropped once nothing of theirs runs. */
static void give_back_queued(struct delivery *d)
{
    struct inbox_item it;
    while (inbox_pop(d, &it)) {
        if (it.kind == IN_PARKED) {
            on_parked_item(d, it.job, it.ok);
            continue;
        }
        natsMsg_Nak(it.msg, NULL);
        natsMsg_Destroy(it.msg);
    }
    while (d->ring) {
        struct lane *lane = d->ring;
        struct lane_call *c;
        while ((c = lane_pop(lane)) != NULL) {
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
                job->calls[0].lane->held_records--;
            natsMsg_Nak(job->msg, NULL);
            job_free(d, job);
        }
        job = next;
    }
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
            event_begin(d, it.msg);
            break;
        case IN_RECORD:
            record_begin(d, it.lane, it.msg);
            break;
        case IN_PARKED:
            on_parked_item(d, it.job, it.ok);
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
             * in JetStream); at the deadline, give the rest back. */
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
        shed_slow_lanes(d, now);
        int64_t wake = schedule(d);
        if (webhook_pool_perform(d->pool) > 0)
            wake = schedule(d); /* answers freed slots */
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
    d->bound_cfg = config_ref(cfg);
    d->max_concurrent = cfg->delivery.max_concurrent;
    atomic_init(&d->jobs, 0);
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
    lanes_stop(d->lanes);
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
    return atomic_load(&d->jobs);
}

struct lanes *delivery_lanes(const struct delivery *d)
{
    return d ? d->lanes : NULL;
}
