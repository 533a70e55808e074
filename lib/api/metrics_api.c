/*
 * metrics_api — see metrics_api.h.
 *
 * The handlers run on the HTTP thread and only submit a job; the jobs (worker thread)
 * read the consumer info, build the answer in memory and complete the request. The
 * job's data is the struct metrics_api itself (nothing to allocate or free).
 */
#include "api/metrics_api.h"

#include "http/api_worker.h"
#include "core/clock.h"
#include "config/config.h"
#include "delivery/delivery.h"
#include "sources/source.h"
#include "eventhub_version.h"
#include "http/http_server.h"
#include "delivery/lane_report.h"
#include "sinks/metrics.h"
#include "core/metrics_text.h"
#include "nats/nats_link.h"
#include "nats/publisher.h"
#include "core/stats.h"

#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONSUMER_INFO_WAIT_MS 1000

struct metrics_api {
    struct metrics_api_deps deps;
    int64_t started_ms;
};

struct consumer_figures {
    bool known;
    uint64_t num_pending;    /* stored, not yet delivered to eventhub */
    int64_t num_ack_pending; /* delivered, not yet acknowledged */
    int64_t num_redelivered;
};

/* What the HTTP server refused before routing (http_policy) and the slow connections it
 * shut down (http_deadline): GET /metrics families with a label, "http" in /api/stats. */
static const struct {
    const char *label;
    enum stat_counter counter;
} http_refused[] = {{"framing", STAT_HTTP_REFUSED_FRAMING},
                    {"head_too_large", STAT_HTTP_REFUSED_HEAD_SIZE},
                    {"host", STAT_HTTP_REFUSED_HOST},
                    {"cross_origin", STAT_HTTP_REFUSED_CROSS_ORIGIN},
                    {"media_type", STAT_HTTP_REFUSED_MEDIA_TYPE}},
  http_slow[] = {{"head", STAT_HTTP_SLOW_HEAD}, {"body", STAT_HTTP_SLOW_BODY}};

/* Process-wide counters exported one sample each. The by-status rejections and the
 * endpoint calls are families of their own (below). */
static const struct {
    enum stat_counter counter;
    const char *name;
    const char *help;
} plain_stats[] = {
    {STAT_RECEIVED, "eventhub_ingress_requests_total",
     "POST /events requests whose body was read (valid or not)."},
    {STAT_PUBLISHED, "eventhub_ingress_published_total",
     "POST /events events JetStream stored (new)."},
    {STAT_DUPLICATES, "eventhub_ingress_duplicates_total",
     "POST /events events JetStream recognised as duplicates (event_id seen)."},
    {STAT_PUBLISH_ERRORS, "eventhub_ingress_publish_errors_total",
     "POST /events publishes that failed or timed out (answered 503)."},
    {STAT_HTTP_BODY_TOO_LARGE, "eventhub_http_body_too_large_total",
     "Requests refused with 413 before their handler: body over the route's ceiling "
     "(server.max_body_bytes for POST /events)."},
    {STAT_DELIVERED, "eventhub_delivery_acked_total",
     "Messages acknowledged to JetStream: every endpoint answered 2xx."},
    {STAT_RETRIED, "eventhub_delivery_retries_total",
     "Messages handed back to JetStream (nak with backoff) for another attempt."},
    {STAT_FILTERED, "eventhub_delivery_filtered_total",
     "Messages acknowledged without delivery: their route does not want this kind."},
    {STAT_DEAD_LETTERED, "eventhub_dead_letters_stored_total",
     "Dead-letter records stored in the dead-letter stream."},
    {STAT_DEAD_LETTER_ERRORS, "eventhub_dead_letter_errors_total",
     "Dead-letter publishes that failed (retried)."},
    {STAT_REPLAYED, "eventhub_dead_letters_replayed_total",
     "Dead letters republished to the event stream."},
    {STAT_PARKED, "eventhub_delivery_parked_total",
     "Endpoint deliveries parked in the retry stream (failed, or the endpoint was behind)."},
    {STAT_NATS_RECONNECTS, "eventhub_nats_reconnects_total",
     "Reconnections of the NATS connection."},
};

struct metrics_api *metrics_api_new(const struct metrics_api_deps *deps)
{
    struct metrics_api *api = calloc(1, sizeof *api);
    if (!api)
        return NULL;
    api->deps = *deps;
    api->started_ms = clock_mono_ms();
    return api;
}

void metrics_api_free(struct metrics_api *api)
{
    free(api);
}

