/*
 * dlq_api — see dlq_api.h.
 *
 * A request becomes a dlq_job on the HTTP thread (path, parameters, and the
 * dead-letter subject of the domain filter: "<dlq_subject_prefix>.<domain token>", as
 * dead_letter writes it). On the worker: listing walks the dead-letter stream
 * backwards; replaying a domain walks it forwards from the first sequence (or `after +
 * 1`) up to the last one seen at the start (so records dead-lettered again by the
 * replay itself are not picked up by the same batch) and replays each record with
 * dlq_replay_one(). Both walks keep to the api.scan_* limits, counted from when the job
 * starts, and say where to continue (next_before / next_after).
 */
#include "api/dlq_api.h"

#include "http/api_params.h"
#include "http/api_worker.h"
#include "config/config.h"
#include "delivery/dlq_replay.h"
#include "core/event.h"
#include "http/http_server.h"
#include "nats/nats_link.h"
#include "nats/stream_scan.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 50
#define LIST_MAX 1000
#define REPLAY_DEFAULT 100
#define REPLAY_MAX 1000

struct dlq_api {
    const struct config *cfg;
    struct nats_link *link;
    struct api_worker *worker;
    const struct outcomes *outcomes;
    struct lanes *lanes; /* NULL when this instance does not deliver */
};

struct dlq_job {
    struct dlq_api *api;
    enum dlq_api_op op;
    uint64_t seq;
    char domain[EVENT_DOMAIN_MAX + 1];
    char subject[EVENT_SUBJECT_MAX + 256];
    long long limit;
    long long before; /* listing: continue below this sequence (0 = from the newest) */
    long long after;  /* replay of a domain: continue above this sequence (0 = from the first) */
    struct stream_scan_limits limits; /* set when the job starts */
};

/* Listing state. */
struct lister {
    cJSON *records;
    long long limit, taken;
    int64_t want_total;
    size_t bytes;
};

/* Replay-by-domain state. */
struct batch {
    struct dlq_job *job;
    cJSON *results;
    long long attempted;
    int64_t want_total, seen;
    unsigned replayed, duplicates, not_replayable, failed;
    char stop_detail[256];
};

struct dlq_api *dlq_api_new(const struct config *cfg, struct nats_link *link,
                            struct api_worker *worker, const struct outcomes *outcomes,
                            struct lanes *lanes)
{
    struct dlq_api *api = calloc(1, sizeof *api);
    if (!api)
        return NULL;
    api->cfg = cfg;
    api->link = link;
    api->worker = worker;
    api->outcomes = outcomes;
    api->lanes = lanes;
    return api;
}

void dlq_api_free(struct dlq_api *api)
{
    free(api);
}

