/* ingress — see ingress.h. */
#include "sources/ingress.h"

#include "core/trace_context.h"
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
#include "sources/ingress_keys.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <nats/nats.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ingress {
    const struct config *cfg;
    struct nats_link *link;
    struct publisher *pub;
    const struct outcomes *outcomes;
    struct ingress_keys *keys; /* ingress.api_keys in force and their counters */
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
    int64_t started_us;           /* request handled: the ingress latency runs to the ack */
    struct ingress_caller caller; /* its API key (released: name and counter only) */
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
    ing->keys = ingress_keys_new(cfg);
    if (!ing->keys) {
        free(ing);
        return NULL;
    }
    return ing;
}

static void ingress_free(void *impl)
{
    struct ingress *ing = impl;
    if (ing)
        ingress_keys_free(ing->keys);
    free(ing);
}

static void ingress_reconfigure(void *impl, struct config *fresh)
{
    struct ingress *ing = impl;
    ingress_keys_reconfigure(ing->keys, fresh);
}

static void ingress_render_metrics(void *impl, FILE *out)
{
    struct ingress *ing = impl;
    ingress_keys_render(ing->keys, out);
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
    .render_metrics = ingress_render_metrics,
    .reconfigure = ingress_reconfigure,
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
        ingress_keys_count(pe->ing->keys, &pe->caller, KEY_ACCEPTED);
        struct outcome_received r = {
            .domain = pe->domain,
            .event_id = pe->event_id,
            .api_key = pe->caller.name[0] ? pe->caller.name : NULL,
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
    ingress_keys_count(pe->ing->keys, &pe->caller, KEY_REFUSED);
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

/* 401: no key, or one that is not configured (never saying which keys exist). */
static void unauthorized(struct http_request *req, enum ingress_auth auth)
{
    bool missing = auth == INGRESS_AUTH_MISSING;
    count_rejected(STAT_REJECTED_401);
    static struct log_ratelimit rl;
    int suppressed = 0;
    if (log_ratelimit_ok(&rl, 5, 10000, &suppressed))
        log_info("ingress", "POST /events refused with 401: %s (%d similar suppressed)",
                 missing ? "no API key" : "not a configured API key", suppressed);
    http_request_add_header(req, "WWW-Authenticate",
                            missing ? "Bearer realm=\"eventhub\""
                                    : "Bearer realm=\"eventhub\", error=\"invalid_token\"");
    http_respond_error(req, 401, "unauthorized",
                       missing ? "POST /events requires an API key: send "
                                 "\"Authorization: Bearer <key>\""
                               : "the API key is not valid (unknown, revoked or mistyped)");
}

bool ingress_gate(void *ctx, struct http_request *req)
{
    struct ingress *ing = ctx;
    struct ingress_caller caller;
    enum ingress_auth auth =
        ingress_keys_check(ing->keys, http_request_header(req, "Authorization"), &caller);
    ingress_caller_release(&caller);
    if (auth == INGRESS_AUTH_MISSING || auth == INGRESS_AUTH_UNKNOWN) {
        unauthorized(req, auth);
        return false;
    }
    return true;
}

static void forbidden_domain(struct http_request *req, const struct ingress_caller *caller,
                             const char *domain)
{
    count_rejected(STAT_REJECTED_403);
    char detail[API_KEY_NAME_MAX + EVENT_DOMAIN_MAX + 64]; /* the whole domain: no cut
                                                              inside a UTF-8 sequence */
    snprintf(detail, sizeof detail, "the API key \"%s\" may not post events for domain \"%s\"",
             caller->name, domain);
    static struct log_ratelimit rl;
    int suppressed = 0;
    if (log_ratelimit_ok(&rl, 5, 10000, &suppressed))
        log_warn("ingress", "POST /events refused with 403: %s (%d similar suppressed)", detail,
                 suppressed);
    http_respond_error(req, 403, "forbidden_domain", detail);
}

/* The Nats-Msg-Id of an event: "<event_id> <domain, lower-cased>". JetStream's
 * duplicate window is stream-wide, so the domain is part of it: one tenant's event_id
 * never stands for (and so never silently drops, or reveals) another tenant's event
 * with the same id. An event_id has no space, so the first one splits it
 * unambiguously. */
#define MSG_ID_MAX (EVENT_ID_MAX + 1 + EVENT_DOMAIN_MAX)

static void event_msg_id(const struct event_info *info, char out[MSG_ID_MAX + 1])
{
    size_t n = (size_t)snprintf(out, MSG_ID_MAX + 1, "%s ", info->event_id);
    for (const char *d = info->domain; *d && n < MSG_ID_MAX; d++)
        out[n++] = (char)(*d >= 'A' && *d <= 'Z' ? *d - 'A' + 'a' : *d);
    out[n] = '\0';
}

/* Hands the stored bytes to JetStream, with the caller's key name and the request's
 * trace context (W3C traceparent / tracestate, when valid) as headers. */
static int submit(struct ingress *ing, struct http_request *req, const char *subject,
                  const char *msg_id, const char *stored, size_t stored_len,
                  struct pending_event *pe)
{
    const char *parent = http_request_header(req, TRACE_PARENT_HEADER);
    if (!trace_parent_valid(parent))
        parent = NULL; /* ignored, with its tracestate, as the specification asks */
    const char *state = parent ? http_request_header(req, TRACE_STATE_HEADER) : NULL;
    if (!trace_state_valid(state))
        state = NULL;
    if (!pe->caller.name[0] && !parent)
        return publisher_submit(ing->pub, subject, msg_id, NULL, stored, stored_len, on_published,
                                pe);
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, subject, NULL, stored, (int)stored_len);
    if (s == NATS_OK && pe->caller.name[0])
        s = natsMsgHeader_Set(msg, INGRESS_API_KEY_HEADER, pe->caller.name);
    if (s == NATS_OK && parent)
        s = natsMsgHeader_Set(msg, TRACE_PARENT_HEADER, parent);
    if (s == NATS_OK && state)
        s = natsMsgHeader_Set(msg, TRACE_STATE_HEADER, state);
    if (s != NATS_OK) {
        natsMsg_Destroy(msg);
        return -ENOMEM;
    }
    return publisher_submit_msg(ing->pub, msg, msg_id, on_published, pe);
}

/* What became of a request once its key is known. */
enum handled { HANDED_ON, REFUSED_FORBIDDEN, REFUSED_OTHER };

static enum handled handle_event(struct ingress *ing, struct http_request *req,
                                 struct ingress_caller *caller)
{
    if (!is_json_content_type(http_request_header(req, "Content-Type"))) {
        count_rejected(STAT_REJECTED_415);
        http_respond_error(req, 415, "unsupported_media_type",
                           "Content-Type must be application/json");
        return REFUSED_OTHER;
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
        return REFUSED_OTHER;
    }
    if (st != EVENT_OK) {
        count_rejected(STAT_REJECTED_400);
        log_debug("ingress", "rejected event: %s", info.detail);
        http_respond_error(req, 400, event_status_name(st), info.detail);
        return REFUSED_OTHER;
    }
    if (!ingress_caller_allows(caller, info.domain)) {
        free(stored);
        forbidden_domain(req, caller, info.domain);
        return REFUSED_FORBIDDEN;
    }

    char subject[EVENT_SUBJECT_MAX];
    if (!event_subject(ing->cfg->nats.subject_pattern, info.domain, subject, sizeof subject)) {
        free(stored);
        count_rejected(STAT_REJECTED_400);
        http_respond_error(req, 400, "invalid_domain", "the domain cannot form a subject");
        return REFUSED_OTHER;
    }
    if (!nats_link_ready(ing->link)) {
        free(stored);
        char detail[128];
        snprintf(detail, sizeof detail, "NATS is %s; the event was not stored",
                 nats_link_state(ing->link));
        unavailable(req, "nats_unavailable", detail);
        return REFUSED_OTHER;
    }

    /* JetStream refuses messages over the server's max payload; that is the sender's
     * problem (413), not an outage (503) to retry for ever. */
    char msg_id[MSG_ID_MAX + 1];
    event_msg_id(&info, msg_id);
    /* The headers count too: Nats-Msg-Id, Eventhub-Api-Key, the framing. */
    size_t header_bytes = strlen(msg_id) + strlen(caller->name) + 96;
    int64_t max_payload = natsConnection_GetMaxPayload(nats_link_conn(ing->link));
    if (max_payload > 0 && (int64_t)(stored_len + header_bytes) > max_payload) {
        free(stored);
        count_rejected(STAT_REJECTED_413);
        char detail[160];
        snprintf(detail, sizeof detail,
                 "the event is larger than the NATS server's max payload (%lld bytes)",
                 (long long)max_payload);
        http_respond_error(req, 413, "payload_too_large", detail);
        return REFUSED_OTHER;
    }

    struct pending_event *pe = malloc(sizeof *pe);
    if (!pe) {
        free(stored);
        unavailable(req, "out_of_memory", "try again later");
        return REFUSED_OTHER;
    }
    pe->ing = ing;
    pe->req = req;
    snprintf(pe->event_id, sizeof pe->event_id, "%s", info.event_id);
    snprintf(pe->domain, sizeof pe->domain, "%s", info.domain);
    pe->caller = *caller;
    pe->caller.key = NULL; /* the callback needs only the name and the counter */
    pe->caller.ring = NULL;
    /* With outcome sinks, the pending event owns the stored bytes (the ack callback
     * hands them on and frees them); otherwise they are freed once given to nats.c. */
    bool keep = outcomes_active(ing->outcomes);
    pe->started_us = clock_mono_us();
    pe->stored = keep ? stored : NULL;
    pe->stored_len = keep ? stored_len : 0;

    /* Suspend first: the ack may arrive before submit returns (and free pe). */
    http_request_suspend(req);
    int rc = submit(ing, req, subject, msg_id, stored, stored_len, pe);
    if (!keep)
        free(stored);
    if (rc == 0)
        return HANDED_ON; /* on_published answers and counts */
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
    return REFUSED_OTHER;
}

void ingress_handle(void *ctx, struct http_request *req)
{
    struct ingress *ing = ctx;

    if (!atomic_load(&ing->accepting)) {
        unavailable(req, "shutting_down", "eventhub is shutting down; retry on another instance");
        return;
    }
    /* Checked again (the gate did before the body): a reload may have revoked the key
     * while the body was on its way. */
    struct ingress_caller caller;
    enum ingress_auth auth =
        ingress_keys_check(ing->keys, http_request_header(req, "Authorization"), &caller);
    if (auth == INGRESS_AUTH_MISSING || auth == INGRESS_AUTH_UNKNOWN) {
        unauthorized(req, auth);
        return;
    }
    enum handled h = handle_event(ing, req, &caller);
    ingress_caller_release(&caller);
    if (h == REFUSED_FORBIDDEN)
        ingress_keys_count(ing->keys, &caller, KEY_FORBIDDEN);
    else if (h == REFUSED_OTHER)
        ingress_keys_count(ing->keys, &caller, KEY_REFUSED);
}
