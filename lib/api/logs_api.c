/*
 * logs_api — see logs_api.h.
 *
 * A request is checked on the HTTP thread and becomes a logs_job (copies of the
 * parameters) run in the API worker's scan lane; reading a day stops at
 * api.scan_timeout ("partial": true). Reading a day passes each line through
 * logs_day_line(), which sorts it by its "type" into events_by_domain (received, forwarded
 * and any other type) or failed_events_by_domain (failed, dead_lettered), keyed by
 * the line's own "domain" field: one log directory can hold several spellings of a
 * domain ("a.b" and "a_b" share a directory name). A line is emitted with its bytes
 * as written (cJSON raw) once json_scan_valid accepts it, so large numbers
 * inside events keep their digits; a line that is not a clean JSON object is counted
 * as "invalid" and left out.
 */
#include "api/logs_api.h"

#include "http/api_params.h"
#include "http/api_worker.h"
#include "core/clock.h"
#include "config/config.h"
#include "sinks/domain_log.h"
#include "http/http_server.h"
#include "core/json_scan.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 1000
#define MAX_LIMIT 10000
#define MAX_OFFSET 100000000LL
#define MAX_LIST_DOMAINS 10000

struct logs_api {
    const struct config *cfg;
    struct api_worker *worker;
};

struct logs_job {
    struct logs_api *api;
    bool read_day; /* else a listing (of `domain` when set) */
    char domain[DOMAIN_LOG_NAME_MAX + 1];
    char date[DOMAIN_LOG_DATE_LEN + 1];
    size_t limit;
    size_t offset;
};

/* What the reading callback accumulates. */
struct logs_day {
    cJSON *out;
    const char *fallback_domain;
    cJSON *events;
    cJSON *failed;
    size_t bytes;
    bool byte_limit_hit;
    size_t lines, invalid;
    size_t received, forwarded, failed_n, dead_lettered, other;
};

struct logs_api *logs_api_new(const struct config *cfg, struct api_worker *worker)
{
    struct logs_api *api = calloc(1, sizeof *api);
    if (!api)
        return NULL;
    api->cfg = cfg;
    api->worker = worker;
    return api;
}

void logs_api_free(struct logs_api *api)
{
    free(api);
}

static int status_for(int err)
{
    switch (err) {
    case DOMAIN_LOG_BAD_DOMAIN:
    case DOMAIN_LOG_BAD_DATE:
        return 400;
    case DOMAIN_LOG_NO_DOMAIN:
    case DOMAIN_LOG_NO_DATE:
        return 404;
    default:
        return 500;
    }
}

static void complete_error(struct logs_job *job, struct http_request *req, int err)
{
    int status = status_for(err);
    const char *error = status == 400   ? "invalid_parameter"
                        : status == 404 ? "not_found"
                                        : "internal";
    char detail[200];
    snprintf(detail, sizeof detail, "%s%s", domain_log_strerror(err),
             status == 404 && !job->api->cfg->log.domain_logging
                 ? " (domain logging is off: log.domain_logging is false)"
                 : "");
    http_request_complete_error(req, status, error, detail);
}

static void list(struct logs_job *job, struct http_request *req)
{
    struct domain_log_listing l = {0};
    int err = domain_log_list(job->api->cfg->log.dir, job->domain[0] ? job->domain : NULL, &l);
    if (err != DOMAIN_LOG_OK) {
        domain_log_listing_clear(&l);
        complete_error(job, req, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "domain_logging", job->api->cfg->log.domain_logging);
    cJSON *domains = cJSON_AddArrayToObject(o, "domains");
    size_t n = l.count < MAX_LIST_DOMAINS ? l.count : MAX_LIST_DOMAINS;
    for (size_t i = 0; i < n; i++) {
        const struct domain_log_domain *d = &l.domains[i];
        cJSON *jd = cJSON_CreateObject();
        cJSON_AddStringToObject(jd, "domain", d->name);
        cJSON *dates = cJSON_AddArrayToObject(jd, "dates");
        for (size_t k = 0; k < d->day_count; k++) {
            cJSON *day = cJSON_CreateObject();
            cJSON_AddStringToObject(day, "date", d->days[k].date);
            cJSON_AddNumberToObject(day, "files", d->days[k].files);
            cJSON_AddNumberToObject(day, "bytes", (double)d->days[k].bytes);
            cJSON_AddItemToArray(dates, day);
        }
        cJSON_AddItemToArray(domains, jd);
    }
    cJSON_AddBoolToObject(o, "truncated", l.truncated || l.count > n);
    domain_log_listing_clear(&l);
    http_request_complete_cjson(req, 200, o);
}

static cJSON *group(cJSON *by_domain, const char *domain)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(by_domain, domain);
    if (!arr)
        arr = cJSON_AddArrayToObject(by_domain, domain);
    return arr;
}