static cJSON *record_json(natsMsg *msg)
{
    cJSON *o = cJSON_CreateObject();
    char ts[40];
    stream_scan_format_ns(natsMsg_GetTime(msg), ts, sizeof ts);
    cJSON_AddNumberToObject(o, "seq", (double)natsMsg_GetSequence(msg));
    const char *subj = natsMsg_GetSubject(msg);
    cJSON_AddStringToObject(o, "subject", subj ? subj : "");
    cJSON_AddStringToObject(o, "time", ts);
    int len = natsMsg_GetDataLength(msg);
    if (!stream_scan_add_data(o, "record", natsMsg_GetData(msg), len > 0 ? (size_t)len : 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void add_totals(cJSON *o, const struct stream_totals *t)
{
    cJSON *j = cJSON_AddObjectToObject(o, "totals");
    cJSON_AddNumberToObject(j, "messages", (double)t->msgs);
    cJSON_AddNumberToObject(j, "bytes", (double)t->bytes);
    cJSON_AddNumberToObject(j, "first_seq", (double)t->first_seq);
    cJSON_AddNumberToObject(j, "last_seq", (double)t->last_seq);
}

static bool collect(void *ctx, natsMsg *msg)
{
    struct lister *l = ctx;
    size_t len = (size_t)natsMsg_GetDataLength(msg);
    if (l->taken > 0 && l->bytes + len > DLQ_API_MAX_BYTES)
        return false;
    cJSON *r = record_json(msg);
    if (!r)
        return false;
    cJSON_AddItemToArray(l->records, r);
    l->bytes += len;
    l->taken++;
    if (l->want_total >= 0 && l->taken >= l->want_total)
        return false;
    return l->taken < l->limit;
}

static void list(struct dlq_job *job, struct http_request *req)
{
    const struct config *cfg = job->api->cfg;
    jsCtx *js = nats_link_js(job->api->link);
    const char *subject = job->domain[0] ? job->subject : NULL;
    struct stream_totals t;
    natsStatus s = stream_scan_totals(js, cfg->nats.dlq_stream, subject, &t);
    if (s != NATS_OK) {
        http_request_complete_error(req, 503, "nats_unavailable", natsStatus_GetText(s));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stream", cfg->nats.dlq_stream);
    add_totals(o, &t);
    if (subject) {
        cJSON_AddStringToObject(o, "domain", job->domain);
        cJSON_AddStringToObject(o, "subject", subject);
        cJSON_AddNumberToObject(o, "domain_records", (double)t.subject_msgs);
    }
    struct lister l = {.records = cJSON_AddArrayToObject(o, "records"),
                       .limit = job->limit,
                       .want_total = t.subject_msgs};
    uint64_t from = t.last_seq;
    if (job->before > 0 && (uint64_t)job->before - 1 < from)
        from = (uint64_t)job->before - 1;
    struct stream_scan_result res = {.stop = STREAM_SCAN_END, .error = NATS_OK};
    if (t.msgs > 0 && from >= t.first_seq && t.subject_msgs != 0)
        stream_scan_walk(js, cfg->nats.dlq_stream, from, t.first_seq, subject, &job->limits,
                         collect, &l, &res);
    if (res.error != NATS_OK && l.taken == 0) {
        cJSON_Delete(o);
        http_request_complete_error(req, 503, "nats_unavailable", natsStatus_GetText(res.error));
        return;
    }
    bool all_seen = l.want_total >= 0 && l.taken >= l.want_total;
    struct stream_scan_page page = stream_scan_page_of(&res, t.first_seq, all_seen);
    cJSON_AddNumberToObject(o, "limit", (double)job->limit);
    stream_scan_add_page(o, &res, &page);
    http_request_complete_cjson(req, 200, o);
}

static void get_one(struct dlq_job *job, struct http_request *req)
{
    natsMsg *m = NULL;
    natsStatus s = js_GetMsg(&m, nats_link_js(job->api->link), job->api->cfg->nats.dlq_stream,
                             job->seq, NULL, NULL);
    if (s == NATS_NOT_FOUND)
        http_request_complete_error(req, 404, "not_found",
                                    "no dead letter at this sequence (replayed already, "
                                    "expired, or never there)");
    else if (s != NATS_OK)
        http_request_complete_error(req, 503, "nats_unavailable", natsStatus_GetText(s));
    else
        http_request_complete_cjson(req, 200, record_json(m));
    natsMsg_Destroy(m);
}

static void result_json(cJSON *o, const struct dlq_replay_result *r)
{
    if (r->event_id[0])
        cJSON_AddStringToObject(o, "event_id", r->event_id);
    if (r->domain[0])
        cJSON_AddStringToObject(o, "domain", r->domain);
    if (r->status == DLQ_REPLAY_OK) {
        cJSON_AddNumberToObject(o, "stream_seq", (double)r->stream_seq);
        cJSON_AddBoolToObject(o, "to_endpoint", r->to_endpoint);
        cJSON_AddBoolToObject(o, "duplicate", r->duplicate);
        cJSON_AddBoolToObject(o, "record_deleted", r->record_deleted);
    } else {
        cJSON_AddStringToObject(o, "detail", r->detail);
    }
}

static void replay_one(struct dlq_job *job, struct http_request *req)
{
    struct dlq_replay_result r;
    dlq_replay_one(job->api->cfg, nats_link_js(job->api->link), job->api->outcomes, job->api->lanes,
                   job->seq, NULL, &r);
    if (r.status != DLQ_REPLAY_OK) {
        int status = dlq_replay_http_status(r.status);
        const char *error = status == 404   ? "not_found"
                            : status == 409 ? "not_replayable"
                            : status == 503 ? "nats_unavailable"
                                            : "internal";
        http_request_complete_error(req, status, error, r.detail);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "replayed", true);
    cJSON_AddNumberToObject(o, "dlq_seq", (double)job->seq);
    result_json(o, &r);
    http_request_complete_cjson(req, 200, o);
}

static bool replay_each(void *ctx, natsMsg *msg)
{
    struct batch *b = ctx;
    struct dlq_api *api = b->job->api;
    uint64_t seq = natsMsg_GetSequence(msg);
    struct dlq_replay_result r;
    dlq_replay_one(api->cfg, nats_link_js(api->link), api->outcomes, api->lanes, seq, msg, &r);
    b->attempted++;
    b->seen++;
    const char *status = "replayed";
    if (r.status == DLQ_REPLAY_OK && r.duplicate) {
        b->duplicates++;
        status = "duplicate";
    } else if (r.status == DLQ_REPLAY_OK) {
        b->replayed++;
    } else if (r.status == DLQ_REPLAY_NOT_REPLAYABLE) {
        b->not_replayable++;
        status = "not_replayable";
    } else {
        b->failed++;
        status = "failed";
    }
    cJSON *item = cJSON_CreateObject();
    cJSON_AddNumberToObject(item, "dlq_seq", (double)seq);
    cJSON_AddStringToObject(item, "status", status);
    result_json(item, &r);
    cJSON_AddItemToArray(b->results, item);
    if (r.status == DLQ_REPLAY_UNAVAILABLE || r.status == DLQ_REPLAY_INTERNAL) {
        snprintf(b->stop_detail, sizeof b->stop_detail, "%s", r.detail);
        return false; /* JetStream is in trouble: stop the batch here */
    }
    if (b->want_total >= 0 && b->seen >= b->want_total)
        return false;
    return b->attempted < b->job->limit;
}

static void replay_domain(struct dlq_job *job, struct http_request *req)
{
    const struct config *cfg = job->api->cfg;
    jsCtx *js = nats_link_js(job->api->link);
    struct stream_totals t;
    natsStatus s = stream_scan_totals(js, cfg->nats.dlq_stream, job->subject, &t);
    if (s != NATS_OK) {
        http_request_complete_error(req, 503, "nats_unavailable", natsStatus_GetText(s));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    struct batch b = {.job = job, .want_total = t.subject_msgs};
    cJSON_AddStringToObject(o, "domain", job->domain);
    cJSON_AddStringToObject(o, "subject", job->subject);
    b.results = cJSON_AddArrayToObject(o, "results");
    struct stream_scan_result res = {.stop = STREAM_SCAN_END, .error = NATS_OK};
    uint64_t from = t.first_seq;
    if (job->after > 0 && (uint64_t)job->after >= from)
        from = (uint64_t)job->after + 1;
    if (t.msgs > 0 && t.subject_msgs != 0 && from <= t.last_seq)
        stream_scan_walk(js, cfg->nats.dlq_stream, from, t.last_seq, job->subject, &job->limits,
                         replay_each, &b, &res);
    if (res.error != NATS_OK && !b.stop_detail[0])
        snprintf(b.stop_detail, sizeof b.stop_detail, "%s", natsStatus_GetText(res.error));
    if (b.stop_detail[0] && b.replayed + b.duplicates == 0) {
        cJSON_Delete(o);
        http_request_complete_error(req, 503, "nats_unavailable", b.stop_detail);
        return;
    }
    struct stream_totals after;
    int64_t remaining =
        stream_scan_totals(js, cfg->nats.dlq_stream, job->subject, &after) == NATS_OK
            ? after.subject_msgs
            : -1;
    cJSON_AddNumberToObject(o, "replayed", b.replayed);
    cJSON_AddNumberToObject(o, "duplicates", b.duplicates);
    cJSON_AddNumberToObject(o, "not_replayable", b.not_replayable);
    cJSON_AddNumberToObject(o, "failed", b.failed);
    cJSON_AddNumberToObject(o, "limit", (double)job->limit);
    if (remaining >= 0)
        cJSON_AddNumberToObject(o, "remaining", (double)remaining);
    /* A forward walk: the cursor is the last sequence visited. */
    bool all_seen = b.want_total >= 0 && b.seen >= b.want_total;
    bool truncated = res.next_seq != 0 && res.next_seq <= t.last_seq && !all_seen;
    bool partial =
        truncated && (res.stop == STREAM_SCAN_DEADLINE || res.stop == STREAM_SCAN_BUDGET);
    cJSON_AddNumberToObject(o, "scanned", (double)res.visited);
    cJSON_AddBoolToObject(o, "truncated", truncated);
    cJSON_AddBoolToObject(o, "partial", partial);
    if (partial)
        cJSON_AddStringToObject(o, "partial_reason",
                                res.stop == STREAM_SCAN_DEADLINE ? "deadline" : "scan_limit");
    if (truncated)
        cJSON_AddNumberToObject(o, "next_after", (double)(res.next_seq - 1));
    if (b.stop_detail[0])
        cJSON_AddStringToObject(o, "stopped", b.stop_detail);
    http_request_complete_cjson(req, 200, o);
}

static void run_job(void *arg, struct http_request *req)
{
    struct dlq_job *job = arg;
    if (req)
        job->limits = stream_scan_limits_now(job->api->cfg);
    if (req && !nats_link_ready(job->api->link)) {
        http_request_complete_error(req, 503, "nats_unavailable",
                                    "dead letters live in JetStream, which is not reachable now");
    } else if (req) {
        switch (job->op) {
        case DLQ_API_LIST:
            list(job, req);
            break;
        case DLQ_API_GET:
            get_one(job, req);
            break;
        case DLQ_API_REPLAY_ONE:
            replay_one(job, req);
            break;
        case DLQ_API_REPLAY_DOMAIN:
            replay_domain(job, req);
            break;
        }
    }
    free(job);
}

static bool domain_subject(struct dlq_api *api, struct http_request *req, struct dlq_job *job)
{
    if (!api_param_string(req, "domain", job->domain, sizeof job->domain))
        return false;
    if (!job->domain[0])
        return true;
    char token[EVENT_DOMAIN_MAX * 3 + 1];
    if (!event_domain_token(job->domain, token, sizeof token)) {
        http_respond_error(req, 400, "invalid_parameter", "domain is not usable");
        return false;
    }
    snprintf(job->subject, sizeof job->subject, "%s.%s", api->cfg->nats.dlq_subject_prefix, token);
    return true;
}

static void wrong_method(struct http_request *req, const char *allow)
{
    http_request_add_header(req, "Allow", allow);
    http_respond_error(req, 405, "method_not_allowed", "see Allow for the methods of this path");
}

enum dlq_api_path_status dlq_api_parse_path(const char *rest, struct dlq_api_path *out)
{
    memset(out, 0, sizeof *out);
    out->method = "GET";
    if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
        out->op = DLQ_API_LIST;
        return DLQ_API_PATH_OK;
    }
    if (strcmp(rest, "/replay") == 0) {
        out->op = DLQ_API_REPLAY_DOMAIN;
        out->method = "POST";
        return DLQ_API_PATH_OK;
    }
    if (rest[0] != '/')
        return DLQ_API_PATH_NOT_FOUND;
    char seq[32];
    const char *slash = strchr(rest + 1, '/');
    size_t n = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
    if (slash && strcmp(slash, "/replay") != 0)
        return DLQ_API_PATH_NOT_FOUND;
    long long v = 0;
    if (n == 0 || n >= sizeof seq)
        return DLQ_API_PATH_BAD_SEQ;
    memcpy(seq, rest + 1, n);
    seq[n] = '\0';
    if (!api_param_parse_long(seq, 1, INT64_MAX, &v))
        return DLQ_API_PATH_BAD_SEQ;
    out->seq = (uint64_t)v;
    out->op = slash ? DLQ_API_REPLAY_ONE : DLQ_API_GET;
    if (slash)
        out->method = "POST";
    return DLQ_API_PATH_OK;
}

/* Splits the path after the prefix into an operation; false when answered. */
static bool route_path(struct http_request *req, struct dlq_job *job)
{
    struct dlq_api_path p;
    switch (dlq_api_parse_path(http_request_route_rest(req), &p)) {
    case DLQ_API_PATH_NOT_FOUND:
        http_respond_error(req, 404, "not_found", "no such path");
        return false;
    case DLQ_API_PATH_BAD_SEQ:
        http_respond_error(req, 400, "invalid_parameter",
                           "a dead-letter sequence is a positive integer");
        return false;
    case DLQ_API_PATH_OK:
        break;
    }
    job->op = p.op;
    job->seq = p.seq;
    bool get = http_request_method(req) == HTTP_GET;
    if (get != (strcmp(p.method, "GET") == 0)) {
        wrong_method(req, p.method);
        return false;
    }
    return true;
}

void dlq_api_handle(void *ctx, struct http_request *req)
{
    struct dlq_api *api = ctx;
    struct dlq_job *job = calloc(1, sizeof *job);
    if (!job) {
        http_respond_error(req, 503, "out_of_memory", "try again later");
        return;
    }
    job->api = api;
    bool ok = route_path(req, job);
    if (ok && job->op == DLQ_API_LIST)
        ok = api_param_long(req, "limit", 1, LIST_MAX, LIST_DEFAULT, &job->limit) &&
             api_param_long(req, "before", 1, INT64_MAX, 0, &job->before) &&
             domain_subject(api, req, job);
    if (ok && job->op == DLQ_API_REPLAY_DOMAIN) {
        ok = api_param_long(req, "limit", 1, REPLAY_MAX, REPLAY_DEFAULT, &job->limit) &&
             api_param_long(req, "after", 1, INT64_MAX, 0, &job->after) &&
             domain_subject(api, req, job);
        if (ok && !job->domain[0]) {
            http_respond_error(req, 400, "invalid_parameter",
                               "domain is required: replay is done one domain at a time");
            ok = false;
        }
    }
    if (!ok) {
        free(job);
        return;
    }
    /* One record is a point read; what walks or changes the dead-letter stream takes its
     * own lane, one at a time (replays stay serialized, listings never wait for scans
     * of the event stream). */
    api_worker_submit(api->worker, job->op == DLQ_API_GET ? API_LANE_LIGHT : API_LANE_DLQ, req,
                      run_job, job);
}
