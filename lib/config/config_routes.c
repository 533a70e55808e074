/*
 * config_routes — maps the `routes:` list: each route is {domain, endpoints}, each
 * endpoint a URL string or {url, timeout, headers, max_concurrent, rate_limit, secret or
 * secrets (Standard Webhooks keys, decoded here: core/webhook_signature)}. Shapes
 * are checked here, where the node and its line are at hand (required keys, non-empty
 * endpoint lists, header names and values, max_concurrent's range, the rate_limit
 * syntax); URLs, domains, defaults and duplicates are checked by config_validate.c.
 *
 * `events` (the kinds a route wants) is a list of strings checked here, item by item.
 *
 * Arrays are allocated zeroed with their final count before being filled, so a route
 * that fails half way is still freed correctly by config_free().
 *
 * Once mapped, each endpoint gets its display_url, label and key (cfg_route_display):
 * made here, once per load, so every place that shows an endpoint shows the same
 * redacted text and none of them redacts on its own, and every place that names its
 * lane (the retry subject and consumer) uses the same key.
 */
#include "config/config_routes.h"

#include "config/config.h"
#include "config/config_checks.h"
#include "config/config_yaml.h"
#include "core/redact.h"

#include "core/webhook_signature.h"

#include <openssl/crypto.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENDPOINT_MAX_CONCURRENT 10000            /* routes[].endpoints[].max_concurrent, at most */
#define RATE_MAX_PER_S 1000000.0                 /* routes[].endpoints[].rate_limit, at most */
#define ENDPOINT_MAX_SECRETS WEBHOOK_MAX_SECRETS /* routes[].endpoints[].secrets, at most */
#define RATE_MAX_DIGITS 18 /* digits of its number: the mantissa fits in 64 bits */

static bool header_token(const char *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && !strchr(extra, c))
            return false;
    }
    return true;
}

static const char *header_value_problem(const char *s)
{
    if (!*s)
        return "must not be empty";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\r' || c == '\n')
            return "must not contain CR or LF";
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return "must not contain control characters";
    }
    return NULL;
}

static void map_headers(struct cfg_ctx *ctx, struct endpoint *e, yaml_node_t *node,
                        const char *path)
{
    if (cfg_is_null(node))
        return;
    if (node->type != YAML_MAPPING_NODE) {
        cfg_error(ctx, cfg_line(node), path, "expected a mapping of Name: value, got %s",
                  cfg_kind(node));
        return;
    }
    size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    if (n == 0)
        return;
    e->headers = calloc(n, sizeof *e->headers);
    if (!e->headers) {
        cfg_oom(ctx);
        return;
    }
    e->header_count = n;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_pair_t *pair = &node->data.mapping.pairs.start[i];
        yaml_node_t *k = cfg_node(ctx, pair->key), *v = cfg_node(ctx, pair->value);
        bool scalar = k->type == YAML_SCALAR_NODE;
        const char *name = scalar ? (const char *)k->data.scalar.value : "";
        char hpath[CFG_PATH_MAX];
        cfg_child_path(hpath, path, name);
        if (!scalar || strlen(name) != k->data.scalar.length || !header_token(name)) {
            cfg_error(ctx, cfg_line(k), hpath, "not a valid header name");
            continue;
        }
        if (cfg_pair_is_dup(ctx, node, i, hpath, true))
            continue;
        if (cfg_ascii_casecmp(name, "Content-Length") == 0 ||
            cfg_ascii_casecmp(name, "Transfer-Encoding") == 0) {
            cfg_error(ctx, cfg_line(k), hpath, "is set by eventhub and cannot be configured");
            continue;
        }
        char *value = cfg_is_null(v) ? cfg_strdup(ctx, "") : cfg_scalar(ctx, v, hpath);
        if (!value)
            continue;
        const char *why = header_value_problem(value);
        if (why)
            cfg_error(ctx, cfg_line(v), hpath, "header value %s", why);
        else
            e->headers[i] = cfg_printf(ctx, "%s: %s", name, value);
        free(value);
    }
}

static void map_max_concurrent(struct cfg_ctx *ctx, struct endpoint *e, yaml_node_t *node,
                               const char *path)
{
    int64_t n;
    if (cfg_is_null(node) || !cfg_get_int(ctx, node, path, &n))
        return;
    if (n < 1 || n > ENDPOINT_MAX_CONCURRENT)
        cfg_error(ctx, cfg_line(node), path, "%lld is out of range (1..%d)", (long long)n,
                  ENDPOINT_MAX_CONCURRENT);
    else
        e->max_concurrent = (int)n;
}

