/* ingress — see ingress.h. */
#include "sources/ingress.h"

#include "core/clock.h"
#include "config/config.h"
#include "core/event.h"
#include "core/outcome.h"
#include "http/http_server.h"
#include "core/log.h"
#include "nats/nats_link.h"
#include "nats/publisher.h"
#include "core/stats.h"
#include "core/json_print.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <nats/nats.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

struct ingress {
    const struct config *cfg;
    struct nats_link *link;
    struct publisher *pub;
    const struct outcomes *outcomes;
    _Atomic bool accepting;
};

/* What the ack callback needs to answer one request. */
struct pending_event {
    struct ingress *ing;
    struct http_request *req;
    char event_id[EVENT_ID_MAX + 1];
    char domain[EVENT_DOMAIN_MAX + 1];
    char *stored; /* kept for the outcome sinks (NULL when none listens) */
    size_t stored_len;
    int64_t started_us; /* request handled: the ingress latency runs to the ack */
};

static struct ingress *ingress_new(const struct config *cfg, struct nats_link *link,
                                   struct publisher *pub, const struct outcomes *outcomes)
{
    struct ingress *ing = calloc(1, sizeof *ing);
    if (!ing)
        return NULL;
    ing->cfg = cfg;
    ing->link = link;
    ing->pub = pub;
    ing->outcomes = outcomes;
    atomic_init(&ing->accepting, false); /* until started */
    return ing;
}

static void ingress_free(void *impl)
{
    free(impl);
}

static bool ingress_start(void *impl)
{
    struct ingress *ing = impl;
    atomic_store(&ing->accepting, true);
    return true;
}

/* Events already submitted are answered by their ack callbacks (app waits for the
 * publisher to drain), so there is nothing to flush here. */
static void ingress_stop(void *impl, int64_t timeout_ms)
{
    (void)timeout_ms;
    struct ingress *ing = impl;
    atomic_store(&ing->accepting, false);
}

static cJSON *ingress_stats_json(void *impl)
{
    struct ingress *ing = impl;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "name", "http");
    /* State only: /health is public, and the traffic figures are in /api/v1/stats'
     * totals and /metrics, behind the read rule. */
    cJSON_AddStringToObject(o, "state", ingress_accepting(ing) ? "accepting" : "stopped");
    return o;
}

static bool ingress_create(const struct source_env *env, struct source_set *set)
{
    struct ingress *ing = ingress_new(env->cfg, env->link, env->pub, env->outcomes);
    return ing && source_set_add(set, (struct source){&ingress_source_class, ing, "http"});
}

const struct source_class ingress_source_class = {
    .kind = "http",
    .json_key = "ingress",
    .metric_label = "source",
    .create = ingress_create,
    .start = ingress_start,
    .stop = ingress_stop,
    .free = ingress_free,
    .stats_json = ingress_stats_json,
};

bool ingress_accepting(const struct ingress *ing)
{
    return atomic_load(&ing->accepting);
}

/* application/json, optionally followed by parameters (; charset=utf-8). */
static bool is_json_content_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    char next = ct[sizeof want - 1];
    return next == '\0' || next == ';' || next == ' ';
}

/* A 4xx answer: the total and the by-status counter (GET /metrics). */
static void count_rejected(enum stat_counter by_status)
{
    stats_inc(STAT_REJECTED);
    stats_inc(by_status);
}

static void unavailable(struct http_request *req, const char *error, const char *detail)
{
    stats_inc(STAT_UNAVAILABLE);
    http_respond_error(req, 503, error, detail);
}

static void on_published(void *closure, const struct publish_result *res)
{
    struct pending_event *pe = closure;
    if (res->outcome == PUBLISH_OK) {
        char body[320];
        stats_inc(res->duplicate ? STAT_DUPLICATES : STAT_PUBLISHED);
        snprintf(body, sizeof body, "{\"event_id\":\"%s\",\"stream_seq\":%llu,\"duplicate\":%s}",
                 pe->event_id, (unsigned long long)res->stream_seq,
                 res->duplicate ? "true" : "false");
        http_request_complete(pe->req, 202, body);
        struct outcome_received r = {
            .domain = pe->domain,
            .event_id = pe->event_id,
            .stream_seq = res->stream_seq,
            .duplicate = res->duplicate,
            .source = ingress_source_class.kind,
            .event = pe->stored,
            .event_len = pe->stored_len,
            .latency_us = clock_mono_us() - pe->started_us,
        };
        outcomes_received(pe->ing->outcomes, &r);
        free(pe->stored);
        free(pe);
        return;
    }

    static const char *const errors[] = {
        [PUBLISH_TIMEOUT] = "publish_timeout",
        [PUBLISH_REJECTED] = "publish_rejected",
        [PUBLISH_UNAVAILABLE] = "nats_unavailable",
    };
    stats_inc(STAT_PUBLISH_ERRORS);
    stats_inc(STAT_UNAVAILABLE);
    char detail[240];
    if (res->outcome == PUBLISH_TIMEOUT)
        /* The event may still have been stored: the sender must retry with this
         * event_id so JetStream's duplicate window keeps it single. */
        snprintf(detail, sizeof detail,
                 "JetStream did not confirm the event in time (%s); it may or may not be "
                 "stored: retry with the same event_id",
                 res->error ? res->error : "timeout");
    else
        snprintf(detail, sizeof detail, "JetStream did not store the event: %s",
                 res->error ? res->error : "unknown error");
    static struct log_ratelimit rl;
    int suppressed = 0;
    if (log_ratelimit_ok(&rl, 5, 10000, &suppressed))
        log_warn("ingress", "event %s refused with 503: %s (%d similar suppressed)", pe->event_id,
                 detail, suppressed);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", errors[res->outcome]);
    cJSON_AddStringToObject(o, "detail", detail);
    cJSON_AddStringToObject(o, "event_id", pe->event_id);
    char *text = json_print(o);
    cJSON_Delete(o);
    http_request_complete(pe->req, 503, text ? text : "{\"error\":\"publish_failed\"}");
    free(text);
    free(pe->stored);
    free(pe);
}

