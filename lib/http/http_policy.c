/*
 * http_policy — see http_policy.h.
 *
 * The host set is a short list of lowercased names (and ".suffix" entries for "*.x"),
 * searched linearly: a handful of entries, compared once per request.
 */
#include "http/http_policy.h"

#include "core/hostname.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct http_policy {
    bool any; /* "*" */
    char **names;
    size_t name_count;
    char **suffixes; /* ".example.com" for "*.example.com" */
    size_t suffix_count;
    char *description;
};

static bool add_string(char ***list, size_t *count, const char *s)
{
    for (size_t i = 0; i < *count; i++)
        if (strcmp((*list)[i], s) == 0)
            return true;
    char **grown = realloc(*list, (*count + 1) * sizeof *grown);
    if (!grown)
        return false;
    *list = grown;
    grown[*count] = strdup(s);
    if (!grown[*count])
        return false;
    (*count)++;
    return true;
}

/* The machine's name and its first label, when they are host names. */
static bool add_machine_names(struct http_policy *p)
{
    char raw[256] = {0};
    char name[HOSTNAME_MAX + 2];
    if (gethostname(raw, sizeof raw - 1) != 0 ||
        !hostname_normalize(raw, strlen(raw), name, sizeof name))
        return true;
    if (!add_string(&p->names, &p->name_count, name))
        return false;
    char *dot = strchr(name, '.');
    if (dot) {
        *dot = '\0';
        if (hostname_valid(name) && !add_string(&p->names, &p->name_count, name))
            return false;
    }
    return true;
}

static bool add_entry(struct http_policy *p, const char *entry)
{
    char name[HOSTNAME_MAX + 2];
    if (strcmp(entry, "*") == 0) {
        p->any = true;
        return true;
    }
    if (entry[0] == '*' && entry[1] == '.') {
        if (!hostname_normalize(entry + 2, strlen(entry + 2), name + 1, sizeof name - 1))
            return true; /* refused by the config module already */
        name[0] = '.';
        return add_string(&p->suffixes, &p->suffix_count, name);
    }
    int port;
    if (hostname_parse_host(entry, strlen(entry), name, sizeof name, &port) != HOST_NAME)
        return true; /* IP literals pass anyway */
    return add_string(&p->names, &p->name_count, name);
}

static bool describe(struct http_policy *p)
{
    size_t len = 64;
    for (size_t i = 0; i < p->name_count; i++)
        len += strlen(p->names[i]) + 2;
    for (size_t i = 0; i < p->suffix_count; i++)
        len += strlen(p->suffixes[i]) + 3;
    p->description = malloc(len);
    if (!p->description)
        return false;
    if (p->any) {
        snprintf(p->description, len, "any host (server.allowed_hosts: \"*\")");
        return true;
    }
    size_t o = (size_t)snprintf(p->description, len, "IP literals");
    for (size_t i = 0; i < p->name_count; i++)
        o += (size_t)snprintf(p->description + o, len - o, ", %s", p->names[i]);
    for (size_t i = 0; i < p->suffix_count; i++)
        o += (size_t)snprintf(p->description + o, len - o, ", *%s", p->suffixes[i]);
    return true;
}

struct http_policy *http_policy_new(const char *const *allowed_hosts, size_t count)
{
    struct http_policy *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    bool ok = add_string(&p->names, &p->name_count, "localhost") && add_machine_names(p);
    for (size_t i = 0; ok && i < count; i++)
        ok = add_entry(p, allowed_hosts[i]);
    if (!ok || !describe(p)) {
        http_policy_free(p);
        return NULL;
    }
    return p;
}

void http_policy_free(struct http_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->name_count; i++)
        free(p->names[i]);
    free(p->names);
    for (size_t i = 0; i < p->suffix_count; i++)
        free(p->suffixes[i]);
    free(p->suffixes);
    free(p->description);
    free(p);
}

const char *http_policy_describe(const struct http_policy *p)
{
    return p->description;
}

/* Parsing ------------------------------------------------------------------------------ */

/* ":1234" (1..5 digits, ≤ 65535) → the number; "" → -1; anything else → -2. */
static bool name_allowed(const struct http_policy *p, const char *name)
{
    for (size_t i = 0; i < p->name_count; i++)
        if (strcmp(p->names[i], name) == 0)
            return true;
    size_t n = strlen(name);
    for (size_t i = 0; i < p->suffix_count; i++) {
        size_t s = strlen(p->suffixes[i]);
        if (n > s && strcmp(name + n - s, p->suffixes[i]) == 0)
            return true;
    }
    return false;
}

bool http_policy_host_allowed(const struct http_policy *p, const char *host)
{
    if (!host || !*host || p->any)
        return true;
    char name[HOSTNAME_MAX + 2];
    int port;
    switch (hostname_parse_host(host, strlen(host), name, sizeof name, &port)) {
    case HOST_IP:
        return true;
    case HOST_NAME:
        return name_allowed(p, name);
    case HOST_MALFORMED:
        break;
    }
    return false;
}

