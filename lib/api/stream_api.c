/*
 * stream_api — see stream_api.h.
 *
 * The walk goes from the last sequence (or `before - 1`) down to the first one with
 * stream_scan_walk, filtering by the domain's subject; with a filter, the subject's
 * message count from the stream info lets it stop as soon as every message of that
 * domain has been seen. It runs in the API worker's scan lane, within the api.scan_*
 * limits counted from when the job starts.
 */
#include "api/stream_api.h"

#include "http/api_params.h"
#include "http/api_worker.h"
#include "config/config.h"
#include "core/event.h"
#include "http/http_server.h"
#include "nats/nats_link.h"
#include "nats/stream_scan.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 1000

struct stream_api {
    const struct config *cfg;
    struct nats_link *link;
    struct api_worker *worker;
};

struct stream_job {
    struct stream_api *api;
    char domain[EVENT_DOMAIN_MAX + 1];
    char subject[EVENT_SUBJECT_MAX];
    long long limit;
    long long before;                 /* 0 = from the newest */
    struct stream_scan_limits limits; /* set when the job starts */
};

struct collector {
    cJSON *messages;
    long long limit, taken;
    int64_t want_total; /* messages of the subject, -1 when unfiltered */
    int64_t seen;
    size_t bytes;
    bool byte_limit_hit;
};

struct stream_api *stream_api_new(const struct config *cfg, struct nats_link *link,
                                  struct api_worker *worker)
{
    struct stream_api *api = calloc(1, sizeof *api);
    if (!api)
        return NULL;
    api->cfg = cfg;
    api->link = link;
    api->worker = worker;
    return api;
}

void stream_api_free(struct stream_api *api)
{
    free(api);
}

static bool collect(void *ctx, natsMsg *msg)
{
    struct collector *c = ctx;
    size_t len = (size_t)natsMsg_GetDataLength(msg);
    if (c->taken > 0 && c->bytes + len > STREAM_API_MAX_BYTES) {
        c->byte_limit_hit = true;
        return false;
    }
    cJSON *m = stream_scan_msg_json(msg);
    if (!m)
        return false;
    cJSON_AddItemToArray(c->messages, m);
    c->bytes += len;
    c->taken++;
    c->seen++;
    if (c->want_total >= 0 && c->seen >= c->want_total)
        return false;
    return c->taken < c->limit;
}

static void add_totals(cJSON *o, const struct stream_totals *t)
{
    cJSON *j = cJSON_AddObjectToObject(o, "totals");
    cJSON_AddNumberToObject(j, "messages", (double)t->msgs);
    cJSON_AddNumberToObject(j, "bytes", (double)t->bytes);
    cJSON_AddNumberToObject(j, "first_seq", (double)t->first_seq);
    cJSON_AddNumberToObject(j, "last_seq", (double)t->last_seq);
    cJSON_AddNumberToObject(j, "consumers", (double)t->consumers);
}

static void add_consumer(cJSON *o, struct stream_api *api)
{
    const struct config *cfg = api->cfg;
    jsConsumerInfo *ci = NULL;
    if (js_GetConsumerInfo(&ci, nats_link_js(api->link), cfg->nats.stream_name,
                           cfg->nats.consumer_name, NULL, NULL) != NATS_OK) {
        cJSON_AddNullToObject(o, "consumer");
        return;
    }
    cJSON *j = cJSON_AddObjectToObject(o, "consumer");
    cJSON_AddStringToObject(j, "name", cfg->nats.consumer_name);
    cJSON_AddNumberToObject(j, "pending", (double)ci->NumPending);
    cJSON_AddNumberToObject(j, "ack_pending", (double)ci->NumAckPending);
    cJSON_AddNumberToObject(j, "redelivered", (double)ci->NumRedelivered);
    cJSON_AddNumberToObject(j, "delivered_seq", (double)ci->Delivered.Stream);
    cJSON_AddNumberToObject(j, "ack_floor_seq", (double)ci->AckFloor.Stream);
    jsConsumerInfo_Destroy(ci);
}

static void list(struct stream_job *job, struct http_request *req)
{
    struct stream_api *api = job->api;
    const char *stream = api->cfg->nats.stream_name;
    jsCtx *js = nats_link_js(api->link);
    const char *subject = job->domain[0] ? job->subject : NULL;
    struct stream_totals t;
    natsStatus s = stream_scan_totals(js, stream, subject, &t);
    if (s != NATS_OK) {
        http_request_complete_error(req, 503, "nats_unavailable", natsStatus_GetText(s));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stream", stream);
    add_totals(o, &t);
    add_consumer(o, api);
    if (subject) {
        cJSON_AddStringToObject(o, "domain", job->domain);
        cJSON_AddStringToObject(o, "subject", subject);
        cJSON_AddNumberToObject(o, "domain_messages", (double)t.subject_msgs);
    }
    struct collector c = {.messages = cJSON_AddArrayToObject(o, "messages"),
                          .limit = job->limit,
                          .want_total = t.subject_msgs};
    uint64_t from = t.last_seq;
    if (job->before > 0 && (uint64_t)job->before - 1 < from)
        from = (uint64_t)job->before - 1;
    struct stream_scan_result res = {.stop = STREAM_SCAN_END, .error = NATS_OK};
    bool empty = t.msgs == 0 || from < t.first_seq || t.subject_msgs == 0;
    if (!empty)
        stream_scan_walk(js, stream, from, t.first_seq, subject, &job->limits, collect, &c, &res);
    if (res.error != NATS_OK && c.taken == 0) {
        cJSON_Delete(o);
        http_request_complete_error(req, 503, "nats_unavailable", natsStatus_GetText(res.error));
        return;
    }
    cJSON_AddNumberToObject(o, "limit", (double)job->limit);
    /* Truncated: the walk stopped before the first sequence for another reason than
     * having found everything there was; partial when that was a limit of the walk. */
    bool all_seen = c.want_total >= 0 && c.seen >= c.want_total;
    struct stream_scan_page page = stream_scan_page_of(&res, t.first_seq, all_seen);
    stream_scan_add_page(o, &res, &page);
    http_request_complete_cjson(req, 200, o);
}

static void run_job(void *arg, struct http_request *req)
{
    struct stream_job *job = arg;
    if (req) {
        job->limits = stream_scan_limits_now(job->api->cfg);
        if (!nats_link_ready(job->api->link))
            http_request_complete_error(req, 503, "nats_unavailable",
                                        "the event stream lives in JetStream, which is not "
                                        "reachable now");
        else
            list(job, req);
    }
    free(job);
}

void stream_api_handle(void *ctx, struct http_request *req)
{
    struct stream_api *api = ctx;
    struct stream_job *job = calloc(1, sizeof *job);
    if (!job) {
        http_respond_error(req, 503, "out_of_memory", "try again later");
        return;
    }
    job->api = api;
    if (!api_param_long(req, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT, &job->limit) ||
        !api_param_long(req, "before", 1, INT64_MAX, 0, &job->before) ||
        !api_param_string(req, "domain", job->domain, sizeof job->domain)) {
        free(job);
        return;
    }
    if (job->domain[0] && !event_subject(api->cfg->nats.subject_pattern, job->domain, job->subject,
                                         sizeof job->subject)) {
        free(job);
        http_respond_error(req, 400, "invalid_parameter", "domain is too long");
        return;
    }
    api_worker_submit(api->worker, API_LANE_SCAN, req, run_job, job);
}