struct logs_day *logs_day_new(cJSON *out, const char *fallback_domain)
{
    struct logs_day *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->out = out;
    r->fallback_domain = fallback_domain;
    r->events = cJSON_AddObjectToObject(out, "events_by_domain");
    r->failed = cJSON_AddObjectToObject(out, "failed_events_by_domain");
    if (!r->events || !r->failed) {
        free(r);
        return NULL;
    }
    return r;
}

bool logs_day_line(void *ctx, const char *line, size_t len)
{
    struct logs_day *r = ctx;
    if (r->bytes + len > LOGS_API_MAX_BYTES) {
        r->byte_limit_hit = true;
        return false;
    }
    r->lines++;
    cJSON *o = json_scan_valid(line, len, NULL) ? cJSON_ParseWithLength(line, len) : NULL;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        r->invalid++;
        return true;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "domain");
    const char *type = cJSON_IsString(t) ? t->valuestring : "";
    const char *domain =
        cJSON_IsString(d) && d->valuestring[0] ? d->valuestring : r->fallback_domain;
    bool is_failed = false;
    if (strcmp(type, "received") == 0) {
        r->received++;
    } else if (strcmp(type, "forwarded") == 0) {
        r->forwarded++;
    } else if (strcmp(type, "failed") == 0) {
        r->failed_n++;
        is_failed = true;
    } else if (strcmp(type, "dead_lettered") == 0) {
        r->dead_lettered++;
        is_failed = true;
    } else {
        r->other++;
    }
    cJSON *arr = group(is_failed ? r->failed : r->events, domain);
    cJSON_Delete(o);
    cJSON *raw = cJSON_CreateRaw(line);
    if (!arr || !raw) {
        cJSON_Delete(raw);
        return false;
    }
    cJSON_AddItemToArray(arr, raw);
    r->bytes += len;
    return true;
}

bool logs_day_finish(struct logs_day *r, const struct domain_log_read_result *res, size_t *lines)
{
    bool truncated = res->more || r->byte_limit_hit || res->timed_out;
    cJSON *stats = cJSON_AddObjectToObject(r->out, "stats");
    cJSON_AddNumberToObject(
        stats, "total",
        (double)(r->received + r->forwarded + r->failed_n + r->dead_lettered + r->other));
    cJSON_AddNumberToObject(stats, "received", (double)r->received);
    cJSON_AddNumberToObject(stats, "forwarded", (double)r->forwarded);
    cJSON_AddNumberToObject(stats, "failed", (double)r->failed_n);
    cJSON_AddNumberToObject(stats, "dead_lettered", (double)r->dead_lettered);
    if (r->other)
        cJSON_AddNumberToObject(stats, "other", (double)r->other);
    if (r->invalid)
        cJSON_AddNumberToObject(stats, "invalid", (double)r->invalid);
    if (res->long_lines)
        cJSON_AddNumberToObject(stats, "long_lines_skipped", (double)res->long_lines);
    if (res->damaged)
        cJSON_AddNumberToObject(stats, "damaged_files", (double)res->damaged);
    cJSON_AddNumberToObject(stats, "lines", (double)r->lines);
    cJSON_AddBoolToObject(stats, "truncated", truncated);
    *lines = r->lines;
    free(r);
    return truncated;
}

