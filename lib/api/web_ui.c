/*
 * web_ui — see web_ui.h.
 */
#include "api/web_ui.h"

#include "http/http_server.h"
#include "api/web_assets.h"

#include <string.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

bool web_ui_etag_matches(const char *if_none_match, const char *etag)
{
    if (!if_none_match || !etag)
        return false;
    size_t etag_len = strlen(etag);
    const char *p = if_none_match;
    for (;;) {
        while (is_space(*p) || *p == ',')
            p++;
        if (*p == '\0')
            return false;
        const char *start = p;
        while (*p != '\0' && *p != ',')
            p++;
        const char *end = p;
        while (end > start && is_space(end[-1]))
            end--;
        if (end - start == 1 && *start == '*')
            return true;
        if (end - start > 2 && start[0] == 'W' && start[1] == '/')
            start += 2; /* weak comparison: W/"x" matches "x" */
        if ((size_t)(end - start) == etag_len && memcmp(start, etag, etag_len) == 0)
            return true;
    }
}

static void add_headers(struct http_request *req, const struct web_asset *a)
{
    http_request_add_header(req, "ETag", a->etag);
    /* Always revalidated (cheap: ETag → 304), so after an upgrade the page and its
     * modules never mix versions. */
    http_request_add_header(req, "Cache-Control", "no-cache");
    http_request_add_header(req, "Content-Security-Policy", WEB_UI_CSP);
    http_request_add_header(req, "X-Content-Type-Options", "nosniff");
    http_request_add_header(req, "Referrer-Policy", "no-referrer");
    http_request_add_header(req, "X-Frame-Options", "DENY");
}

void web_ui_handle(void *ctx, struct http_request *req)
{
    (void)ctx;
    if (!(http_request_method(req) & (HTTP_GET | HTTP_HEAD))) {
        http_request_add_header(req, "Allow", "GET, HEAD");
        http_respond_error(req, 405, "method_not_allowed", "the dashboard answers GET and HEAD");
        return;
    }
    const char *path = http_request_path(req);
    const struct web_asset *a = web_asset_find(strcmp(path, "/") == 0 ? "/index.html" : path);
    if (!a) {
        http_respond_error(req, 404, "not_found", "no such path");
        return;
    }
    add_headers(req, a);
    if (web_ui_etag_matches(http_request_header(req, "If-None-Match"), a->etag)) {
        http_respond_static(req, 304, a->mime, "", 0);
        return;
    }
    /* HEAD: libmicrohttpd sends the headers (Content-Length included) and no body. */
    http_respond_static(req, 200, a->mime, a->data, a->len);
}