/*
 * "N/s", "N/m" or "N/h", N a decimal number ("100", "0.5"), into calls per second.
 * -1 when it is not written that way; 0 when N is 0 (the caller refuses both).
 */
static double parse_rate(const char *s)
{
    uint64_t mantissa = 0, scale = 1;
    size_t digits = 0, fraction = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++, digits++)
        if (digits < RATE_MAX_DIGITS)
            mantissa = mantissa * 10 + (uint64_t)(*p - '0');
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, fraction++)
            if (digits + fraction < RATE_MAX_DIGITS) {
                mantissa = mantissa * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
    if (digits == 0 || p[-1] == '.' || digits + fraction > RATE_MAX_DIGITS || *p != '/')
        return -1;
    double seconds = p[1] == 's' ? 1 : p[1] == 'm' ? 60 : p[1] == 'h' ? 3600 : 0;
    if (seconds == 0 || p[2] != '\0')
        return -1;
    return (double)mantissa / (double)scale / seconds;
}

static void map_rate_limit(struct cfg_ctx *ctx, struct endpoint *e, yaml_node_t *node,
                           const char *path)
{
    if (cfg_is_null(node)) /* absent or null: unlimited */
        return;
    char *s = cfg_scalar(ctx, node, path);
    if (!s)
        return;
    double rate = parse_rate(s);
    if (rate < 0)
        cfg_error(ctx, cfg_line(node), path,
                  "expected a rate like \"100/s\" (a number of calls per s, m or h), got "
                  "\"%.40s\"",
                  s);
    else if (rate == 0)
        cfg_error(ctx, cfg_line(node), path,
                  "must be greater than 0 (leave rate_limit out for no limit)");
    else if (rate > RATE_MAX_PER_S)
        cfg_error(ctx, cfg_line(node), path, "\"%.40s\" is more than %.0f calls per second", s,
                  RATE_MAX_PER_S);
    else
        e->rate_per_s = rate;
    free(s);
}

/* One whsec_ secret (after ${ENV}) into e's next key; the message never quotes it. */
static void add_signing_key(struct cfg_ctx *ctx, struct endpoint *e, yaml_node_t *node,
                            const char *path)
{
    char *secret = cfg_scalar(ctx, node, path);
    if (!secret)
        return;
    char why[160];
    if (!webhook_key_decode(secret, &e->signing_keys[e->signing_key_count], why, sizeof why))
        cfg_error(ctx, cfg_line(node), path, "%s", why);
    else
        e->signing_key_count++;
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
}

/* secret: one whsec_ secret; secrets: [new, old, ...] for rotation (each signs). */
static void map_secrets(struct cfg_ctx *ctx, struct endpoint *e, yaml_node_t *node,
                        const char *path, bool list)
{
    if (e->signing_keys) {
        cfg_error(ctx, cfg_line(node), path, "give either secret or secrets, not both");
        return;
    }
    size_t n = 1;
    if (list) {
        if (node->type != YAML_SEQUENCE_NODE) {
            cfg_error(ctx, cfg_line(node), path, "expected a list of whsec_ secrets, got %s",
                      cfg_kind(node));
            return;
        }
        n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
        if (n == 0 || n > ENDPOINT_MAX_SECRETS) {
            cfg_error(ctx, cfg_line(node), path, "must list 1 to %d secrets", ENDPOINT_MAX_SECRETS);
            return;
        }
    }
    e->signing_keys = calloc(n, sizeof *e->signing_keys);
    if (!e->signing_keys) {
        cfg_oom(ctx);
        return;
    }
    if (!list) {
        add_signing_key(ctx, e, node, path);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char ipath[CFG_PATH_MAX];
        cfg_index_path(ipath, path, i);
        add_signing_key(ctx, e, cfg_node(ctx, node->data.sequence.items.start[i]), ipath);
    }
}