/* Worker thread: one JetStream request, bounded by CONSUMER_INFO_WAIT_MS. */
static void read_consumer(const struct metrics_api *api, struct consumer_figures *out)
{
    memset(out, 0, sizeof *out);
    if (!nats_link_ready(api->deps.link))
        return;
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = CONSUMER_INFO_WAIT_MS;
    jsConsumerInfo *ci = NULL;
    jsErrCode err = 0;
    if (js_GetConsumerInfo(&ci, nats_link_js(api->deps.link), api->deps.cfg->nats.stream_name,
                           api->deps.cfg->nats.consumer_name, &o, &err) == NATS_OK &&
        ci) {
        out->known = true;
        out->num_pending = ci->NumPending;
        out->num_ack_pending = ci->NumAckPending;
        out->num_redelivered = ci->NumRedelivered;
    }
    jsConsumerInfo_Destroy(ci);
}

static int64_t uptime_s(const struct metrics_api *api)
{
    return (clock_mono_ms() - api->started_ms) / 1000;
}

static void gauge(FILE *f, const char *name, const char *help, int64_t value)
{
    metrics_text_family(f, name, "gauge", help);
    metrics_text_sample_signed(f, name, NULL, 0, value);
}

static void render_stats(FILE *f)
{
    for (size_t i = 0; i < sizeof plain_stats / sizeof plain_stats[0]; i++) {
        metrics_text_family(f, plain_stats[i].name, "counter", plain_stats[i].help);
        metrics_text_sample(f, plain_stats[i].name, NULL, 0, stats_get(plain_stats[i].counter));
    }
    const char *name = "eventhub_ingress_rejected_total";
    metrics_text_family(f, name, "counter",
                        "POST /events answered with an error, by status: 400 invalid event, "
                        "401 no or unknown API key, 403 domain outside the key's scope, 413 over "
                        "the NATS max payload, 415 not JSON, 503 not stored.");
    static const struct {
        const char *status;
        enum stat_counter counter;
    } by_status[] = {{"400", STAT_REJECTED_400}, {"401", STAT_REJECTED_401},
                     {"403", STAT_REJECTED_403}, {"413", STAT_REJECTED_413},
                     {"415", STAT_REJECTED_415}, {"503", STAT_UNAVAILABLE}};
    for (size_t i = 0; i < sizeof by_status / sizeof by_status[0]; i++) {
        struct metrics_label l = {"status", by_status[i].status};
        metrics_text_sample(f, name, &l, 1, stats_get(by_status[i].counter));
    }
    name = "eventhub_endpoint_calls_total";
    metrics_text_family(f, name, "counter", "Webhook calls of every endpoint, by outcome.");
    struct metrics_label l = {"outcome", "ok"};
    metrics_text_sample(f, name, &l, 1, stats_get(STAT_ENDPOINT_OK));
    l.value = "failed";
    metrics_text_sample(f, name, &l, 1, stats_get(STAT_ENDPOINT_FAILED));

    name = "eventhub_http_refused_total";
    metrics_text_family(f, name, "counter",
                        "Requests refused before routing, by reason: framing (400/501: Host, "
                        "Content-Length, Transfer-Encoding), head_too_large (414/431), host "
                        "(421, not in server.allowed_hosts), cross_origin (403), media_type "
                        "(415, a control-plane change not sent as JSON).");
    for (size_t i = 0; i < sizeof http_refused / sizeof http_refused[0]; i++) {
        struct metrics_label r = {"reason", http_refused[i].label};
        metrics_text_sample(f, name, &r, 1, stats_get(http_refused[i].counter));
    }
    name = "eventhub_http_slow_requests_closed_total";
    metrics_text_family(f, name, "counter",
                        "Connections shut down because the request head or body did not "
                        "arrive in time (server.request_head_timeout, request_body_timeout).");
    for (size_t i = 0; i < sizeof http_slow / sizeof http_slow[0]; i++) {
        struct metrics_label r = {"phase", http_slow[i].label};
        metrics_text_sample(f, name, &r, 1, stats_get(http_slow[i].counter));
    }
}

/* /api/stats "http": {"refused": {reason: n}, "slow_closed": {phase: n}}. */
static void add_http(cJSON *o)
{
    cJSON *h = cJSON_AddObjectToObject(o, "http");
    cJSON *refused = h ? cJSON_AddObjectToObject(h, "refused") : NULL;
    for (size_t i = 0; refused && i < sizeof http_refused / sizeof http_refused[0]; i++)
        cJSON_AddNumberToObject(refused, http_refused[i].label,
                                (double)stats_get(http_refused[i].counter));
    cJSON *slow = h ? cJSON_AddObjectToObject(h, "slow_closed") : NULL;
    for (size_t i = 0; slow && i < sizeof http_slow / sizeof http_slow[0]; i++)
        cJSON_AddNumberToObject(slow, http_slow[i].label, (double)stats_get(http_slow[i].counter));
}

