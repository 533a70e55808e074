/*
 * calls_api — see calls_api.h.
 *
 * Listing scans the bucket's stream from its last sequence (or `before - 1`) backwards
 * with stream_scan_walk: each call has one live message (history 1), so newest-first
 * order is sequence order. A scan runs in the API worker's scan lane and keeps to the
 * api.scan_* limits; when one of them stops it the answer says "partial": true and
 * "next_before" continues. Reading one call is a light job. The key-value handle is
 * opened by the first worker that needs it (under `kv_lock`; nats.c's handle is then
 * safe to share between the workers).
 */
#include "api/calls_api.h"

#include "http/api_worker.h"
#include "config/config.h"
#include "http/http_server.h"
#include "core/log.h"
#include "nats/nats_link.h"
#include "nats/stream_scan.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LIMIT 1000

struct calls_api {
    const struct config *cfg;
    struct nats_link *link;
    struct api_worker *worker;
    pthread_mutex_t kv_lock; /* guards opening kv */
    kvStore *kv;
};

struct calls_job {
    struct calls_api *api;
    bool list;
    char id[80];
    char domain[256];
    long limit;
    long offset;
    long long before; /* 0 = from the newest */
};

/* Listing state. */
struct call_lister {
    const char *domain;
    cJSON *calls;
    long offset, skipped, limit, taken;
};

struct calls_api *calls_api_new(const struct config *cfg, struct nats_link *link,
                                struct api_worker *worker)
{
    struct calls_api *api = calloc(1, sizeof *api);
    if (!api)
        return NULL;
    api->cfg = cfg;
    api->link = link;
    api->worker = worker;
    pthread_mutex_init(&api->kv_lock, NULL);
    return api;
}

void calls_api_free(struct calls_api *api)
{
    if (!api)
        return;
    kvStore_Destroy(api->kv);
    pthread_mutex_destroy(&api->kv_lock);
    free(api);
}

static bool unavailable(struct http_request *req, struct calls_api *api)
{
    if (nats_link_ready(api->link))
        return false;
    http_request_complete_error(req, 503, "nats_unavailable",
                                "call records live in JetStream, "
                                "which is not reachable now");
    return true;
}

static kvStore *bucket(struct calls_api *api)
{
    pthread_mutex_lock(&api->kv_lock);
    if (!api->kv &&
        js_KeyValue(&api->kv, nats_link_js(api->link), api->cfg->calls.bucket) != NATS_OK) {
        log_warn("api", "call records bucket %s: %s", api->cfg->calls.bucket,
                 nats_GetLastError(NULL));
        api->kv = NULL;
    }
    kvStore *kv = api->kv;
    pthread_mutex_unlock(&api->kv_lock);
    return kv;
}

static void get_one(struct calls_job *job, struct http_request *req)
{
    struct calls_api *api = job->api;
    kvStore *kv = bucket(api);
    if (!kv) {
        http_request_complete_error(req, 503, "nats_unavailable", "call records unavailable");
        return;
    }
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, kv, job->id);
    if (s == NATS_NOT_FOUND) {
        http_request_complete_error(req, 404, "not_found", "no call with this id");
    } else if (s != NATS_OK) {
        http_request_complete_error(req, 503, "nats_unavailable", natsStatus_GetText(s));
    } else {
        const char *v = kvEntry_ValueString(e);
        http_request_complete(req, 200, v && v[0] ? v : "{}");
    }
    kvEntry_Destroy(e);
}

static bool domain_matches(const char *record, int len, const char *want)
{
    if (!want[0])
        return true;
    cJSON *o = cJSON_ParseWithLength(record, (size_t)len);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "domain");
    bool match = cJSON_IsString(d) && strcasecmp(d->valuestring, want) == 0;
    cJSON_Delete(o);
    return match;
}

/* stream_scan_fn: one stored call state, newest first. */
static bool collect(void *ctx, natsMsg *m)
{
    struct call_lister *l = ctx;
    const char *data = natsMsg_GetData(m);
    int len = natsMsg_GetDataLength(m);
    if (!data || len <= 0 || !domain_matches(data, len, l->domain))
        return true;
    if (l->skipped < l->offset) {
        l->skipped++;
        return true;
    }
    cJSON *rec = cJSON_ParseWithLength(data, (size_t)len);
    if (rec) {
        cJSON_AddItemToArray(l->calls, rec);
        l->taken++;
    }
    return l->taken < l->limit;
}

