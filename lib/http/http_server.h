/*
 * http_server — the HTTP front door: one libmicrohttpd daemon, a route table, request
 * bodies read with a ceiling, JSON responses, and asynchronous completion.
 *
 * Threads: libmicrohttpd's single epoll thread runs every handler. A handler answers
 * at once (http_respond*), or suspends the request (http_request_suspend) and
 * completes it later from any thread (http_request_complete) — that is how ingress
 * answers 202 only after JetStream's ack without a thread waiting per request.
 *
 * Every error leaves with a JSON body {"error": "...", "detail": "..."}. Unknown paths
 * get 404, wrong methods 405 with Allow, bodies over the route's ceiling 413 (checked
 * against Content-Length before reading, and while reading chunked bodies).
 *
 * Before routing, every request passes http_policy (framing, head sizes, and by the
 * route's plane the Host allowlist and the control plane's browser rules), and each
 * connection has a deadline for its request head and body (http_deadline). What is left
 * to libmicrohttpd, with its own HTML answers: a malformed request line or
 * Content-Length (400), and a head larger than the connection's memory pool (64 KiB:
 * 414 or 431; eventhub's own limits, 8 KiB of target and 16 KiB of header fields, answer
 * in JSON well before that). Connections past server.max_connections_per_ip from one
 * address are closed at accept, without an answer.
 *
 * Routes are data: a table of `struct http_route` with named fields, each carrying its
 * own rules — its plane (which of http_policy's rules apply) and its access (who may
 * call it). The server applies both before the handler runs, so no handler checks
 * authentication itself: a READ or ADMIN route is answered 401/403 by the server's
 * authorize hook (api_auth) unless the caller may, before any body is read.
 *
 * Routes are tried in order; a path may have several routes, one per set of methods
 * (GET /api/dlq is a read, POST /api/dlq/... is admin), and a method none of them takes
 * gets 405 with the union in Allow. A GET or HEAD that matches no path goes to the optional
 * fallback handler (the dashboard's files, web_ui), which answers 404 itself for what it
 * does not know; so the fallback can never shadow a route.
 */
#ifndef EVENTHUB_HTTP_SERVER_H
#define EVENTHUB_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_request;
struct http_server;

enum http_method {
    HTTP_GET = 1 << 0,
    HTTP_POST = 1 << 1,
    HTTP_PUT = 1 << 2,
    HTTP_DELETE = 1 << 3,
    HTTP_HEAD = 1 << 4,
    HTTP_OPTIONS = 1 << 5,
    HTTP_PATCH = 1 << 6,
};

typedef void (*http_handler_fn)(void *ctx, struct http_request *req);

/* Which of http_policy's rules a route gets. The zero value is the strictest: a route
 * that says nothing is control plane. Unknown paths and the fallback are PUBLIC. */
enum http_plane {
    HTTP_PLANE_CONTROL = 0, /* /api/..., /metrics: Host + cross-origin + JSON for mutations */
    HTTP_PLANE_PUBLIC,      /* /health, the dashboard's files: the Host rule */
    HTTP_PLANE_DATA,        /* POST /events: called by upstream systems by any DNS name */
};

/* Who may call a route; applied by the server through options.authorize. */
enum http_access {
    HTTP_ACCESS_PUBLIC = 0, /* anyone: POST /events, /health (other rules still apply) */
    HTTP_ACCESS_READ,       /* the control plane's reads (the token under protect_read_apis) */
    HTTP_ACCESS_ADMIN,      /* what changes something: the token, or loopback without one */
};

/* True when the request may go on; otherwise it has answered (401/403) already. */
typedef bool (*http_authorize_fn)(void *ctx, struct http_request *req, enum http_access access);
/* A route's own check of the head (ctx is the route's), before any body is read: true
 * to go on; otherwise it has answered already (a refusal without an answer is a 403). */
typedef bool (*http_gate_fn)(void *ctx, struct http_request *req);

struct http_route {
    const char *path;  /* the exact path, or with .prefix every path that starts with it */
    const char *alias; /* an older path answered the same way (may be NULL) */
    bool prefix;
    unsigned methods; /* bitmask of enum http_method */
    size_t max_body;  /* 0 = no body accepted; bodies are read for POST/PUT/PATCH */
    http_handler_fn handler;
    void *ctx;
    enum http_plane plane;
    enum http_access access; /* READ and ADMIN need plane CONTROL */
    http_gate_fn gate;       /* optional, after access: e.g. POST /events' API keys */
};

