/*
 * web_ui — serves the dashboard: the files embedded from web/ (web_assets.h).
 *
 * GET / is index.html; GET /<path> is the embedded file at that path; HEAD the same
 * without the body; anything else 404 (JSON, like every error). It is installed as
 * the http_server's fallback, so it only sees GET/HEAD requests no route took and can
 * never shadow /api/..., /events, /health or /metrics.
 *
 * Every answer carries the security headers (a strict Content-Security-Policy: scripts,
 * styles, fonts and fetches from this origin only, images also as data: URLs; no
 * framing; nosniff; no referrer). Caching: a strong ETag from the content, 304 for a
 * matching If-None-Match; every file is "no-cache" (always revalidated, so a new
 * binary's page and modules show at once and never mix versions).
 *
 * Thread: libmicrohttpd's thread; stateless (the asset table is immutable), no I/O.
 * The dashboard's data comes from the APIs, which keep their own access rules.
 */
#ifndef EVENTHUB_WEB_UI_H
#define EVENTHUB_WEB_UI_H

#include <stdbool.h>

struct http_request;

#define WEB_UI_CSP                                                                                 \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "                   \
    "frame-ancestors 'none'"

/* The http_server fallback handler (ctx unused: pass NULL). */
void web_ui_handle(void *ctx, struct http_request *req);

/* True when an If-None-Match header value (a list of entity tags, weak or strong, or
 * "*") matches `etag` (quoted) by the weak comparison RFC 9110 prescribes for it. */
bool web_ui_etag_matches(const char *if_none_match, const char *etag);

#endif