static void render_process(const struct metrics_api *api, FILE *f, const struct consumer_figures *c)
{
    metrics_text_family(f, "eventhub_build_info", "gauge", "Always 1; the version as a label.");
    struct metrics_label v = {"version", EVENTHUB_VERSION};
    metrics_text_sample(f, "eventhub_build_info", &v, 1, 1);
    gauge(f, "eventhub_uptime_seconds", "Seconds since eventhub started.", uptime_s(api));
    gauge(f, "eventhub_publishes_inflight", "Publishes waiting for JetStream's acknowledgement.",
          publisher_inflight(api->deps.pub));
    gauge(f, "eventhub_deliveries_inflight", "Events being delivered (queued or calling).",
          delivery_inflight(api->deps.delivery));
    gauge(f, "eventhub_nats_connected", "1 when the NATS connection is up.",
          nats_link_connected(api->deps.link));
    gauge(f, "eventhub_nats_ready",
          "1 when NATS is connected and JetStream is set up (events are accepted).",
          nats_link_ready(api->deps.link));
    if (c->known) {
        gauge(f, "eventhub_consumer_pending",
              "Messages of the durable consumer not yet settled: num_pending + num_ack_pending.",
              (int64_t)c->num_pending + c->num_ack_pending);
        gauge(f, "eventhub_consumer_num_pending", "Stored messages not yet delivered to eventhub.",
              (int64_t)c->num_pending);
        gauge(f, "eventhub_consumer_num_ack_pending",
              "Messages delivered to eventhub and not yet acknowledged.", c->num_ack_pending);
    }
    render_stats(f);
    source_set_render_metrics(api->deps.sources, f);
    lane_report_metrics(delivery_lanes(api->deps.delivery), f);
}

static void run_metrics(void *job, struct http_request *req)
{
    const struct metrics_api *api = job;
    if (!req)
        return; /* queue full: already answered 503 */
    struct consumer_figures c;
    read_consumer(api, &c);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        http_request_complete_error(req, 503, "out_of_memory", "try again later");
        return;
    }
    metrics_render(api->deps.metrics, f);
    render_process(api, f, &c);
    bool ok = !ferror(f);
    fclose(f); /* sets text and len */
    if (ok && text)
        http_request_complete_body(req, 200, METRICS_CONTENT_TYPE, text, len);
    else
        http_request_complete_error(req, 503, "out_of_memory", "try again later");
    free(text);
}

void metrics_api_handle_metrics(void *ctx, struct http_request *req)
{
    struct metrics_api *api = ctx;
    api_worker_submit(api->deps.worker, API_LANE_LIGHT, req, run_metrics, api);
}

/* ------------------------------------------------------------------ /api/stats */

struct domain_sums {
    cJSON *domains;
    uint64_t failed;
    uint64_t dead_lettered;
    const char *const *source_names;
    size_t source_count; /* with "other", the last one */
    uint64_t received[METRICS_MAX_SOURCES];
};

/* "received_<kind>" for a source kind. */
static void add_received(cJSON *o, const char *kind, uint64_t value)
{
    char key[64];
    snprintf(key, sizeof key, "received_%s", kind);
    cJSON_AddNumberToObject(o, key, (double)value);
}

static void add_domain(void *ctx, const struct metrics_domain_counts *c)
{
    struct domain_sums *sums = ctx;
    cJSON *o = cJSON_AddObjectToObject(sums->domains, c->domain);
    cJSON_AddBoolToObject(o, "routed", c->routed);
    uint64_t received = 0;
    for (size_t i = 0; i < c->source_count; i++)
        received += c->received[i];
    cJSON_AddNumberToObject(o, "received", (double)received);
    for (size_t i = 0; i + 1 < c->source_count; i++) /* not "other" */
        add_received(o, c->source_names[i], c->received[i]);
    cJSON_AddNumberToObject(o, "delivered", (double)c->delivered);
    cJSON_AddNumberToObject(o, "failed", (double)c->failed);
    cJSON_AddNumberToObject(o, "retried", (double)c->retried);
    cJSON_AddNumberToObject(o, "dead_lettered", (double)c->dead_lettered);
    sums->failed += c->failed;
    sums->dead_lettered += c->dead_lettered;
    sums->source_names = c->source_names;
    sums->source_count = c->source_count;
    for (size_t i = 0; i < c->source_count; i++)
        sums->received[i] += c->received[i];
}