void ingress_handle(void *ctx, struct http_request *req)
{
    struct ingress *ing = ctx;

    if (!atomic_load(&ing->accepting)) {
        unavailable(req, "shutting_down", "eventhub is shutting down; retry on another instance");
        return;
    }
    if (!is_json_content_type(http_request_header(req, "Content-Type"))) {
        count_rejected(STAT_REJECTED_415);
        http_respond_error(req, 415, "unsupported_media_type",
                           "Content-Type must be application/json");
        return;
    }

    size_t len;
    const char *body = http_request_body(req, &len);
    stats_inc(STAT_RECEIVED);

    struct event_info info;
    char *stored = NULL;
    size_t stored_len = 0;
    enum event_status st =
        event_prepare_keyed(body, len, clock_wall_ms(), http_request_header(req, "Idempotency-Key"),
                            &info, &stored, &stored_len);
    if (st == EVENT_ERR_NOMEM) {
        unavailable(req, "out_of_memory", "try again later");
        return;
    }
    if (st != EVENT_OK) {
        count_rejected(STAT_REJECTED_400);
        log_debug("ingress", "rejected event: %s", info.detail);
        http_respond_error(req, 400, event_status_name(st), info.detail);
        return;
    }

    char subject[EVENT_SUBJECT_MAX];
    if (!event_subject(ing->cfg->nats.subject_pattern, info.domain, subject, sizeof subject)) {
        free(stored);
        count_rejected(STAT_REJECTED_400);
        http_respond_error(req, 400, "invalid_domain", "the domain cannot form a subject");
        return;
    }
    if (!nats_link_ready(ing->link)) {
        free(stored);
        char detail[128];
        snprintf(detail, sizeof detail, "NATS is %s; the event was not stored",
                 nats_link_state(ing->link));
        unavailable(req, "nats_unavailable", detail);
        return;
    }

    /* JetStream refuses messages over the server's max payload; that is the sender's
     * problem (413), not an outage (503) to retry for ever. */
    int64_t max_payload = natsConnection_GetMaxPayload(nats_link_conn(ing->link));
    if (max_payload > 0 && (int64_t)stored_len + EVENT_ID_MAX + 64 > max_payload) {
        free(stored);
        count_rejected(STAT_REJECTED_413);
        char detail[160];
        snprintf(detail, sizeof detail,
                 "the event is larger than the NATS server's max payload (%lld bytes)",
                 (long long)max_payload);
        http_respond_error(req, 413, "payload_too_large", detail);
        return;
    }

    struct pending_event *pe = malloc(sizeof *pe);
    if (!pe) {
        free(stored);
        unavailable(req, "out_of_memory", "try again later");
        return;
    }
    pe->ing = ing;
    pe->req = req;
    snprintf(pe->event_id, sizeof pe->event_id, "%s", info.event_id);
    snprintf(pe->domain, sizeof pe->domain, "%s", info.domain);
    /* With outcome sinks, the pending event owns the stored bytes (the ack callback
     * hands them on and frees them); otherwise they are freed once given to nats.c. */
    bool keep = outcomes_active(ing->outcomes);
    pe->started_us = clock_mono_us();
    pe->stored = keep ? stored : NULL;
    pe->stored_len = keep ? stored_len : 0;

    /* Suspend first: the ack may arrive before publisher_submit returns (and free pe). */
    http_request_suspend(req);
    int rc = publisher_submit(ing->pub, subject, info.event_id, NULL, stored, stored_len,
                              on_published, pe);
    if (!keep)
        free(stored);
    if (rc != 0) {
        int status = 503;
        const char *error = "nats_unavailable";
        const char *detail = "the event could not be handed to JetStream";
        if (rc == -EAGAIN) {
            error = "overloaded";
            detail = "too many events waiting for JetStream; retry shortly";
        } else if (rc == -ESHUTDOWN) {
            error = "shutting_down";
            detail = "eventhub is shutting down; retry on another instance";
        } else if (rc == -EMSGSIZE) {
            status = 413;
            error = "payload_too_large";
            detail = "the event is larger than the NATS server's max payload";
        }
        if (status == 503)
            stats_inc(STAT_UNAVAILABLE);
        else
            count_rejected(STAT_REJECTED_413);
        free(pe->stored);
        free(pe);
        http_request_complete_error(req, status, error, detail);
    }
}