bool http_policy_same_origin(const char *origin, const char *host)
{
    if (!origin || !host)
        return false;
    int default_port;
    const char *rest;
    if (strncasecmp(origin, "http://", 7) == 0) {
        default_port = 80;
        rest = origin + 7;
    } else if (strncasecmp(origin, "https://", 8) == 0) {
        default_port = 443;
        rest = origin + 8;
    } else {
        return false; /* "null", file:, another scheme */
    }
    char oname[HOSTNAME_MAX + 2], hname[HOSTNAME_MAX + 2];
    int oport, hport;
    enum host_class oc = hostname_parse_host(rest, strlen(rest), oname, sizeof oname, &oport);
    enum host_class hc = hostname_parse_host(host, strlen(host), hname, sizeof hname, &hport);
    if (oc == HOST_MALFORMED || oc != hc)
        return false;
    if (oport < 0)
        oport = default_port;
    if (hport < 0) /* a browser leaves the scheme's default port out of Host */
        hport = default_port;
    if (oport != hport)
        return false;
    if (oc == HOST_NAME)
        return strcmp(oname, hname) == 0;
    /* IP literals: the text without the port, compared without case ([::A] = [::a]). */
    size_t olen = strcspn(rest, rest[0] == '[' ? "]" : ":");
    size_t hlen = strcspn(host, host[0] == '[' ? "]" : ":");
    return olen == hlen && strncasecmp(rest, host, olen) == 0;
}

bool http_policy_is_json(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    char next = ct[sizeof want - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

/* The rules ---------------------------------------------------------------------------- */

static bool refuse(struct http_verdict *v, int status, const char *error, const char *detail)
{
    v->status = status;
    v->error = error;
    v->detail = detail;
    return false;
}

/* Exactly what libmicrohttpd frames as chunked: anything else it would read differently. */
static bool is_chunked(const char *te)
{
    return strcasecmp(te, "chunked") == 0;
}

bool http_policy_field_name_ok(const char *name)
{
    if (!*name)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        unsigned char c = *p;
        bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     (c && strchr("!#$%&'*+-.^_`|~", c));
        if (!tchar)
            return false;
    }
    return true;
}

bool http_policy_check_framing(const struct http_head *h, struct http_verdict *v)
{
    if (h->target_len > HTTP_MAX_TARGET_BYTES)
        return refuse(v, 414, "uri_too_long", "the request target is longer than 8 KiB");
    if (h->header_fields > HTTP_MAX_HEADER_FIELDS)
        return refuse(v, 431, "headers_too_large", "more than 100 header fields");
    if (h->header_bytes > HTTP_MAX_HEADER_BYTES)
        return refuse(v, 431, "headers_too_large", "the header fields exceed 16 KiB");
    if (h->bad_field)
        return refuse(v, 400, "bad_request",
                      "a header field name is not a token (no spaces before the colon)");
    if (h->host_count > 1)
        return refuse(v, 400, "bad_request", "more than one Host header");
    if (h->host_count == 0 && !h->http10)
        return refuse(v, 400, "bad_request", "an HTTP/1.1 request needs a Host header");
    if (h->content_length_count > 1)
        return refuse(v, 400, "bad_request", "more than one Content-Length header");
    if (h->transfer_encoding_count > 0 && h->content_length_count > 0)
        return refuse(v, 400, "bad_request",
                      "Content-Length and Transfer-Encoding together: send one of them");
    if (h->transfer_encoding_count > 1)
        return refuse(v, 400, "bad_request", "more than one Transfer-Encoding header");
    if (h->transfer_encoding_count == 1 && !is_chunked(h->transfer_encoding))
        return refuse(v, 501, "not_implemented", "the only transfer coding accepted is chunked");
    return true;
}

bool http_policy_check_host(const struct http_policy *p, const struct http_head *h,
                            struct http_verdict *v)
{
    if (!p || http_policy_host_allowed(p, h->host))
        return true;
    char name[HOSTNAME_MAX + 2];
    int port;
    if (hostname_parse_host(h->host, strlen(h->host), name, sizeof name, &port) == HOST_MALFORMED)
        return refuse(v, 400, "bad_request", "the Host header is not host[:port]");
    return refuse(v, 421, "misdirected_request",
                  "this server does not answer for that Host name; an operator can add it "
                  "to server.allowed_hosts");
}

bool http_policy_check_control(const struct http_head *h, bool mutating, struct http_verdict *v)
{
    const char *site = h->sec_fetch_site;
    if (site && (strcasecmp(site, "cross-site") == 0 || strcasecmp(site, "same-site") == 0))
        return refuse(v, 403, "cross_origin",
                      "the control plane does not answer pages of other sites (Sec-Fetch-Site)");
    if (h->origin && !http_policy_same_origin(h->origin, h->host))
        return refuse(v, 403, "cross_origin",
                      "the control plane does not answer pages of other origins (Origin)");
    if (mutating && !http_policy_is_json(h->content_type))
        return refuse(v, 415, "unsupported_media_type",
                      "a request that changes something must be sent with Content-Type: "
                      "application/json (the body may be empty)");
    return true;
}