static void add_totals(cJSON *o, const struct domain_sums *sums)
{
    cJSON *t = cJSON_AddObjectToObject(o, "totals");
    /* "received": POST /events requests parsed (before storing); received_<kind>:
     * events stored, by source kind. */
    cJSON_AddNumberToObject(t, "received", (double)stats_get(STAT_RECEIVED));
    for (size_t i = 0; i + 1 < sums->source_count; i++)
        add_received(t, sums->source_names[i], sums->received[i]);
    cJSON_AddNumberToObject(t, "published", (double)stats_get(STAT_PUBLISHED));
    cJSON_AddNumberToObject(t, "duplicates", (double)stats_get(STAT_DUPLICATES));
    cJSON_AddNumberToObject(t, "rejected", (double)stats_get(STAT_REJECTED));
    cJSON_AddNumberToObject(t, "unavailable", (double)stats_get(STAT_UNAVAILABLE));
    cJSON_AddNumberToObject(t, "delivered", (double)stats_get(STAT_DELIVERED));
    cJSON_AddNumberToObject(t, "failed", (double)sums->failed);
    cJSON_AddNumberToObject(t, "retried", (double)stats_get(STAT_RETRIED));
    cJSON_AddNumberToObject(t, "parked", (double)stats_get(STAT_PARKED));
    cJSON_AddNumberToObject(t, "dead_lettered", (double)sums->dead_lettered);
    cJSON_AddNumberToObject(t, "filtered", (double)stats_get(STAT_FILTERED));
    cJSON_AddNumberToObject(t, "endpoint_ok", (double)stats_get(STAT_ENDPOINT_OK));
    cJSON_AddNumberToObject(t, "endpoint_failed", (double)stats_get(STAT_ENDPOINT_FAILED));
}

static void add_nats(const struct metrics_api *api, cJSON *o, const struct consumer_figures *c)
{
    char server[256];
    nats_link_server(api->deps.link, server, sizeof server);
    cJSON *n = cJSON_AddObjectToObject(o, "nats");
    cJSON_AddBoolToObject(n, "connected", nats_link_connected(api->deps.link));
    cJSON_AddBoolToObject(n, "ready", nats_link_ready(api->deps.link));
    cJSON_AddStringToObject(n, "state", nats_link_state(api->deps.link));
    cJSON_AddStringToObject(n, "server", server);
    cJSON_AddNumberToObject(n, "reconnects", (double)stats_get(STAT_NATS_RECONNECTS));
    if (!c->known) {
        cJSON_AddNullToObject(o, "consumer");
        return;
    }
    cJSON *k = cJSON_AddObjectToObject(o, "consumer");
    cJSON_AddStringToObject(k, "stream", api->deps.cfg->nats.stream_name);
    cJSON_AddStringToObject(k, "name", api->deps.cfg->nats.consumer_name);
    cJSON_AddNumberToObject(k, "pending", (double)c->num_pending + (double)c->num_ack_pending);
    cJSON_AddNumberToObject(k, "num_pending", (double)c->num_pending);
    cJSON_AddNumberToObject(k, "num_ack_pending", (double)c->num_ack_pending);
    cJSON_AddNumberToObject(k, "num_redelivered", (double)c->num_redelivered);
}

static void run_stats(void *job, struct http_request *req)
{
    const struct metrics_api *api = job;
    if (!req)
        return;
    struct consumer_figures c;
    read_consumer(api, &c);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "version", EVENTHUB_VERSION);
    cJSON_AddNumberToObject(o, "uptime_seconds", (double)uptime_s(api));
    struct domain_sums sums = {.domains = cJSON_CreateObject()};
    metrics_each_domain(api->deps.metrics, add_domain, &sums);
    add_totals(o, &sums);
    cJSON_AddItemToObject(o, "domains", sums.domains);
    cJSON *inflight = cJSON_AddObjectToObject(o, "inflight");
    cJSON_AddNumberToObject(inflight, "publishes", publisher_inflight(api->deps.pub));
    cJSON_AddNumberToObject(inflight, "deliveries", delivery_inflight(api->deps.delivery));
    add_nats(api, o, &c);
    source_set_add_json(api->deps.sources, o);
    add_http(o);
    lane_report_json(delivery_lanes(api->deps.delivery), o);
    http_request_complete_cjson(req, 200, o);
}

void metrics_api_handle_stats(void *ctx, struct http_request *req)
{
    struct metrics_api *api = ctx;
    api_worker_submit(api->deps.worker, API_LANE_LIGHT, req, run_stats, api);
}
