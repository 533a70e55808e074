/*
 * http_server — see http_server.h.
 *
 * One `struct http_request` per HTTP request, created when libmicrohttpd has read the
 * request line (its URI log callback: the only place the target is seen as sent, for
 * the 414 limit) and freed in the request-completed notification, which libmicrohttpd
 * sends for every request it logged, answered by us or not. Its life:
 *   HEADERS → (BODY) → HANDLED (response queued)
 *                    → SUSPENDED → COMPLETED (by another thread) → HANDLED
 * The response for a suspended request is built when MHD calls us again after
 * MHD_resume_connection; `resumed` guards against resuming twice.
 *
 * The first handler call (the head is complete) runs the checks in this order:
 * framing and head sizes (400/414/431/501, every route), the Host rule (421, all but
 * the data plane), 404/405, the control plane's browser rules (403/415), the route's
 * access (401/403, the authorize hook), the route's own gate (POST /events' keys), then
 * the body ceiling (413). Each connection is tracked by http_deadline from libmicrohttpd's
 * connection notifications (the socket context) to the request-completed one.
 */
#include "http/http_server.h"

#include "core/clock.h"
#include "http/http_deadline.h"
#include "http/http_policy.h"
#include "core/log.h"
#include "core/stats.h"
#include "core/json_print.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_EXTRA_HEADERS 12
/* libmicrohttpd's per-connection memory (default 32 KiB): it holds the request head,
 * so heads up to about this size reach http_policy's smaller limits and get a JSON
 * answer; past it libmicrohttpd answers 414/431 itself, in HTML. Pages are touched
 * only as far as a connection uses them. */
#define CONNECTION_MEMORY_LIMIT (64 * 1024)

enum req_state { REQ_HEADERS, REQ_BODY, REQ_SUSPENDED, REQ_COMPLETED, REQ_HANDLED };

struct http_request {
    struct http_server *server;
    struct MHD_Connection *conn;
    const struct http_route *route;
    size_t route_path_len; /* of the route's path or alias, whichever matched */
    enum http_method method;
    const char *path;
    enum req_state state;
    bool started; /* the handler has been called (the head is complete) */
    bool was_suspended;
    size_t target_len;       /* the request target as sent (URI log callback) */
    struct http_conn *track; /* the connection's deadline entry, or NULL */
    _Atomic bool resumed;

    char *body;
    size_t body_len;
    size_t body_cap;
    size_t body_max;
    bool too_large;

    /* Completion from another thread. */
    int status;
    char *response;
    size_t response_len;
    const char *content_type;
    const void *static_body; /* when set, the body instead of `response` (not owned) */

    char *extra_names[MAX_EXTRA_HEADERS];
    char *extra_values[MAX_EXTRA_HEADERS];
    int extra_count;
};

struct http_server {
    struct MHD_Daemon *daemon;
    /* Requests suspended for an asynchronous answer whose response has not been
     * sent yet (decremented in the completed notification). MHD_stop_daemon must not
     * run while any connection is suspended. */
    _Atomic int pending_async;
    const struct http_route *routes;
    struct http_route *routes_copy;
    size_t route_count;
    http_handler_fn fallback;
    void *fallback_ctx;
    http_authorize_fn authorize;
    void *authorize_ctx;
    int port;
    struct http_policy *policy;
    struct http_deadlines *deadlines;
};

static enum http_method parse_method(const char *m)
{
    static const struct {
        const char *name;
        enum http_method method;
    } map[] = {{"GET", HTTP_GET},       {"POST", HTTP_POST}, {"PUT", HTTP_PUT},
               {"DELETE", HTTP_DELETE}, {"HEAD", HTTP_HEAD}, {"OPTIONS", HTTP_OPTIONS},
               {"PATCH", HTTP_PATCH}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(m, map[i].name) == 0)
            return map[i].method;
    return 0;
}

static void allow_header(unsigned methods, char *out, size_t cap)
{
    static const char *const names[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"};
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < 7; i++) {
        if (methods & (1u << i)) {
            int n = snprintf(out + o, cap - o, "%s%s", o ? ", " : "", names[i]);
            if (n < 0 || (size_t)n >= cap - o)
                break;
            o += (size_t)n;
        }
    }
}

