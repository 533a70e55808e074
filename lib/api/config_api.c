/*
 * config_api — see config_api.h.
 */
#include "api/config_api.h"

#include "http/api_worker.h"
#include "core/clock.h"
#include "config/config.h"
#include "config/config_view.h"
#include "http/http_server.h"
#include "config/reloader.h"
#include "core/json_print.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config_api {
    struct reloader *reloader;
    struct api_worker *worker;
};

struct config_api *config_api_new(struct reloader *reloader, struct api_worker *worker)
{
    struct config_api *api = calloc(1, sizeof *api);
    if (!api)
        return NULL;
    api->reloader = reloader;
    api->worker = worker;
    return api;
}

void config_api_free(struct config_api *api)
{
    free(api);
}

/* "a\nb" → ["a", "b"]. */
static cJSON *lines_array(const char *text)
{
    cJSON *arr = cJSON_CreateArray();
    for (const char *p = text; arr && p && *p;) {
        size_t n = strcspn(p, "\n");
        char *line = strndup(p, n);
        if (line)
            cJSON_AddItemToArray(arr, cJSON_CreateString(line));
        free(line);
        p += n;
        if (*p == '\n')
            p++;
    }
    return arr;
}

static void add_time(cJSON *o, const char *key, int64_t wall_ms)
{
    char ts[40];
    clock_format_rfc3339_ms(wall_ms, ts, sizeof ts);
    cJSON_AddStringToObject(o, key, ts);
}

static void respond_json_object(struct http_request *req, int status, cJSON *o, bool async)
{
    char *text = o ? json_print(o) : NULL;
    cJSON_Delete(o);
    if (!text) {
        if (async)
            http_request_complete_error(req, 503, "out_of_memory", "try again later");
        else
            http_respond_error(req, 503, "out_of_memory", "try again later");
        return;
    }
    if (async)
        http_request_complete(req, status, text);
    else
        http_respond_json(req, status, text);
    free(text);
}

void config_api_handle_get(void *ctx, struct http_request *req)
{
    struct config_api *api = ctx;
    struct reloader_snapshot s;
    reloader_snapshot(api->reloader, &s);
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "path", s.active->path ? s.active->path : "");
        cJSON_AddStringToObject(o, "source", reload_trigger_name(s.source));
        add_time(o, "loaded_at", s.loaded_at_ms);
        cJSON_AddNumberToObject(o, "reloads", (double)s.reloads);
        cJSON_AddNumberToObject(o, "reload_failures", (double)s.failures);
        if (s.last_error) {
            cJSON *e = cJSON_AddObjectToObject(o, "last_error");
            if (e) {
                cJSON_AddStringToObject(e, "trigger", reload_trigger_name(s.last_error_trigger));
                add_time(e, "at", s.last_error_at_ms);
                cJSON_AddItemToObject(e, "errors", lines_array(s.last_error));
            }
        } else {
            cJSON_AddNullToObject(o, "last_error");
        }
        cJSON_AddBoolToObject(o, "watch_config", s.running->server.watch_config);
        config_view_add_routes(o, s.active);
        config_view_add_ingress(o, s.active);
        cJSON_AddItemToObject(o, "settings", config_view_settings(s.running));
    }
    reloader_snapshot_clear(&s);
    respond_json_object(req, 200, o, false);
}

static void answer_applied(struct http_request *req, const char *path,
                           const struct reload_result *res)
{
    cJSON *o = cJSON_CreateObject();
    if (o) {
        char msg[600];
        snprintf(msg, sizeof msg, "routes reloaded from %s (%zu routes)%s", path, res->route_count,
                 res->restart.count ? "; other settings take effect at restart" : "");
        cJSON_AddStringToObject(o, "status", "success");
        cJSON_AddStringToObject(o, "message", msg);
        cJSON_AddNumberToObject(o, "routes", (double)res->route_count);
        cJSON *keys = cJSON_AddArrayToObject(o, "restart_required");
        for (size_t i = 0; keys && i < res->restart.count; i++)
            cJSON_AddItemToArray(keys, cJSON_CreateString(res->restart.keys[i]));
    }
    respond_json_object(req, 200, o, true);
}

static void answer_invalid(struct http_request *req, const char *path,
                           const struct reload_result *res)
{
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON *errors = lines_array(res->errors);
        char detail[600];
        snprintf(detail, sizeof detail, "%s was not loaded (%d problem%s); the running routes stay",
                 path, cJSON_GetArraySize(errors), cJSON_GetArraySize(errors) == 1 ? "" : "s");
        cJSON_AddStringToObject(o, "status", "error");
        cJSON_AddStringToObject(o, "error", "invalid_config");
        cJSON_AddStringToObject(o, "detail", detail);
        cJSON_AddItemToObject(o, "errors", errors);
    }
    respond_json_object(req, 400, o, true);
}

/* On the API worker thread. */
static void run_reload(void *job, struct http_request *req)
{
    struct config_api *api = job;
    if (!req)
        return; /* the queue was full: already answered 503 */
    struct reload_result res;
    reloader_reload(api->reloader, RELOAD_API, &res);
    const char *path = reloader_path(api->reloader);
    switch (res.outcome) {
    case RELOAD_APPLIED:
        answer_applied(req, path, &res);
        break;
    case RELOAD_INVALID:
        answer_invalid(req, path, &res);
        break;
    default: /* out of memory (an API reload is never skipped as unchanged or empty) */
        http_request_complete_error(req, 503, "reload_failed",
                                    "out of memory while reloading; the running routes stay");
        break;
    }
    reload_result_clear(&res);
}

void config_api_handle_reload(void *ctx, struct http_request *req)
{
    struct config_api *api = ctx;
    api_worker_submit(api->worker, API_LANE_LIGHT, req, run_reload, api);
}
