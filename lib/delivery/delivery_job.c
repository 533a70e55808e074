/*
 * delivery_job — a job's making and freeing, what it announces, its dead letter
 * (delivery_internal.h). Delivery thread.
 */
#include "delivery/delivery_internal.h"

#include "core/clock.h"
#include "config/config.h"
#include "delivery/dead_letter.h"
#include "delivery/delivered_memory.h"
#include "core/json_print.h"
#include "core/trace_context.h"
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

/* ---- jobs ---- */

struct job *delivery_job_new(struct delivery *d, enum job_kind kind, natsMsg *msg)
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

void delivery_job_free(struct delivery *d, struct job *job)
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

const struct endpoint *delivery_job_endpoint(const struct job *job, size_t i)
{
    return job->kind == JOB_EVENT ? &job->route->endpoints[i] : job->record_endpoint;
}

void delivery_job_trace(struct job *job)
{
    if (job->trace_read)
        return;
    job->trace_read = true;
    const char *parent = NULL, *state = NULL;
    if (natsMsgHeader_Get(job->msg, TRACE_PARENT_HEADER, &parent) != NATS_OK ||
        !trace_parent_valid(parent))
        return;
    job->traceparent = parent;
    if (natsMsgHeader_Get(job->msg, TRACE_STATE_HEADER, &state) == NATS_OK &&
        trace_state_valid(state))
        job->tracestate = state;
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
void delivery_log_outcome(struct delivery *d, const struct job *job, const char *type,
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
        const struct endpoint *ep = delivery_job_endpoint(job, i);
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

void delivery_job_dead_letter(struct delivery *d, struct job *job, struct lane *lane,
                              const char *reason, const char *detail)
{
    delivery_log_outcome(d, job, "dead_lettered", false, reason, detail);
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
        delivery_job_free(d, job);
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
    delivery_job_free(d, job);
}

uint64_t delivery_endpoint_id(const struct endpoint *ep)
{
    return delivered_memory_endpoint_id(ep->url, (const char *const *)ep->headers,
                                        ep->header_count);
}

struct settle_limits delivery_settle_limits(const struct config *cfg)
{
    return (struct settle_limits){.max_deliver = cfg->nats.max_deliver,
                                  .max_retry_age_ms = cfg->delivery.max_retry_age_ms,
                                  .backoff_ms = cfg->delivery.backoff_ms,
                                  .backoff_count = cfg->delivery.backoff_count};
}

int64_t delivery_backoff_ms(const struct config *cfg, int failures)
{
    struct settle_limits lim = delivery_settle_limits(cfg);
    return settle_backoff_ms(&lim, failures);
}