/* Whether `pattern` (a route's path or alias) takes `path`; *len: its length. */
static bool path_matches(const char *pattern, bool prefix, const char *path, size_t *len)
{
    if (!pattern)
        return false;
    *len = strlen(pattern);
    if (!prefix)
        return strcmp(path, pattern) == 0;
    /* a prefix ends at a segment: /api/v1/dlq takes /api/v1/dlq/7, not /api/v1/dlqX */
    return strncmp(path, pattern, *len) == 0 && (path[*len] == '\0' || path[*len] == '/');
}

/* The first route of `path` that takes `method`; else the first of `path` (a 405), or
 * NULL. *path_methods: every method some route of the path takes (for Allow);
 * *matched_len: the length of the path or alias that matched. */
static const struct http_route *find_route(const struct http_server *srv, const char *path,
                                           enum http_method method, unsigned *path_methods,
                                           size_t *matched_len)
{
    const struct http_route *first = NULL;
    size_t first_len = 0;
    *path_methods = 0;
    for (size_t i = 0; i < srv->route_count; i++) {
        const struct http_route *r = &srv->routes[i];
        size_t len = 0;
        if (!path_matches(r->path, r->prefix, path, &len) &&
            !path_matches(r->alias, r->prefix, path, &len))
            continue;
        *path_methods |= r->methods;
        if (r->methods & method) {
            *matched_len = len;
            return r;
        }
        if (!first) {
            first = r;
            first_len = len;
        }
    }
    *matched_len = first_len;
    return first;
}

static void set_response(struct http_request *req, int status, const char *content_type,
                         const char *body, size_t len)
{
    free(req->response);
    req->static_body = NULL;
    req->response = malloc(len + 1);
    if (req->response) {
        memcpy(req->response, body, len);
        req->response[len] = '\0';
        req->response_len = len;
    } else {
        req->response_len = 0;
    }
    req->status = status;
    req->content_type = content_type;
}

static bool has_extra_header(const struct http_request *req, const char *name)
{
    for (int i = 0; i < req->extra_count; i++)
        if (strcasecmp(req->extra_names[i], name) == 0)
            return true;
    return false;
}

static enum MHD_Result queue_response(struct http_request *req)
{
    struct MHD_Response *resp =
        req->static_body
            ? MHD_create_response_from_buffer(req->response_len, (void *)req->static_body,
                                              MHD_RESPMEM_PERSISTENT)
            : MHD_create_response_from_buffer(req->response_len,
                                              req->response ? req->response : (char *)"",
                                              MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type);
    if (!has_extra_header(req, MHD_HTTP_HEADER_CACHE_CONTROL))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (req->status == 503)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    for (int i = 0; i < req->extra_count; i++)
        MHD_add_response_header(resp, req->extra_names[i], req->extra_values[i]);
    enum MHD_Result ret = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    req->state = REQ_HANDLED;
    return ret;
}

static char *error_json(const char *error, const char *detail)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", error);
    cJSON_AddStringToObject(o, "detail", detail ? detail : "");
    char *text = json_print(o);
    cJSON_Delete(o);
    return text;
}

void http_respond(struct http_request *req, int status, const char *content_type, const char *body,
                  size_t len)
{
    set_response(req, status, content_type, body, len);
    req->state = REQ_COMPLETED;
}

void http_respond_static(struct http_request *req, int status, const char *content_type,
                         const void *body, size_t len)
{
    free(req->response);
    req->response = NULL;
    req->static_body = body;
    req->response_len = len;
    req->status = status;
    req->content_type = content_type;
    req->state = REQ_COMPLETED;
}

void http_respond_json(struct http_request *req, int status, const char *json)
{
    http_respond(req, status, "application/json", json, strlen(json));
}

void http_respond_error(struct http_request *req, int status, const char *error, const char *detail)
{
    char *text = error_json(error, detail);
    http_respond_json(req, status, text ? text : "{\"error\":\"internal\"}");
    free(text);
}

