/*
 * http_policy — what the HTTP server refuses before any handler sees a request.
 *
 * Three groups of rules, each a pure function of the request head (struct http_head,
 * the facts http_server collects from libmicrohttpd on the first handler call); which
 * groups apply is the route's plane (enum http_plane, http_server.h):
 *
 *   framing (every request)  one Host, Host required on HTTP/1.1, at most one
 *                            Content-Length, never Content-Length with Transfer-Encoding,
 *                            "chunked" the only transfer coding → 400 / 501; request
 *                            target ≤ 8 KiB → 414; ≤ 100 header fields and ≤ 16 KiB of
 *                            header bytes → 431. Two framings of one body are how
 *                            request smuggling starts: refuse them, do not pick one.
 *   Host (all but POST /events)  the Host header names this server → else 421. Against
 *                            DNS rebinding: a rebinding page always sends the attacker's
 *                            DNS name, never an IP literal, so IP literals (v4 and [v6])
 *                            always pass (probes and scrapes by pod IP keep working), as
 *                            do "localhost", the machine's host name and its short form,
 *                            and server.allowed_hosts ("*" lets everything in; "*.x.y"
 *                            any subdomain of x.y). The port is not compared; names
 *                            compare without case and without a trailing dot. A request
 *                            without Host (HTTP/1.0) or with an empty one passes: every
 *                            browser sends the name it resolved.
 *   control plane (/api/..., /metrics)  a browser on another origin is refused → 403
 *                            cross_origin: Sec-Fetch-Site cross-site or same-site (another
 *                            port of the same host is same-site), or an Origin that is
 *                            not the Host's own (scheme default port filled in; "null"
 *                            never matches). A request that changes something (any
 *                            method but GET and HEAD) must say Content-Type:
 *                            application/json, even with an empty body → 415: a page on
 *                            another origin can send that only after a CORS preflight,
 *                            which eventhub never approves (OPTIONS answers 405).
 *
 * Threads: the host set is built once (http_policy_new) and never changes; every
 * function may run on any thread without a lock.
 */
#ifndef EVENTHUB_HTTP_POLICY_H
#define EVENTHUB_HTTP_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_TARGET_BYTES (8 * 1024)  /* path + query, as sent */
#define HTTP_MAX_HEADER_BYTES (16 * 1024) /* sum over fields of name + value + 4 */
#define HTTP_MAX_HEADER_FIELDS 100

/* The facts of one request head. Strings are borrowed (libmicrohttpd's). */
struct http_head {
    bool http10;         /* the request line says HTTP/1.0 (Host optional) */
    size_t target_len;   /* the request target as sent */
    size_t header_bytes; /* name + value + 4 per field */
    size_t header_fields;
    const char *host; /* the first of each, NULL when absent */
    unsigned host_count;
    const char *content_length;
    unsigned content_length_count;
    const char *transfer_encoding;
    unsigned transfer_encoding_count;
    const char *origin;
    const char *sec_fetch_site;
    const char *content_type;
    bool bad_field; /* a field name that is not an RFC 9110 token (e.g. "Name :") */
};

/* Whether a header field name is an RFC 9110 token (a space before the colon is not). */
bool http_policy_field_name_ok(const char *name);

/* A refusal: the status and the error body's two fields (static strings). */
struct http_verdict {
    int status;
    const char *error;
    const char *detail;
};

struct http_policy;

/* Builds the host set: `allowed_hosts` (borrowed; entries as validated by the config
 * module) plus localhost and the machine's names. NULL on allocation failure. */
struct http_policy *http_policy_new(const char *const *allowed_hosts, size_t count);
void http_policy_free(struct http_policy *p); /* accepts NULL */
/* "localhost, myhost, myhost.example.com, ..." for the startup log (borrowed). */
const char *http_policy_describe(const struct http_policy *p);

/* Each returns true when the request may go on, else fills *v. */
bool http_policy_check_framing(const struct http_head *h, struct http_verdict *v);
bool http_policy_check_host(const struct http_policy *p, const struct http_head *h,
                            struct http_verdict *v);
bool http_policy_check_control(const struct http_head *h, bool mutating, struct http_verdict *v);

/* The pieces, for the tests and the config module. */

/* Is `host` (a Host header value, NULL/empty = absent) one this server answers for? A
 * malformed value is not. */
bool http_policy_host_allowed(const struct http_policy *p, const char *host);
/* Is the Origin header value the origin of a request whose Host is `host`? */
bool http_policy_same_origin(const char *origin, const char *host);
/* application/json, optionally with parameters ("; charset=utf-8"). */
bool http_policy_is_json(const char *content_type);

#endif