static void map_endpoint(struct cfg_ctx *ctx, struct endpoint *e, yaml_node_t *node,
                         const char *path)
{
    static const char *const keys[] = {"url",        "timeout", "headers", "max_concurrent",
                                       "rate_limit", "secret",  "secrets", NULL};
    e->line = cfg_line(node);
    if (node->type == YAML_SCALAR_NODE && !cfg_is_null(node)) {
        e->url = cfg_scalar(ctx, node, path);
        return;
    }
    if (node->type != YAML_MAPPING_NODE) {
        cfg_error(ctx, cfg_line(node), path,
                  "expected a URL or a mapping {url, timeout, headers}, got %s", cfg_kind(node));
        return;
    }
    bool have_url = false;
    size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_pair_t *pair = &node->data.mapping.pairs.start[i];
        yaml_node_t *k = cfg_node(ctx, pair->key), *v = cfg_node(ctx, pair->value);
        const char *key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?";
        char child[CFG_PATH_MAX];
        cfg_child_path(child, path, key);
        if (cfg_pair_is_dup(ctx, node, i, child, false))
            continue;
        if (strcmp(key, "url") == 0) {
            have_url = true;
            e->line = cfg_line(v);
            e->url = cfg_scalar(ctx, v, child);
        } else if (strcmp(key, "timeout") == 0) {
            if (!cfg_is_null(v))
                cfg_get_duration(ctx, v, child, false, &e->timeout_ms);
        } else if (strcmp(key, "headers") == 0) {
            map_headers(ctx, e, v, child);
        } else if (strcmp(key, "max_concurrent") == 0) {
            map_max_concurrent(ctx, e, v, child);
        } else if (strcmp(key, "rate_limit") == 0) {
            map_rate_limit(ctx, e, v, child);
        } else if (strcmp(key, "secret") == 0 || strcmp(key, "secrets") == 0) {
            map_secrets(ctx, e, v, child, strcmp(key, "secrets") == 0);
        } else {
            cfg_unknown_key(ctx, keys, cfg_line(k), key, child);
        }
    }
    if (!have_url)
        cfg_error(ctx, cfg_line(node), path, "missing required key \"url\"");
}

static void map_endpoints(struct cfg_ctx *ctx, struct route *r, yaml_node_t *node, const char *path)
{
    if (node->type != YAML_SEQUENCE_NODE) {
        cfg_error(ctx, cfg_line(node), path, "expected a list of endpoint URLs, got %s",
                  cfg_kind(node));
        return;
    }
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n == 0) {
        cfg_error(ctx, cfg_line(node), path, "must list at least one endpoint");
        return;
    }
    r->endpoints = calloc(n, sizeof *r->endpoints);
    if (!r->endpoints) {
        cfg_oom(ctx);
        return;
    }
    r->endpoint_count = n;
    for (size_t i = 0; i < n; i++) {
        char ipath[CFG_PATH_MAX];
        cfg_index_path(ipath, path, i);
        r->endpoints[i].timeout_ms = -1;     /* inherit delivery.timeout (config.c) */
        r->endpoints[i].max_concurrent = -1; /* inherit delivery.endpoint_max_concurrent */
        map_endpoint(ctx, &r->endpoints[i], cfg_node(ctx, node->data.sequence.items.start[i]),
                     ipath);
    }
}

static void map_route(struct cfg_ctx *ctx, struct route *r, yaml_node_t *node, const char *path)
{
    static const char *const keys[] = {"domain", "endpoints", "events", NULL};
    r->line = cfg_line(node);
    if (node->type != YAML_MAPPING_NODE) {
        cfg_error(ctx, r->line, path, "expected a mapping {domain, endpoints, events}, got %s",
                  cfg_kind(node));
        return;
    }
    bool have_domain = false, have_endpoints = false;
    size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_pair_t *pair = &node->data.mapping.pairs.start[i];
        yaml_node_t *k = cfg_node(ctx, pair->key), *v = cfg_node(ctx, pair->value);
        const char *key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?";
        char child[CFG_PATH_MAX];
        cfg_child_path(child, path, key);
        if (cfg_pair_is_dup(ctx, node, i, child, false))
            continue;
        if (strcmp(key, "domain") == 0) {
            have_domain = true;
            r->domain = cfg_is_null(v) ? cfg_strdup(ctx, "") : cfg_scalar(ctx, v, child);
        } else if (strcmp(key, "endpoints") == 0) {
            have_endpoints = true;
            map_endpoints(ctx, r, v, child);
        } else if (strcmp(key, "events") == 0) {
            /* absent (or null) = every kind */
            cfg_get_optional_list(ctx, v, child, cfg_route_kind_problem, "kind", "events",
                                  &r->event_kinds, &r->event_kind_count);
        } else {
            cfg_unknown_key(ctx, keys, cfg_line(k), key, child);
        }
    }
    if (!have_domain)
        cfg_error(ctx, r->line, path, "missing required key \"domain\"");
    if (!have_endpoints)
        cfg_error(ctx, r->line, path, "missing required key \"endpoints\"");
}