static void list(struct calls_job *job, struct http_request *req)
{
    struct calls_api *api = job->api;
    char stream[300];
    snprintf(stream, sizeof stream, "KV_%s", api->cfg->calls.bucket);
    jsCtx *js = nats_link_js(api->link);
    struct stream_scan_limits limits = stream_scan_limits_now(api->cfg);
    struct stream_totals t;
    if (stream_scan_totals(js, stream, NULL, &t) != NATS_OK) {
        http_request_complete_error(req, 503, "nats_unavailable", "call records unavailable");
        return;
    }
    cJSON *out = cJSON_CreateObject();
    struct call_lister l = {.domain = job->domain,
                            .calls = cJSON_AddArrayToObject(out, "calls"),
                            .offset = job->offset,
                            .limit = job->limit};
    uint64_t from = t.last_seq;
    if (job->before > 0 && (uint64_t)job->before - 1 < from)
        from = (uint64_t)job->before - 1;
    /* A sequence that is gone was superseded by a newer state of the same call. */
    struct stream_scan_result res = {.stop = STREAM_SCAN_END, .error = NATS_OK};
    if (t.msgs > 0 && from >= t.first_seq)
        stream_scan_walk(js, stream, from, t.first_seq, NULL, &limits, collect, &l, &res);
    if (res.error != NATS_OK && l.taken == 0) {
        cJSON_Delete(out);
        http_request_complete_error(req, 503, "nats_unavailable", natsStatus_GetText(res.error));
        return;
    }
    cJSON_AddNumberToObject(out, "limit", (double)job->limit);
    cJSON_AddNumberToObject(out, "offset", (double)job->offset);
    struct stream_scan_page page = stream_scan_page_of(&res, t.first_seq, false);
    /* Only a limit of the walk is news here: a full page just ends (offset pages on). */
    if (page.partial) {
        stream_scan_add_page(out, &res, &page);
        cJSON_AddNumberToObject(out, "next_offset", (double)(job->offset - l.skipped));
    }
    http_request_complete_cjson(req, 200, out);
}

static void run_job(void *arg, struct http_request *req)
{
    struct calls_job *job = arg;
    if (req && !unavailable(req, job->api)) {
        if (job->list)
            list(job, req);
        else
            get_one(job, req);
    }
    free(job);
}

/* Parses a decimal in [min, max]; false when absent-invalid. */
static bool parse_long(const char *text, long min, long max, long *out)
{
    if (!text)
        return true;
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64)
        return false;
    for (; *id; id++) {
        char c = *id;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

enum calls_api_path calls_api_parse_path(const char *rest, char *id, size_t cap)
{
    if (cap)
        id[0] = '\0';
    if (*rest == '\0' || strcmp(rest, "/") == 0)
        return CALLS_API_LIST;
    if (rest[0] != '/')
        return CALLS_API_NOT_FOUND;
    if (!valid_id(rest + 1) || strlen(rest + 1) >= cap)
        return CALLS_API_BAD_ID;
    memcpy(id, rest + 1, strlen(rest + 1) + 1);
    return CALLS_API_ONE;
}

void calls_api_handle(void *ctx, struct http_request *req)
{
    struct calls_api *api = ctx;
    struct calls_job *job = calloc(1, sizeof *job);
    if (!job) {
        http_respond_error(req, 503, "out_of_memory", "try again later");
        return;
    }
    job->api = api;
    enum calls_api_path what =
        calls_api_parse_path(http_request_route_rest(req), job->id, sizeof job->id);
    if (what == CALLS_API_LIST) {
        job->list = true;
        job->limit = 50;
        if (!parse_long(http_request_query(req, "limit"), 1, MAX_LIMIT, &job->limit)) {
            free(job);
            http_respond_error(req, 400, "invalid_parameter", "limit must be an integer 1..1000");
            return;
        }
        if (!parse_long(http_request_query(req, "offset"), 0, 1000000, &job->offset)) {
            free(job);
            http_respond_error(req, 400, "invalid_parameter",
                               "offset must be an integer 0..1000000");
            return;
        }
        long before = 0;
        if (!parse_long(http_request_query(req, "before"), 1, LONG_MAX, &before)) {
            free(job);
            http_respond_error(req, 400, "invalid_parameter", "before must be a positive integer");
            return;
        }
        job->before = before;
        const char *domain = http_request_query(req, "domain");
        if (domain && strlen(domain) >= sizeof job->domain) {
            free(job);
            http_respond_error(req, 400, "invalid_parameter", "domain is too long");
            return;
        }
        snprintf(job->domain, sizeof job->domain, "%s", domain ? domain : "");
    } else if (what == CALLS_API_NOT_FOUND) {
        free(job);
        http_respond_error(req, 404, "not_found", "no such path");
        return;
    } else if (what == CALLS_API_BAD_ID) {
        free(job);
        http_respond_error(req, 400, "invalid_parameter",
                           "a call id is 1-64 letters, digits, '-' or '_'");
        return;
    }
    api_worker_submit(api->worker, job->list ? API_LANE_SCAN : API_LANE_LIGHT, req, run_job, job);
}
