/*
 * config_validate — the rules about values, checked once the whole file is mapped:
 * the bounds written in the schema tables, NATS naming rules, and the relations between
 * fields (ack_wait against the fan-out time, connect_timeout against timeout, one
 * default route, unique domains). cfg_validate() is the single entry point.
 *
 * A field that kept its default has no line; errors about it name the canonical key
 * and borrow the line of the field that made the combination wrong, when there is one.
 */
#include "config_internal.h"

#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define OFF(member) offsetof(struct config, member)

/* Line and spelling of the key that set `offset`, or (0, canonical). */
static int where(const struct cfg_ctx *ctx, size_t offset, const char *canonical, const char **path)
{
    int line = 0;
    if (!cfg_prov_find(ctx, offset, &line, path))
        *path = canonical;
    return line;
}

/* `line`, or else the line that set `offset` (the other field of a pair). */
static int line_or(const struct cfg_ctx *ctx, int line, size_t offset)
{
    if (!line)
        cfg_prov_find(ctx, offset, &line, NULL);
    return line;
}

static bool is_set(const struct cfg_ctx *ctx, size_t offset)
{
    return cfg_prov_find(ctx, offset, NULL, NULL);
}

/* Schema bounds ----------------------------------------------------------------------- */

static int64_t read_number(const struct config *cfg, const struct cfg_field *f)
{
    const char *p = (const char *)cfg + f->offset;
    switch (f->type) {
    case CFG_T_INT:
        return *(const int *)p;
    case CFG_T_SIZE:
        return (int64_t) * (const size_t *)p;
    default:
        return *(const int64_t *)p;
    }
}

static void check_bounds(const char *canonical, const struct cfg_field *f, void *arg)
{
    struct cfg_ctx *ctx = arg;
    const char *key;
    if (f->flags & CFG_F_ALIAS) /* the canonical entry checks the same field */
        return;
    int line = where(ctx, f->offset, canonical, &key);
    switch (f->type) {
    case CFG_T_STR: {
        const char *s = *(char *const *)((const char *)ctx->cfg + f->offset);
        if (!(f->flags & CFG_F_OPTIONAL) && (!s || !*s))
            cfg_error(ctx, line, key, "must not be empty");
        break;
    }
    case CFG_T_INT:
    case CFG_T_I64:
    case CFG_T_SIZE:
    case CFG_T_SIZE64: {
        int64_t v = read_number(ctx->cfg, f);
        if (v < f->min || v > f->max)
            cfg_error(ctx, line, key, "%lld is out of range (%lld..%lld)", (long long)v,
                      (long long)f->min, (long long)f->max);
        else if (v == 0 && (f->flags & CFG_F_NONZERO))
            cfg_error(ctx, line, key, "0 is not allowed (use -1 for unlimited)");
        break;
    }
    case CFG_T_DURATION:
    case CFG_T_SECONDS: {
        int64_t v = read_number(ctx->cfg, f);
        if (v < f->min)
            cfg_error(ctx, line, key, "must be greater than 0");
        else if (v > f->max)
            cfg_error(ctx, line, key, "duration too large");
        break;
    }
    default:
        break;
    }
}

/* Names, subjects, URLs --------------------------------------------------------------- */

static bool is_space_or_ctl(unsigned char c)
{
    return c <= 0x20 || c == 0x7f;
}

/* Stream and durable consumer names (NATS rule). Empty is reported elsewhere. */
static const char *name_problem(const char *s)
{
    for (; *s; s++) {
        if (is_space_or_ctl((unsigned char)*s))
            return "must not contain spaces or control characters";
        if (strchr(".*>/\\", *s))
            return "must not contain '.', '*', '>', '/' or '\\'";
    }
    return NULL;
}