struct http_server_options {
    const char *address; /* IPv4 or IPv6 literal, "0.0.0.0" for all */
    int port;            /* 0 = any free port */
    int max_connections;
    int max_connections_per_ip; /* 0 = no limit per client address */
    int64_t connection_timeout_ms;
    int64_t request_head_timeout_ms; /* 0 = none; see http_deadline.h */
    int64_t request_body_timeout_ms;
    /* server.allowed_hosts (borrowed, copied): names added to the built-in ones. */
    char *const *allowed_hosts;
    size_t allowed_host_count;
    /* Optional: GET/HEAD requests that match no route (borrowed; NULL = plain 404). */
    http_handler_fn fallback;
    void *fallback_ctx;
    /* Decides READ and ADMIN routes (borrowed). Required when any route is not PUBLIC:
     * http_server_new refuses such a table without it. */
    http_authorize_fn authorize;
    void *authorize_ctx;
};

/* Starts listening. `routes` is copied (the handlers' ctx pointers are borrowed).
 * NULL on failure (logged). */
struct http_server *http_server_new(const struct http_server_options *opts,
                                    const struct http_route *routes, size_t route_count);
/* Waits until every suspended request has been answered and its response sent;
 * false on timeout. */
bool http_server_wait_idle(struct http_server *srv, int64_t timeout_ms);
/* Waits for suspended requests (bounded), then stops the daemon. Accepts NULL. */
void http_server_free(struct http_server *srv);
int http_server_port(const struct http_server *srv);

/* Request accessors (valid inside the handler, and until completion). */
enum http_method http_request_method(const struct http_request *req);
const char *http_request_path(const struct http_request *req);
/* The path after the route's own (for a prefix route: "/7/replay" of
 * "/api/v1/dlq/7/replay"), "" for an exact match. */
const char *http_request_route_rest(const struct http_request *req);
const char *http_request_header(const struct http_request *req, const char *name);
const char *http_request_query(const struct http_request *req, const char *name);
/* The same with the decoded value's length, so a %00 inside it can be noticed. */
const char *http_request_query_len(const struct http_request *req, const char *name, size_t *len);
const char *http_request_body(const struct http_request *req, size_t *len);
/* True when the client connected from a loopback address (127.0.0.0/8, ::1, or
 * ::ffff:127.x.y.z); false when unknown. */
bool http_request_from_loopback(const struct http_request *req);

/* Answers now, inside the handler. The body is copied. */
void http_respond(struct http_request *req, int status, const char *content_type, const char *body,
                  size_t len);
/* The same without a copy: `body` and `content_type` must outlive the request (static
 * data such as the embedded web assets). The body may be binary. */
void http_respond_static(struct http_request *req, int status, const char *content_type,
                         const void *body, size_t len);
void http_respond_json(struct http_request *req, int status, const char *json);
/* {"error": error, "detail": detail}; 503 adds Retry-After: retry_after_s. */
void http_respond_error(struct http_request *req, int status, const char *error,
                        const char *detail);
/* Adds a response header to whatever response this request gets (up to 12 per request;
 * more are dropped and logged). A Cache-Control added here replaces the default
 * "no-store". */
void http_request_add_header(struct http_request *req, const char *name, const char *value);

/* Inside the handler: the answer will come later through http_request_complete. */
void http_request_suspend(struct http_request *req);
/*
 * From any thread, exactly once per suspended request: sets the JSON answer and
 * wakes the connection. `json` is copied.
 */
void http_request_complete(struct http_request *req, int status, const char *json);
/*
 * Completes with the JSON text of `o` and deletes it (takes ownership; NULL or a
 * failed print answers 503 out_of_memory). Any thread, like http_request_complete.
 */
struct cJSON;
void http_request_complete_cjson(struct http_request *req, int status, struct cJSON *o);

/* The same with an error body {"error": error, "detail": detail}. */
void http_request_complete_error(struct http_request *req, int status, const char *error,
                                 const char *detail);
/* The same with any body; `content_type` must outlive the request (a literal). */
void http_request_complete_body(struct http_request *req, int status, const char *content_type,
                                const char *body, size_t len);

#endif