void http_request_add_header(struct http_request *req, const char *name, const char *value)
{
    if (req->extra_count >= MAX_EXTRA_HEADERS) {
        log_error("http", "response header %s dropped: more than %d extra headers", name,
                  MAX_EXTRA_HEADERS);
        return;
    }
    req->extra_names[req->extra_count] = strdup(name);
    req->extra_values[req->extra_count] = strdup(value);
    req->extra_count++;
}

void http_request_suspend(struct http_request *req)
{
    req->state = REQ_SUSPENDED;
    req->was_suspended = true;
    atomic_fetch_add(&req->server->pending_async, 1);
    MHD_suspend_connection(req->conn);
}

void http_request_complete_body(struct http_request *req, int status, const char *content_type,
                                const char *body, size_t len)
{
    set_response(req, status, content_type, body, len);
    bool expected = false;
    if (atomic_compare_exchange_strong(&req->resumed, &expected, true))
        MHD_resume_connection(req->conn);
}

void http_request_complete(struct http_request *req, int status, const char *json)
{
    http_request_complete_body(req, status, "application/json", json, strlen(json));
}

void http_request_complete_cjson(struct http_request *req, int status, cJSON *o)
{
    char *text = o ? json_print(o) : NULL;
    cJSON_Delete(o);
    if (text)
        http_request_complete(req, status, text);
    else
        http_request_complete_error(req, 503, "out_of_memory", "try again later");
    free(text);
}

void http_request_complete_error(struct http_request *req, int status, const char *error,
                                 const char *detail)
{
    char *text = error_json(error, detail);
    http_request_complete(req, status, text ? text : "{\"error\":\"internal\"}");
    free(text);
}

enum http_method http_request_method(const struct http_request *req)
{
    return req->method;
}

const char *http_request_path(const struct http_request *req)
{
    return req->path;
}

const char *http_request_route_rest(const struct http_request *req)
{
    size_t n = req->route && req->route->prefix ? req->route_path_len : strlen(req->path);
    return req->path + n;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_request_query_len(const struct http_request *req, const char *name, size_t *len)
{
    const char *value = NULL;
    *len = 0;
    if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &value,
                                      len) != MHD_YES)
        return NULL;
    return value;
}

const char *http_request_body(const struct http_request *req, size_t *len)
{
    *len = req->body_len;
    return req->body ? req->body : "";
}

bool http_request_from_loopback(const struct http_request *req)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr)
        return false;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)sa;
        const uint8_t *b = v6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && b[12] == 127;
    }
    return false;
}

static bool append_body(struct http_request *req, const char *data, size_t len)
{
    if (req->body_len + len > req->body_max) {
        req->too_large = true;
        return false;
    }
    if (req->body_len + len + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 4096;
        while (cap < req->body_len + len + 1)
            cap *= 2;
        if (cap > req->body_max + 1)
            cap = req->body_max + 1;
        char *grown = realloc(req->body, cap);
        if (!grown)
            return false;
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
    return true;
}

static enum MHD_Result reject(struct http_request *req, int status, const char *error,
                              const char *detail)
{
    if (status == 413)
        stats_inc(STAT_HTTP_BODY_TOO_LARGE);
    http_respond_error(req, status, error, detail);
    return queue_response(req);
}

/* The client's address as text, for log lines ("?" when unknown). */
static void peer_text(struct MHD_Connection *conn, char *out, size_t cap)
{
    snprintf(out, cap, "?");
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)cap);
}

/* A refusal by http_policy: counted by kind and logged (rate-limited per kind: a
 * misconfigured proxy or allowlist shows up in the log without flooding it). */