/* A NATS subject; with `pattern`, exactly one wildcard token ("*", or ">" last). */
static const char *subject_problem(const char *s, bool pattern)
{
    int wildcards = 0;
    for (const char *tok = s;;) {
        size_t n = strcspn(tok, ".");
        if (n == 0)
            return "has an empty token (a leading, trailing or doubled '.')";
        for (size_t i = 0; i < n; i++)
            if (is_space_or_ctl((unsigned char)tok[i]))
                return "must not contain spaces or control characters";
        bool star = n == 1 && tok[0] == '*', gt = n == 1 && tok[0] == '>';
        if (!star && !gt && (memchr(tok, '*', n) || memchr(tok, '>', n)))
            return "a wildcard must be a whole token";
        if (star || gt) {
            if (!pattern)
                return "must not contain wildcards";
            if (gt && tok[n])
                return "'>' must be the last token";
            wildcards++;
        }
        if (!tok[n])
            break;
        tok += n + 1;
    }
    if (pattern && wildcards != 1)
        return wildcards ? "must contain exactly one wildcard token"
                         : "must contain one wildcard token ('*', or '>' last) for the domain";
    return NULL;
}

/* Whether some subject matches both patterns. */
static bool subjects_overlap(const char *a, const char *b)
{
    for (;;) {
        size_t na = strcspn(a, "."), nb = strcspn(b, ".");
        if ((na == 1 && *a == '>') || (nb == 1 && *b == '>'))
            return true;
        bool wild = (na == 1 && *a == '*') || (nb == 1 && *b == '*');
        if (!wild && (na != nb || memcmp(a, b, na) != 0))
            return false;
        a += na;
        b += nb;
        if (!*a || !*b)
            return !*a && !*b;
        a++;
        b++;
    }
}

const char *cfg_url_problem(const char *url, const char *const *schemes, const char *bad_scheme)
{
    const char *rest = NULL;
    for (size_t i = 0; schemes[i] && !rest; i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(url, schemes[i], n) == 0 && strncmp(url + n, "://", 3) == 0)
            rest = url + n + 3;
    }
    if (!rest)
        return bad_scheme;
    for (const char *p = url; *p; p++)
        if (is_space_or_ctl((unsigned char)*p))
            return "URL must not contain spaces or control characters";
    size_t alen = strcspn(rest, "/?#");
    const char *at = NULL;
    for (const char *p = rest; p < rest + alen; p++)
        if (*p == '@')
            at = p;
    const char *host = at ? at + 1 : rest, *end = rest + alen;
    const char *port = NULL;
    if (host < end && *host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (!close || close == host + 1)
            return "URL has an invalid IPv6 address";
        if (close + 1 < end) {
            if (close[1] != ':')
                return "URL has an invalid host";
            port = close + 2;
        }
    } else {
        const char *colon = memchr(host, ':', (size_t)(end - host));
        if (colon == host || host == end)
            return "URL has no host";
        if (colon)
            port = colon + 1;
    }
    if (port) {
        long v = 0;
        if (port == end || end - port > 5)
            return "URL has an invalid port";
        for (const char *p = port; p < end; p++) {
            if (*p < '0' || *p > '9')
                return "URL has an invalid port";
            v = v * 10 + (*p - '0');
        }
        if (v < 1 || v > 65535)
            return "URL has an invalid port";
    }
    return NULL;
}

enum name_kind { NAME, SUBJECT, PATTERN };

/* Checks a NATS name or subject field; true when it is usable for further checks. */
static bool check_name(struct cfg_ctx *ctx, size_t offset, const char *canonical,
                       enum name_kind kind)
{
    const char *value = *(char *const *)((const char *)ctx->cfg + offset);
    if (!value || !*value)
        return false; /* reported by check_bounds */
    const char *why = kind == NAME ? name_problem(value) : subject_problem(value, kind == PATTERN);
    if (why) {
        const char *key;
        int line = where(ctx, offset, canonical, &key);
        cfg_error(ctx, line, key, "\"%.80s\" %s", value, why);
    }
    return why == NULL;
}

/* The rules --------------------------------------------------------------------------- */