static void read_day(struct logs_job *job, struct http_request *req)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "domain", job->domain);
    cJSON_AddStringToObject(o, "date", job->date);
    struct logs_day *r = logs_day_new(o, job->domain);
    if (!r) {
        cJSON_Delete(o);
        http_request_complete_error(req, 500, "internal", "out of memory");
        return;
    }
    struct domain_log_read_result res = {0};
    const struct config *cfg = job->api->cfg;
    int err = domain_log_read_day_until(cfg->log.dir, job->domain, job->date, job->offset,
                                        job->limit, clock_mono_ms() + cfg->api.scan_timeout_ms,
                                        logs_day_line, r, &res);
    size_t lines = 0;
    bool truncated = logs_day_finish(r, &res, &lines);
    if (err != DOMAIN_LOG_OK) {
        cJSON_Delete(o);
        complete_error(job, req, err);
        return;
    }
    /* Stopped at the deadline while still skipping to `offset`: a continuation would only
     * skip the same lines again, so there is none. */
    bool can_continue = truncated && res.seen >= job->offset;
    cJSON_AddNumberToObject(o, "offset", (double)job->offset);
    cJSON_AddNumberToObject(o, "limit", (double)job->limit);
    cJSON_AddBoolToObject(o, "partial", res.timed_out);
    if (res.timed_out)
        cJSON_AddStringToObject(o, "partial_reason", "deadline");
    if (can_continue)
        cJSON_AddNumberToObject(o, "next_offset", (double)(job->offset + lines));
    http_request_complete_cjson(req, 200, o);
}

static void run_job(void *arg, struct http_request *req)
{
    struct logs_job *job = arg;
    if (req) {
        if (job->read_day)
            read_day(job, req);
        else
            list(job, req);
    }
    free(job);
}

/* Fills the job from the query; answers 400 and returns false when a value is bad. */
static bool parse_query(struct http_request *req, struct logs_job *job)
{
    size_t domain_len = 0;
    const char *domain = http_request_query_len(req, "domain", &domain_len);
    size_t date_len = 0;
    const char *date = http_request_query_len(req, "date", &date_len);
    if (domain && domain_len > 0) {
        char name[DOMAIN_LOG_NAME_MAX + 1];
        if (domain_len > DOMAIN_LOG_NAME_MAX ||
            domain_log_check_domain(domain, domain_len, name, sizeof name) != DOMAIN_LOG_OK) {
            http_respond_error(req, 400, "invalid_parameter",
                               "domain must be a domain name (no '/', '\\', '..' or control "
                               "characters, at most 253 bytes)");
            return false;
        }
        snprintf(job->domain, sizeof job->domain, "%s", domain);
    }
    if (date && date[0]) {
        if (date_len != DOMAIN_LOG_DATE_LEN || !domain_log_valid_date(date)) {
            http_respond_error(req, 400, "invalid_parameter",
                               "date must be a calendar date YYYY-MM-DD");
            return false;
        }
        if (!job->domain[0]) {
            http_respond_error(req, 400, "invalid_parameter", "date needs a domain");
            return false;
        }
        snprintf(job->date, sizeof job->date, "%s", date);
        job->read_day = true;
    }
    long long limit = 0, offset = 0;
    if (!api_param_long(req, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT, &limit) ||
        !api_param_long(req, "offset", 0, MAX_OFFSET, 0, &offset))
        return false;
    job->limit = (size_t)limit;
    job->offset = (size_t)offset;
    return true;
}

void logs_api_handle(void *ctx, struct http_request *req)
{
    struct logs_api *api = ctx;
    const char *rest = http_request_route_rest(req);
    bool domains_only = strcmp(rest, "/domains") == 0;
    if (rest[0] != '\0' && strcmp(rest, "/") != 0 && !domains_only) {
        http_respond_error(req, 404, "not_found", "no such path");
        return;
    }
    struct logs_job *job = calloc(1, sizeof *job);
    if (!job) {
        http_respond_error(req, 503, "out_of_memory", "try again later");
        return;
    }
    job->api = api;
    if (!domains_only && !parse_query(req, job)) {
        free(job);
        return;
    }
    api_worker_submit(api->worker, API_LANE_SCAN, req, run_job, job);
}