static enum MHD_Result refuse(struct http_request *req, const struct http_verdict *v)
{
    static struct log_ratelimit rl_framing, rl_host, rl_origin, rl_media;
    struct log_ratelimit *rl = &rl_framing;
    const char *header = NULL;
    switch (v->status) {
    case 414:
    case 431:
        stats_inc(STAT_HTTP_REFUSED_HEAD_SIZE);
        break;
    case 421:
        stats_inc(STAT_HTTP_REFUSED_HOST);
        rl = &rl_host;
        header = "Host";
        break;
    case 403:
        stats_inc(STAT_HTTP_REFUSED_CROSS_ORIGIN);
        rl = &rl_origin;
        header = "Origin";
        break;
    case 415:
        stats_inc(STAT_HTTP_REFUSED_MEDIA_TYPE);
        rl = &rl_media;
        header = "Content-Type";
        break;
    default:
        stats_inc(STAT_HTTP_REFUSED_FRAMING);
        break;
    }
    int suppressed = 0;
    if (log_ratelimit_ok(rl, 5, 60000, &suppressed)) {
        char peer[64];
        peer_text(req->conn, peer, sizeof peer);
        const char *value = header ? http_request_header(req, header) : NULL;
        log_warn("http", "%d %s: %.60s from %s%s%s%.120s%s (%s; %d similar suppressed)", v->status,
                 v->error, req->path, peer, header ? ", " : "", header ? header : "",
                 header ? (value ? ": " : " absent") : "", value ? value : "", v->detail,
                 suppressed);
    }
    return reject(req, v->status, v->error, v->detail);
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct http_head *h = cls;
    (void)kind;
    h->header_fields++;
    h->header_bytes += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    if (kind == MHD_HEADER_KIND && !http_policy_field_name_ok(key))
        h->bad_field = true;
    if (!value)
        value = "";
    if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
        if (h->host_count++ == 0)
            h->host = value;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (h->content_length_count++ == 0)
            h->content_length = value;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        if (h->transfer_encoding_count++ == 0)
            h->transfer_encoding = value;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_ORIGIN) == 0) {
        if (!h->origin)
            h->origin = value;
    } else if (strcasecmp(key, "Sec-Fetch-Site") == 0) {
        if (!h->sec_fetch_site)
            h->sec_fetch_site = value;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_TYPE) == 0) {
        if (!h->content_type)
            h->content_type = value;
    }
    return MHD_YES;
}

static void read_head(struct http_request *req, const char *url, const char *version,
                      struct http_head *h)
{
    memset(h, 0, sizeof *h);
    h->http10 = strcmp(version, MHD_HTTP_VERSION_1_0) == 0;
    /* Without the URI log callback's figure (out of memory there), the decoded path. */
    h->target_len = req->target_len ? req->target_len : strlen(url);
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, scan_header, h);
}