static void validate_nats(struct cfg_ctx *ctx)
{
    struct config *cfg = ctx->cfg;
    const char *key;
    int line;

    if (ctx->url_embedded_line && cfg->nats.server_count)
        cfg_error(ctx, ctx->servers_line, "nats.servers",
                  "cannot be combined with nats.url: embedded (line %d)", ctx->url_embedded_line);
    if (cfg->nats.password && !cfg->nats.user) {
        line = where(ctx, OFF(nats.password), "nats.password", &key);
        cfg_error(ctx, line, key, "requires nats.user");
    }

    bool stream_ok = check_name(ctx, OFF(nats.stream_name), "nats.stream.name", NAME);
    bool pattern_ok =
        check_name(ctx, OFF(nats.subject_pattern), "nats.stream.subject_pattern", PATTERN);
    check_name(ctx, OFF(nats.consumer_name), "nats.consumer.name", NAME);
    /* Derived names are valid when the stream name is; check them when written out. */
    bool dlq_ok = is_set(ctx, OFF(nats.dlq_stream))
                      ? check_name(ctx, OFF(nats.dlq_stream), "nats.dead_letter.stream", NAME)
                      : stream_ok;
    bool prefix_ok = is_set(ctx, OFF(nats.dlq_subject_prefix))
                         ? check_name(ctx, OFF(nats.dlq_subject_prefix),
                                      "nats.dead_letter.subject_prefix", SUBJECT)
                         : stream_ok;
    bool deliver_ok =
        is_set(ctx, OFF(nats.deliver_subject))
            ? check_name(ctx, OFF(nats.deliver_subject), "nats.consumer.deliver_subject", SUBJECT)
            : stream_ok;
    if (is_set(ctx, OFF(nats.deliver_group))) { /* the default is the consumer name */
        for (const char *p = cfg->nats.deliver_group; *p; p++) {
            if (is_space_or_ctl((unsigned char)*p)) {
                line = where(ctx, OFF(nats.deliver_group), "nats.consumer.deliver_group", &key);
                cfg_error(ctx, line, key, "must not contain spaces or control characters");
                break;
            }
        }
    }

    if (stream_ok && dlq_ok && strcmp(cfg->nats.stream_name, cfg->nats.dlq_stream) == 0) {
        line = where(ctx, OFF(nats.dlq_stream), "nats.dead_letter.stream", &key);
        cfg_error(ctx, line, key, "must differ from the event stream name");
    }
    if (pattern_ok && prefix_ok) {
        char dlq_subjects[CFG_PATH_MAX];
        snprintf(dlq_subjects, sizeof dlq_subjects, "%s.>", cfg->nats.dlq_subject_prefix);
        if (subjects_overlap(cfg->nats.subject_pattern, dlq_subjects)) {
            line =
                where(ctx, OFF(nats.dlq_subject_prefix), "nats.dead_letter.subject_prefix", &key);
            cfg_error(ctx, line, key, "%s overlaps the event subjects %s", dlq_subjects,
                      cfg->nats.subject_pattern);
        }
    }
    if (pattern_ok && deliver_ok &&
        subjects_overlap(cfg->nats.subject_pattern, cfg->nats.deliver_subject)) {
        line = where(ctx, OFF(nats.deliver_subject), "nats.consumer.deliver_subject", &key);
        cfg_error(ctx, line, key, "%s overlaps the event subjects %s", cfg->nats.deliver_subject,
                  cfg->nats.subject_pattern);
    }

    if (cfg->nats.max_age_ms > 0 && cfg->nats.duplicate_window_ms > cfg->nats.max_age_ms) {
        char dw[32], age[32];
        cfg_format_duration(cfg->nats.duplicate_window_ms, dw, sizeof dw);
        cfg_format_duration(cfg->nats.max_age_ms, age, sizeof age);
        line = where(ctx, OFF(nats.duplicate_window_ms), "nats.stream.duplicate_window", &key);
        line = line_or(ctx, line, OFF(nats.max_age_ms));
        cfg_error(ctx, line, key, "%s must not exceed nats.stream.max_age (%s)", dw, age);
    }
}

