/*
 * Unit tests: the route table eventhub serves (app_routes) under the server's access
 * rules. The table is walked as data: every route keeps its path, alias, methods,
 * access and plane, and gets a handler that counts its calls. A real http_server on
 * a loopback port and the real api_auth (admin token set, read APIs protected) then
 * answer each route's methods on its path and its alias:
 *  - no Authorization header, or a wrong token: 401, and the handler is not reached,
 *    for every READ and ADMIN route;
 *  - the admin token: the handler answers;
 *  - PUBLIC routes answer without a token.
 * And the table's shape: only /events and /health are public; on the control plane a
 * route that takes POST is ADMIN and a read-only one READ; every /api path is
 * /api/v1/..., an alias is its pre-v1 path.
 */
#include "app.h"
#include "config/config.h"
#include "http/api_auth.h"
#include "http/http_server.h"
#include "unit.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "route-walk-token"
#define YAML_WITH(protect_reads)                                                                   \
    "server:\n"                                                                                    \
    "  admin_token: " TOKEN "\n"                                                                   \
    "  protect_read_apis: " protect_reads "\n"                                                     \
    "routes:\n"                                                                                    \
    "  - domain: a.example.com\n"                                                                  \
    "    endpoints: [http://127.0.0.1:9/hook]\n"
#define YAML YAML_WITH("true")
/* The only routes anyone may call without a token (the data plane and the probe). */
static const char *const public_paths[] = {"/events", "/health"};

static int calls[APP_MAX_ROUTES];

static void count_call(void *ctx, struct http_request *req)
{
    int *counter = ctx;
    (*counter)++;
    http_respond_json(req, 200, "{\"reached\":true}");
}

static size_t discard_body(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* The status of `method path` (an empty JSON body for POST), -1 on a transport error. */
static long request(int port, const char *method, const char *path, const char *token)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    char auth[128];
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
    else if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return status;
}

static const struct {
    unsigned bit;
    const char *name;
} methods[] = {{HTTP_GET, "GET"}, {HTTP_HEAD, "HEAD"}, {HTTP_POST, "POST"}};

/* One route's methods on one of its paths. With protect_reads false, READ routes
 * are open and only ADMIN ones need the token. */
static void walk_path(int port, int i, const struct http_route *r, const char *path,
                      bool protect_reads)
{
    bool needs_token =
        r->access == HTTP_ACCESS_ADMIN || (r->access == HTTP_ACCESS_READ && protect_reads);
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        if (!(r->methods & methods[m].bit))
            continue;
        const char *method = methods[m].name;
        int before = calls[i];
        long status = 0;
        char what[200];
        if (needs_token) {
            status = request(port, method, path, NULL);
            snprintf(what, sizeof what, "%s %s without a token: 401 (got %ld), handler not reached",
                     method, path, status);
            unit_check(status == 401 && calls[i] == before, what, __FILE__, __LINE__);
            status = request(port, method, path, "wrong-" TOKEN);
            snprintf(what, sizeof what, "%s %s with a wrong token: 401 (got %ld), not reached",
                     method, path, status);
            unit_check(status == 401 && calls[i] == before, what, __FILE__, __LINE__);
            status = request(port, method, path, TOKEN);
        } else {
            status = request(port, method, path, NULL);
        }
        snprintf(what, sizeof what, "%s %s allowed: 200 (got %ld) from its handler", method, path,
                 status);
        unit_check(status == 200 && calls[i] == before + 1, what, __FILE__, __LINE__);
    }
}