static struct http_conn *connection_track(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

static struct http_request *new_request(struct http_server *srv, struct MHD_Connection *conn)
{
    struct http_request *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->server = srv;
    req->conn = conn;
    atomic_init(&req->resumed, false);
    return req;
}

/* libmicrohttpd has read a request line: the request object starts here. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_request *req = new_request(cls, conn);
    if (req)
        req->target_len = strlen(uri);
    return req;
}

/* The first call: the head is complete. */
static enum MHD_Result on_head(struct http_server *srv, struct http_request *req, const char *url,
                               const char *method, const char *version)
{
    req->started = true;
    req->path = url;
    req->method = parse_method(method);
    unsigned path_methods = 0;
    req->route = find_route(srv, url, req->method, &path_methods, &req->route_path_len);
    req->track = connection_track(req->conn);
    http_deadlines_head_done(srv->deadlines, req->track, false); /* until a body is read */

    struct http_head head;
    struct http_verdict v;
    read_head(req, url, version, &head);
    if (!http_policy_check_framing(&head, &v))
        return refuse(req, &v);
    enum http_plane plane = req->route ? req->route->plane : HTTP_PLANE_PUBLIC;
    if (plane != HTTP_PLANE_DATA && !http_policy_check_host(srv->policy, &head, &v))
        return refuse(req, &v);

    if (!req->route && srv->fallback && (req->method & (HTTP_GET | HTTP_HEAD))) {
        srv->fallback(srv->fallback_ctx, req);
        if (req->state == REQ_SUSPENDED)
            return MHD_YES;
        return queue_response(req);
    }
    if (!req->route)
        return reject(req, 404, "not_found", "no such path");
    if (!(req->route->methods & req->method)) {
        char allow[96];
        allow_header(path_methods, allow, sizeof allow);
        http_request_add_header(req, MHD_HTTP_HEADER_ALLOW, allow);
        char detail[160];
        snprintf(detail, sizeof detail, "%s is not allowed on %s; allowed: %s", method, url, allow);
        return reject(req, 405, "method_not_allowed", detail);
    }
    bool mutating = !(req->method & (HTTP_GET | HTTP_HEAD));
    if (plane == HTTP_PLANE_CONTROL && !http_policy_check_control(&head, mutating, &v))
        return refuse(req, &v);
    /* The route's access, before any body is read; the hook has answered a refusal. */
    if (req->route->access != HTTP_ACCESS_PUBLIC &&
        !srv->authorize(srv->authorize_ctx, req, req->route->access)) {
        if (req->status == 0) /* a hook that refused without answering: fail closed */
            return reject(req, 403, "forbidden", "not allowed");
        return queue_response(req);
    }
    if (req->route->gate && !req->route->gate(req->route->ctx, req)) {
        if (req->status == 0)
            return reject(req, 403, "forbidden", "not allowed");
        return queue_response(req);
    }
    if (req->method & (HTTP_POST | HTTP_PUT | HTTP_PATCH)) {
        req->body_max = req->route->max_body;
        const char *cl = head.content_length;
        if (cl) {
            char *end = NULL;
            unsigned long long n = strtoull(cl, &end, 10);
            if (end == cl || *end != '\0' || n > req->body_max) {
                char detail[128];
                snprintf(detail, sizeof detail, "the body is larger than the limit of %zu bytes",
                         req->body_max);
                return reject(req, 413, "payload_too_large", detail);
            }
        }
        req->state = REQ_BODY;
        http_deadlines_head_done(srv->deadlines, req->track, true);
        return MHD_YES;
    }
    /* No body: handle now. */
    req->route->handler(req->route->ctx, req);
    if (req->state == REQ_SUSPENDED)
        return MHD_YES;
    return queue_response(req);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;

    if (!req) {
        req = new_request(srv, conn); /* the URI log callback was out of memory */
        if (!req)
            return MHD_NO;
        *con_cls = req;
    }
    if (!req->started)
        return on_head(srv, req, url, method, version);

    switch (req->state) {
    case REQ_BODY:
        if (*upload_data_size > 0) {
            /* Past the ceiling the rest is read and dropped: libmicrohttpd cannot queue a
             * response in the middle of a body, so 413 goes out once it has ended. */
            if (!req->too_large && !append_body(req, upload_data, *upload_data_size) &&
                !req->too_large)
                return MHD_NO; /* out of memory */
            *upload_data_size = 0;
            return MHD_YES;
        }
        http_deadlines_body_done(req->track);
        if (req->too_large) {
            char detail[128];
            snprintf(detail, sizeof detail, "the body is larger than the limit of %zu bytes",
                     req->body_max);
            return reject(req, 413, "payload_too_large", detail);
        }
        req->state = REQ_HEADERS; /* body complete; handler decides */
        req->route->handler(req->route->ctx, req);
        if (req->state == REQ_SUSPENDED)
            return MHD_YES;
        return queue_response(req);
    case REQ_SUSPENDED:
        /* Resumed after completion from another thread. */
        return queue_response(req);
    case REQ_COMPLETED:
        return queue_response(req);
    case REQ_HEADERS:
    case REQ_HANDLED:
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) /* kept alive: the next head's deadline */
        http_deadlines_request_done(srv->deadlines, connection_track(conn));
    if (!req)
        return;
    if (req->was_suspended)
        atomic_fetch_sub(&srv->pending_async, 1);
    free(req->body);
    free(req->response);
    for (int i = 0; i < req->extra_count; i++) {
        free(req->extra_names[i]);
        free(req->extra_values[i]);
    }
    free(req);
    *con_cls = NULL;
}

/* Connection notifications (MHD's thread): the deadline entry lives in the socket
 * context from accept to the CLOSED notification, which comes before the socket is
 * closed. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        char peer[64];
        peer_text(conn, peer, sizeof peer);
        *socket_context = info ? http_deadlines_open(srv->deadlines, info->connect_fd, peer) : NULL;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        http_deadlines_close(srv->deadlines, *socket_context);
        *socket_context = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_debug("http", "libmicrohttpd: %s", msg);
}

/* Frees what http_server_new built before the daemon ran (accepts a half-built one). */
static void discard(struct http_server *srv)
{
    http_deadlines_free(srv->deadlines);
    http_policy_free(srv->policy);
    free(srv->routes_copy);
    free(srv);
}

/* A table the server can enforce: every READ/ADMIN route is control plane and has
 * an authorize hook to decide it. */
static bool routes_enforceable(const struct http_server_options *opts,
                               const struct http_route *routes, size_t route_count)
{
    for (size_t i = 0; i < route_count; i++) {
        const struct http_route *r = &routes[i];
        if (r->access == HTTP_ACCESS_PUBLIC)
            continue;
        if (r->plane != HTTP_PLANE_CONTROL || !opts->authorize) {
            log_error("http", "route %s: %s", r->path,
                      opts->authorize ? "a protected route must be on the control plane"
                                      : "a protected route needs an authorize hook");
            return false;
        }
    }
    return true;
}

struct http_server *http_server_new(const struct http_server_options *opts,
                                    const struct http_route *routes, size_t route_count)
{
    if (!routes_enforceable(opts, routes, route_count))
        return NULL;
    struct http_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NULL;
    srv->routes_copy = malloc(route_count * sizeof *routes);
    srv->policy =
        http_policy_new((const char *const *)opts->allowed_hosts, opts->allowed_host_count);
    struct http_deadline_options dopts = {
        .head_timeout_ms = opts->request_head_timeout_ms,
        .body_timeout_ms = opts->request_body_timeout_ms,
        .idle_timeout_ms = opts->connection_timeout_ms,
    };
    srv->deadlines = http_deadlines_new(&dopts);
    if (!srv->routes_copy || !srv->policy || !srv->deadlines) {
        discard(srv);
        return NULL;
    }
    memcpy(srv->routes_copy, routes, route_count * sizeof *routes);
    srv->routes = srv->routes_copy;
    srv->route_count = route_count;
    srv->fallback = opts->fallback;
    srv->fallback_ctx = opts->fallback_ctx;
    srv->authorize = opts->authorize;
    srv->authorize_ctx = opts->authorize_ctx;
    atomic_init(&srv->pending_async, 0);

    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, opts->address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)opts->port);
    } else if (inet_pton(AF_INET6, opts->address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)opts->port);
        flags |= MHD_USE_IPv6;
    } else {
        log_error("http", "server.address %s is not an IP address", opts->address);
        discard(srv);
        return NULL;
    }

    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, srv, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)opts->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)(opts->max_connections_per_ip > 0 ? opts->max_connections_per_ip : 0),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)((opts->connection_timeout_ms + 999) / 1000),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_LIMIT,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        srv, MHD_OPTION_END);
    if (!srv->daemon) {
        log_error("http", "cannot listen on %s:%d (address in use or not permitted?)",
                  opts->address, opts->port);
        discard(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : opts->port;
    log_info("http", "listening on %s:%d", opts->address, srv->port);
    char per_ip[48] = "no limit per client address";
    if (opts->max_connections_per_ip > 0)
        snprintf(per_ip, sizeof per_ip, "%d per client address", opts->max_connections_per_ip);
    log_info("http", "answering for %s; at most %d connections, %s",
             http_policy_describe(srv->policy), opts->max_connections, per_ip);
    return srv;
}

bool http_server_wait_idle(struct http_server *srv, int64_t timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    while (atomic_load(&srv->pending_async) > 0) {
        if (clock_mono_ms() >= deadline)
            return false;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL); /* shutdown only: poll for answers still being sent */
    }
    return true;
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    if (srv->daemon) {
        if (!http_server_wait_idle(srv, 10000)) {
            /* libmicrohttpd aborts the process if stopped with a suspended connection:
             * leave the daemon to the process exit instead. */
            log_error("http", "%d request(s) still waiting for an answer at shutdown",
                      atomic_load(&srv->pending_async));
            free(srv->routes_copy);
            return;
        }
        MHD_stop_daemon(srv->daemon); /* every connection's CLOSED notification first */
    }
    discard(srv);
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}