/* The consumer's ack_wait must outlast the whole fan-out of one event. */
static void validate_ack_wait(struct cfg_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    int64_t longest = config_max_endpoint_timeout_ms(cfg);
    if (cfg->nats.ack_wait_ms < 1 || cfg->nats.ack_wait_ms - CFG_ACK_MARGIN_MS > longest)
        return;
    const char *key;
    int line = where(ctx, OFF(nats.ack_wait_ms), "nats.consumer.ack_wait", &key);
    for (size_t i = 0; !line && i < cfg->route_count; i++)
        for (size_t j = 0; !line && j < cfg->routes[i].endpoint_count; j++)
            if (cfg->routes[i].endpoints[j].timeout_ms == longest)
                line = cfg->routes[i].endpoints[j].line;
    line = line_or(ctx, line, OFF(delivery.timeout_ms));
    char ack[32], lo[32], margin[32], sum[32];
    cfg_format_duration(cfg->nats.ack_wait_ms, ack, sizeof ack);
    cfg_format_duration(longest, lo, sizeof lo);
    cfg_format_duration(CFG_ACK_MARGIN_MS, margin, sizeof margin);
    cfg_format_duration(longest + CFG_ACK_MARGIN_MS, sum, sizeof sum);
    cfg_error(ctx, line, key,
              "%s must exceed the longest endpoint timeout (%s) plus %s of margin, or NATS "
              "redelivers events that are still being delivered; set it above %s",
              ack, lo, margin, sum);
}

static void validate_routes(struct cfg_ctx *ctx)
{
    static const char *const http[] = {"http", "https", NULL};
    const struct config *cfg = ctx->cfg;
    const struct route *first_default = NULL;
    for (size_t i = 0; i < cfg->route_count; i++) {
        const struct route *r = &cfg->routes[i];
        char path[CFG_PATH_MAX];
        snprintf(path, sizeof path, "routes[%zu].domain", i);
        if (r->domain && !*r->domain) {
            cfg_error(ctx, r->line, path, "must not be empty");
        } else if (r->domain && !r->is_default) {
            for (const char *p = r->domain; *p; p++) {
                if (is_space_or_ctl((unsigned char)*p) || *p == '*' || *p == '>') {
                    cfg_error(ctx, r->line, path, "\"%.80s\" is not a valid domain", r->domain);
                    break;
                }
            }
        }
        if (r->is_default) {
            if (first_default)
                cfg_error(ctx, r->line, path,
                          "a second default route (\"*\" or \"default\"; the first is at line %d)",
                          first_default->line);
            else
                first_default = r;
        }
        for (size_t j = 0; j < r->endpoint_count; j++) {
            const struct endpoint *e = &r->endpoints[j];
            snprintf(path, sizeof path, "routes[%zu].endpoints[%zu]", i, j);
            const char *why = e->url ? cfg_url_problem(e->url, http, "not an http(s) URL") : NULL;
            if (why)
                cfg_error(ctx, e->line, path, "%s", why);
            if (e->timeout_ms < 1) {
                snprintf(path, sizeof path, "routes[%zu].endpoints[%zu].timeout", i, j);
                cfg_error(ctx, e->line, path, "must be greater than 0");
            }
        }
    }
    cfg_route_index_build(ctx);
}

void cfg_validate(struct cfg_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    const char *key;
    int line;

    cfg_schema_foreach(check_bounds, ctx);

    for (const char *p = cfg->server.address; p && *p; p++) {
        if (is_space_or_ctl((unsigned char)*p)) {
            line = where(ctx, OFF(server.address), "server.address", &key);
            cfg_error(ctx, line, key, "must not contain spaces");
            break;
        }
    }

    validate_nats(ctx);
    validate_ack_wait(ctx);

    if (cfg->delivery.connect_timeout_ms > cfg->delivery.timeout_ms &&
        cfg->delivery.timeout_ms > 0) {
        char ct[32], t[32];
        cfg_format_duration(cfg->delivery.connect_timeout_ms, ct, sizeof ct);
        cfg_format_duration(cfg->delivery.timeout_ms, t, sizeof t);
        line = where(ctx, OFF(delivery.connect_timeout_ms), "delivery.connect_timeout", &key);
        line = line_or(ctx, line, OFF(delivery.timeout_ms));
        cfg_error(ctx, line, key, "%s must not exceed delivery.timeout (%s)", ct, t);
    }

    enum log_level level;
    if (cfg->log.level && *cfg->log.level && !log_level_parse(cfg->log.level, &level)) {
        line = where(ctx, OFF(log.level), "log.level", &key);
        cfg_error(ctx, line, key, "expected debug, info, warn or error, got \"%.40s\"",
                  cfg->log.level);
    }

    validate_routes(ctx);
}