void cfg_map_routes(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                    yaml_node_t *value, const char *path)
{
    (void)f;
    (void)rec;
    struct config *cfg = ctx->cfg;
    if (cfg_is_null(value))
        return;
    if (value->type != YAML_SEQUENCE_NODE) {
        cfg_error(ctx, cfg_line(value), path, "expected a list of routes, got %s", cfg_kind(value));
        return;
    }
    size_t n = (size_t)(value->data.sequence.items.top - value->data.sequence.items.start);
    if (n == 0)
        return;
    if (n > UINT32_MAX - 1) {
        cfg_error(ctx, cfg_line(value), path, "too many routes");
        return;
    }
    cfg->routes = calloc(n, sizeof *cfg->routes);
    if (!cfg->routes) {
        cfg_oom(ctx);
        return;
    }
    cfg->route_count = n;
    for (size_t i = 0; i < n; i++) {
        char ipath[CFG_PATH_MAX];
        snprintf(ipath, sizeof ipath, "routes[%zu]", i);
        map_route(ctx, &cfg->routes[i], cfg_node(ctx, value->data.sequence.items.start[i]), ipath);
    }
}

/* Same URL and same header lines: one endpoint as far as anyone can tell them apart. */
static bool same_endpoint(const struct endpoint *a, const struct endpoint *b)
{
    if (strcmp(a->url, b->url) != 0 || a->header_count != b->header_count)
        return false;
    for (size_t h = 0; h < a->header_count; h++) {
        const char *x = a->headers[h] ? a->headers[h] : "", *y = b->headers[h] ? b->headers[h] : "";
        if (strcmp(x, y) != 0)
            return false;
    }
    return true;
}

static uint64_t fnv1a64(uint64_t h, const char *s)
{
    /* The terminating NUL is hashed too: it separates the fields. */
    do {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    } while (*s++);
    return h;
}

/* The endpoint's key (config.h): its domain and label, hashed. The label is the
 * redacted URL (and " #n" among endpoints that differ only in secrets): the key, which
 * read APIs show, carries nothing of a secret, and a rotated token or header value
 * keeps the endpoint's key and so its parked deliveries. */
static void endpoint_key(const char *domain, struct endpoint *e)
{
    uint64_t h = 14695981039346656037ull;
    h = fnv1a64(h, domain ? domain : "");
    h = fnv1a64(h, e->label ? e->label : "");
    snprintf(e->key, sizeof e->key, "%016" PRIx64, h);
}

void cfg_route_display(struct cfg_ctx *ctx, struct route *r)
{
    /* ordinal[j]: endpoint j is the n-th distinct one with its display_url (an exact
     * repeat of an earlier endpoint takes that one's number, and so its label). */
    unsigned *ordinal = r->endpoint_count ? calloc(r->endpoint_count, sizeof *ordinal) : NULL;
    if (r->endpoint_count && !ordinal) {
        cfg_oom(ctx);
        return;
    }
    for (size_t j = 0; j < r->endpoint_count; j++) {
        struct endpoint *e = &r->endpoints[j];
        if (!e->url)
            continue; /* reported by the mapper */
        e->display_url = redact_url(e->url);
        if (!e->display_url) {
            cfg_oom(ctx);
            break;
        }
        unsigned highest = 0;
        for (size_t i = 0; i < j && !ordinal[j]; i++) {
            const struct endpoint *o = &r->endpoints[i];
            if (!o->display_url || strcmp(o->display_url, e->display_url) != 0)
                continue;
            if (same_endpoint(o, e))
                ordinal[j] = ordinal[i];
            else if (ordinal[i] > highest)
                highest = ordinal[i];
        }
        if (!ordinal[j])
            ordinal[j] = highest + 1;
        e->label = ordinal[j] == 1 ? cfg_strdup(ctx, e->display_url)
                                   : cfg_printf(ctx, "%s #%u", e->display_url, ordinal[j]);
        endpoint_key(r->domain, e);
    }
    free(ordinal);
}