static void walk_table(const char *yaml, bool protect_reads)
{
    char *errors = NULL;
    struct config *cfg = config_load_string(yaml, strlen(yaml), "t.yaml", &errors);
    CHECK(cfg != NULL);
    free(errors);
    if (!cfg)
        return;
    struct http_route routes[APP_MAX_ROUTES];
    size_t n = app_routes(NULL, cfg, routes, APP_MAX_ROUTES);
    CHECK(n > 0 && n <= APP_MAX_ROUTES);
    size_t protected_count = 0, gated = 0;
    for (size_t i = 0; i < n && i < APP_MAX_ROUTES; i++) {
        /* POST /events' gate (ingress.api_keys) belongs to its handler's ctx: it goes
         * with the handler (test_ingress_keys.py drives it). */
        if (routes[i].gate) {
            CHECK_STR(routes[i].path, "/events");
            gated++;
        }
        routes[i].gate = NULL;
        routes[i].handler = count_call;
        routes[i].ctx = &calls[i];
        protected_count += routes[i].access != HTTP_ACCESS_PUBLIC;
    }
    CHECK(protected_count >= 10); /* the whole control plane, not a stray route */
    CHECK_INT(gated, 1);

    struct api_auth *auth = api_auth_new(cfg);
    struct http_server_options opts = {
        .address = "127.0.0.1",
        .port = 0,
        .max_connections = 32,
        .connection_timeout_ms = 5000,
        .authorize = api_auth_authorize,
        .authorize_ctx = auth,
    };
    struct http_server *srv = auth ? http_server_new(&opts, routes, n) : NULL;
    CHECK(srv != NULL);
    if (srv) {
        int port = http_server_port(srv);
        for (size_t i = 0; i < n; i++) {
            walk_path(port, (int)i, &routes[i], routes[i].path, protect_reads);
            if (routes[i].alias)
                walk_path(port, (int)i, &routes[i], routes[i].alias, protect_reads);
        }
    }
    http_server_free(srv);
    api_auth_free(auth);

    /* Without an authorize hook, a table with protected routes is refused. */
    opts.authorize = NULL;
    CHECK(http_server_new(&opts, routes, n) == NULL);
    config_unref(cfg);
}

static void test_paths_are_versioned(void)
{
    char *errors = NULL;
    struct config *cfg = config_load_string(YAML, strlen(YAML), "t.yaml", &errors);
    free(errors);
    if (!cfg)
        return;
    struct http_route routes[APP_MAX_ROUTES];
    size_t n = app_routes(NULL, cfg, routes, APP_MAX_ROUTES);
    for (size_t i = 0; i < n && i < APP_MAX_ROUTES; i++) {
        const struct http_route *r = &routes[i];
        if (strncmp(r->path, "/api/", 5) == 0)
            unit_check(strncmp(r->path, "/api/v1/", 8) == 0, r->path, __FILE__, __LINE__);
        if (r->alias) {
            char want[128];
            snprintf(want, sizeof want, "/api/%s", r->path + strlen("/api/v1/"));
            CHECK_STR(r->alias, want);
        }
        bool listed = false;
        for (size_t p = 0; p < sizeof public_paths / sizeof public_paths[0]; p++)
            listed |= strcmp(r->path, public_paths[p]) == 0;
        unit_check((r->access == HTTP_ACCESS_PUBLIC) == listed, r->path, __FILE__, __LINE__);
        /* On the control plane, what changes something is ADMIN, what reads is READ. */
        if (r->access != HTTP_ACCESS_PUBLIC) {
            bool changes = (r->methods & ~(unsigned)(HTTP_GET | HTTP_HEAD)) != 0;
            unit_check(r->access == (changes ? HTTP_ACCESS_ADMIN : HTTP_ACCESS_READ), r->path,
                       __FILE__, __LINE__);
        }
        /* Protected routes are control plane (the Host and cross-origin rules apply). */
        if (r->access != HTTP_ACCESS_PUBLIC)
            unit_check(r->plane == HTTP_PLANE_CONTROL, r->path, __FILE__, __LINE__);
    }
    config_unref(cfg);
}

/* A hook that refuses without answering. */
static bool refuse_silently(void *ctx, struct http_request *req, enum http_access access)
{
    (void)ctx;
    (void)req;
    (void)access;
    return false;
}

static void test_silent_refusal_fails_closed(void)
{
    static int reached;
    struct http_route route = {.path = "/api/v1/x",
                               .methods = HTTP_GET,
                               .handler = count_call,
                               .ctx = &reached,
                               .access = HTTP_ACCESS_READ};
    struct http_server_options opts = {.address = "127.0.0.1",
                                       .max_connections = 4,
                                       .connection_timeout_ms = 5000,
                                       .authorize = refuse_silently};
    struct http_server *srv = http_server_new(&opts, &route, 1);
    CHECK(srv != NULL);
    if (!srv)
        return;
    CHECK_INT(request(http_server_port(srv), "GET", "/api/v1/x", NULL), 403);
    CHECK_INT(reached, 0);
    http_server_free(srv);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    walk_table(YAML, true);
    walk_table(YAML_WITH("false"), false);
    test_paths_are_versioned();
    test_silent_refusal_fails_closed();
    curl_global_cleanup();
    return unit_done();
}
