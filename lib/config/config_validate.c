/*
 * config_validate — the rules about values, checked once the whole file is mapped:
 * the bounds written in the schema tables, NATS naming rules, and the relations between
 * fields (ack_wait against the fan-out time, connect_timeout against timeout, the retry
 * age against the stream's, the breaker's cooldowns, distinct stream names and subjects
 * that do not overlap, one default route, unique domains, unique ESL node names). cfg_validate() is
 * the single entry point. The shape predicates the mappers use on list items (URLs, event names,
 * filters) live here too, next to the other value rules.
 *
 * A field that kept its default has no line; errors about it name the canonical key
 * and borrow the line of the field that made the combination wrong, when there is one.
 */
#include "config/config_validate.h"

#include "config/config.h"
#include "config/config_checks.h"
#include "config/config_index.h"
#include "config/config_schema.h"
#include "config/config_yaml.h"

#include "core/log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define OFF(member) offsetof(struct config, member)
#define EOFF(member) offsetof(struct esl_node, member)
#define CFG_STR_(x) #x
#define CFG_STR(x) CFG_STR_(x)

/* Line and spelling of the key that set `offset` in `rec`, or (0, canonical). */
static int rec_where(const struct cfg_rec *rec, size_t offset, const char *canonical,
                     const char **path)
{
    int line = 0;
    if (!cfg_rec_find(rec, offset, &line, path))
        *path = canonical;
    return line;
}

static int where(const struct cfg_ctx *ctx, size_t offset, const char *canonical, const char **path)
{
    return rec_where(&ctx->root, offset, canonical, path);
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

static int64_t read_number(const void *base, const struct cfg_field *f)
{
    const char *p = (const char *)base + f->offset;
    switch (f->type) {
    case CFG_T_INT:
        return *(const int *)p;
    case CFG_T_SIZE:
        return (int64_t) * (const size_t *)p;
    default:
        return *(const int64_t *)p;
    }
}

struct bounds {
    struct cfg_ctx *ctx;
    const struct cfg_rec *rec; /* the struct config (ctx->root) or one list item */
};

static void check_bounds(const char *canonical, const struct cfg_field *f, void *arg)
{
    const struct bounds *b = arg;
    struct cfg_ctx *ctx = b->ctx;
    const char *key;
    if (f->flags & CFG_F_ALIAS) /* the canonical entry checks the same field */
        return;
    int line = rec_where(b->rec, f->offset, canonical, &key);
    switch (f->type) {
    case CFG_T_STR: {
        const char *s = *(char *const *)((const char *)b->rec->base + f->offset);
        if (!s && (f->flags & CFG_F_REQUIRED)) { /* reported on the item, like routes[] */
            const char *dot = strrchr(canonical, '.');
            char parent[CFG_PATH_MAX];
            snprintf(parent, sizeof parent, "%.*s", dot ? (int)(dot - canonical) : 0, canonical);
            cfg_error(ctx, b->rec->line, parent, "missing required key \"%s\"", f->key);
        } else if (!(f->flags & CFG_F_OPTIONAL) && (!s || !*s))
            cfg_error(ctx, line, key, "must not be empty");
        break;
    }
    case CFG_T_INT:
    case CFG_T_I64:
    case CFG_T_SIZE:
    case CFG_T_SIZE64: {
        int64_t v = read_number(b->rec->base, f);
        if (v < f->min || v > f->max)
            cfg_error(ctx, line, key, "%lld is out of range (%lld..%lld)", (long long)v,
                      (long long)f->min, (long long)f->max);
        else if (v == 0 && (f->flags & CFG_F_NONZERO))
            cfg_error(ctx, line, key, "0 is not allowed (use -1 for unlimited)");
        break;
    }
    case CFG_T_DURATION:
    case CFG_T_SECONDS: {
        int64_t v = read_number(b->rec->base, f);
        char least[32];
        cfg_format_duration(f->min, least, sizeof least);
        if (v < f->min && f->min > 1)
            cfg_error(ctx, line, key, "must be at least %s", least);
        else if (v < f->min)
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

/* Stream and durable consumer names (NATS rule). Empty is reported elsewhere. */
static const char *name_problem(const char *s)
{
    for (; *s; s++) {
        if (cfg_is_space_or_ctl((unsigned char)*s))
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
            if (cfg_is_space_or_ctl((unsigned char)tok[i]))
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

/*
 * The retry stream against the other streams, its subjects against the other subjects;
 * each flag says both names of a pair are valid. The error names nats.retry.*, with
 * the line of whichever of the two was written.
 */
static void validate_retry_names(struct cfg_ctx *ctx, bool vs_stream, bool vs_dlq, bool vs_pattern,
                                 bool vs_dlq_prefix, bool vs_deliver)
{
    const struct config *cfg = ctx->cfg;
    const char *key;
    int line = where(ctx, OFF(nats.retry_stream), "nats.retry.stream", &key);
    if (vs_stream && strcmp(cfg->nats.retry_stream, cfg->nats.stream_name) == 0)
        cfg_error(ctx, line_or(ctx, line, OFF(nats.stream_name)), key,
                  "must differ from the event stream name");
    if (vs_dlq && strcmp(cfg->nats.retry_stream, cfg->nats.dlq_stream) == 0)
        cfg_error(ctx, line_or(ctx, line, OFF(nats.dlq_stream)), key,
                  "must differ from the dead-letter stream name (nats.dead_letter.stream)");

    char retry_subjects[CFG_PATH_MAX], dlq_subjects[CFG_PATH_MAX];
    snprintf(retry_subjects, sizeof retry_subjects, "%s.>", cfg->nats.retry_subject_prefix);
    snprintf(dlq_subjects, sizeof dlq_subjects, "%s.>", cfg->nats.dlq_subject_prefix);
    line = where(ctx, OFF(nats.retry_subject_prefix), "nats.retry.subject_prefix", &key);
    if (vs_pattern && subjects_overlap(cfg->nats.subject_pattern, retry_subjects))
        cfg_error(ctx, line_or(ctx, line, OFF(nats.subject_pattern)), key,
                  "%s overlaps the event subjects %s", retry_subjects, cfg->nats.subject_pattern);
    if (vs_dlq_prefix && subjects_overlap(dlq_subjects, retry_subjects))
        cfg_error(ctx, line_or(ctx, line, OFF(nats.dlq_subject_prefix)), key,
                  "%s overlaps the dead-letter subjects %s", retry_subjects, dlq_subjects);
    if (vs_deliver && subjects_overlap(cfg->nats.deliver_subject, retry_subjects))
        cfg_error(ctx, line_or(ctx, line, OFF(nats.deliver_subject)), key,
                  "%s overlaps the deliver subject %s", retry_subjects, cfg->nats.deliver_subject);
}

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
    bool retry_ok = is_set(ctx, OFF(nats.retry_stream))
                        ? check_name(ctx, OFF(nats.retry_stream), "nats.retry.stream", NAME)
                        : stream_ok;
    bool retry_prefix_ok =
        is_set(ctx, OFF(nats.retry_subject_prefix))
            ? check_name(ctx, OFF(nats.retry_subject_prefix), "nats.retry.subject_prefix", SUBJECT)
            : stream_ok;
    bool deliver_ok =
        is_set(ctx, OFF(nats.deliver_subject))
            ? check_name(ctx, OFF(nats.deliver_subject), "nats.consumer.deliver_subject", SUBJECT)
            : stream_ok;
    if (is_set(ctx, OFF(nats.deliver_group))) { /* the default is the consumer name */
        for (const char *p = cfg->nats.deliver_group; *p; p++) {
            if (cfg_is_space_or_ctl((unsigned char)*p)) {
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
    validate_retry_names(ctx, stream_ok && retry_ok, dlq_ok && retry_ok,
                         pattern_ok && retry_prefix_ok, prefix_ok && retry_prefix_ok,
                         deliver_ok && retry_prefix_ok);
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

/* Parked events must be retried or dead-lettered before the event stream drops them;
   the breaker's wait grows from cooldown to max_cooldown. */
static void validate_delivery(struct cfg_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    const char *key;
    int line;
    char a[32], b[32];
    if (cfg->nats.max_age_ms > 0 && cfg->delivery.max_retry_age_ms > cfg->nats.max_age_ms) {
        cfg_format_duration(cfg->delivery.max_retry_age_ms, a, sizeof a);
        cfg_format_duration(cfg->nats.max_age_ms, b, sizeof b);
        line = where(ctx, OFF(delivery.max_retry_age_ms), "delivery.max_retry_age", &key);
        line = line_or(ctx, line, OFF(nats.max_age_ms));
        cfg_error(ctx, line, key, "%s must not exceed nats.stream.max_age (%s)", a, b);
    }
    if (cfg->delivery.breaker_cooldown_ms > 0 &&
        cfg->delivery.breaker_max_cooldown_ms < cfg->delivery.breaker_cooldown_ms) {
        cfg_format_duration(cfg->delivery.breaker_max_cooldown_ms, a, sizeof a);
        cfg_format_duration(cfg->delivery.breaker_cooldown_ms, b, sizeof b);
        line = where(ctx, OFF(delivery.breaker_max_cooldown_ms), "delivery.breaker.max_cooldown",
                     &key);
        line = line_or(ctx, line, OFF(delivery.breaker_cooldown_ms));
        cfg_error(ctx, line, key, "%s must not be shorter than delivery.breaker.cooldown (%s)", a,
                  b);
    }
}

/*
 * The consumer's ack_wait should outlast the whole fan-out of one event. When it does
 * not (a Go telephony-forwarder file: ack_wait_seconds: 5 with a 3 s timeout), the
 * file still loads: delivery keeps each event's lease with in-progress acks (every
 * ack_wait / 3, checked each second), so nothing is redelivered while its calls run;
 * a warning says so. Below CFG_ACK_WAIT_MIN_MS that cadence cannot keep up: an error.
 */
static void validate_ack_wait(struct cfg_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    int64_t longest = config_max_endpoint_timeout_ms(cfg);
    if (cfg->nats.ack_wait_ms < 1 || cfg->nats.ack_wait_ms - CFG_ACK_MARGIN_MS > longest)
        return;
    bool lease_kept = cfg->nats.ack_wait_ms >= CFG_ACK_WAIT_MIN_MS;
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
    if (lease_kept) {
        log_warn("config",
                 "%s:%d: %s: %s is not above the longest endpoint timeout (%s) plus %s; "
                 "loaded anyway: each event's lease is kept with in-progress acks while its "
                 "calls run (set it above %s to need none)",
                 ctx->name, line, key, ack, lo, margin, sum);
        return;
    }
    char min[32];
    cfg_format_duration(CFG_ACK_WAIT_MIN_MS, min, sizeof min);
    cfg_error(ctx, line, key,
              "%s is too short to keep a lease with in-progress acks (at least %s), and does "
              "not exceed the longest endpoint timeout (%s) plus %s of margin: NATS would "
              "redeliver events still being delivered; set it above %s",
              ack, min, lo, margin, sum);
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
                if (cfg_is_space_or_ctl((unsigned char)*p) || *p == '*' || *p == '>') {
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

/*
 * A host name (RFC 1123): dot-separated labels of letters, digits and '-', each 1..63
 * long and not starting or ending with '-', 253 in all, the last label not all digits
 * (so "10.0.0.1" is not one).
 */
static bool is_hostname(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 253)
        return false;
    bool all_digits = true;
    for (const char *label = s;;) {
        size_t n = strcspn(label, ".");
        if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
            return false;
        all_digits = true;
        for (size_t i = 0; i < n; i++) {
            if (!cfg_is_alnum((unsigned char)label[i]) && label[i] != '-')
                return false;
            all_digits = all_digits && label[i] >= '0' && label[i] <= '9';
        }
        if (!label[n])
            break;
        label += n + 1;
    }
    return !all_digits;
}

static bool is_ip_literal(const char *s)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

/* esl: ------------------------------------------------------------------------------- */

/* "esl[i].key" in `buf` (CFG_PATH_MAX): the canonical path of a key left at its default. */
static const char *esl_key(char *buf, size_t i, const char *key)
{
    snprintf(buf, CFG_PATH_MAX, "esl[%zu].%s", i, key);
    return buf;
}

static void validate_esl_node(struct cfg_ctx *ctx, size_t i)
{
    static const char *const levels[] = {"debug", "info", "notice", "warning",
                                         "err",   "crit", "alert",  NULL};
    const struct esl_node *e = &ctx->cfg->esl_nodes[i];
    const struct cfg_rec *rec = &ctx->esl_items[i].rec;
    char prefix[CFG_PATH_MAX], canonical[CFG_PATH_MAX];
    const char *key;
    int line;
    cfg_index_path(prefix, "esl", i);
    struct bounds b = {ctx, rec};
    cfg_table_foreach(cfg_esl_fields, prefix, check_bounds, &b);

    if (e->name && *e->name && (strlen(e->name) > 64 || !cfg_only(e->name, "_-"))) {
        line = rec_where(rec, EOFF(name), esl_key(canonical, i, "name"), &key);
        cfg_error(ctx, line, key, "\"%.80s\" must be 1..64 letters, digits, '_' or '-'", e->name);
    }
    if (e->host && *e->host && !is_hostname(e->host) && !is_ip_literal(e->host)) {
        line = rec_where(rec, EOFF(host), esl_key(canonical, i, "host"), &key);
        cfg_error(ctx, line, key, "\"%.80s\" is not a host name or IP address", e->host);
    }
    if (e->password && cfg_has_ctl(e->password)) { /* sent as "auth <password>"; never shown */
        line = rec_where(rec, EOFF(password), esl_key(canonical, i, "password"), &key);
        cfg_error(ctx, line, key, "must not contain CR, LF or other control characters");
    } else if (e->password && strlen(e->password) > CFG_ESL_PASSWORD_MAX) {
        line = rec_where(rec, EOFF(password), esl_key(canonical, i, "password"), &key);
        cfg_error(ctx, line, key, "must be at most %d characters", CFG_ESL_PASSWORD_MAX);
    }
    if (e->default_domain && !is_hostname(e->default_domain)) {
        line = rec_where(rec, EOFF(default_domain), esl_key(canonical, i, "default_domain"), &key);
        cfg_error(ctx, line, key, "\"%.80s\" is not a host name (letters, digits, '-', dots)",
                  e->default_domain);
    }
    if (e->logs) {
        size_t k = 0;
        while (levels[k] && strcmp(e->logs, levels[k]) != 0)
            k++;
        if (!levels[k]) {
            line = rec_where(rec, EOFF(logs), esl_key(canonical, i, "logs"), &key);
            cfg_error(ctx, line, key,
                      "expected debug, info, notice, warning, err, crit or alert, got \"%.40s\"",
                      e->logs);
        }
    }
    if (e->reconnect_initial_ms > e->reconnect_max_ms && e->reconnect_max_ms > 0) {
        char lo[32], hi[32];
        cfg_format_duration(e->reconnect_initial_ms, lo, sizeof lo);
        cfg_format_duration(e->reconnect_max_ms, hi, sizeof hi);
        line = rec_where(rec, EOFF(reconnect_initial_ms),
                         esl_key(canonical, i, "reconnect.initial"), &key);
        if (!line)
            cfg_rec_find(rec, EOFF(reconnect_max_ms), &line, NULL);
        cfg_error(ctx, line, key, "%s must not exceed %s.reconnect.max (%s)", lo, prefix, hi);
    }
    if (e->heartbeat_timeout_ms >= 1000 && e->heartbeat_timeout_ms < 25000) {
        char t[32];
        cfg_format_duration(e->heartbeat_timeout_ms, t, sizeof t);
        line = rec_where(rec, EOFF(heartbeat_timeout_ms),
                         esl_key(canonical, i, "heartbeat_timeout"), &key);
        log_warn("config",
                 "%s:%d: %s: %s is shorter than 25s; FreeSWITCH sends HEARTBEAT every 20s, so "
                 "a healthy connection may be dropped",
                 ctx->name, line, key, t);
    }
}

static void validate_esl(struct cfg_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    for (size_t i = 0; i < cfg->esl_node_count; i++) {
        if (!ctx->esl_items[i].mapped) /* already reported: not a mapping */
            continue;
        validate_esl_node(ctx, i);
        const char *name = cfg->esl_nodes[i].name;
        for (size_t j = 0; name && *name && j < i; j++) {
            const char *other = cfg->esl_nodes[j].name;
            if (other && cfg_ascii_casecmp(name, other) == 0) {
                char path[CFG_PATH_MAX];
                const char *key;
                int first = 0;
                snprintf(path, sizeof path, "esl[%zu].name", i);
                int line = rec_where(&ctx->esl_items[i].rec, EOFF(name), path, &key);
                cfg_rec_find(&ctx->esl_items[j].rec, EOFF(name), &first, NULL);
                cfg_error(ctx, line, key, "duplicate name \"%.64s\" (first at line %d)", name,
                          first);
                break;
            }
        }
    }
}

/* calls: ----------------------------------------------------------------------------- */

/* NULL when CFG_ZONEINFO_DIR/<name> is a TZif file (or UTC, which needs none); else why
   not. The same rules as tzfile_load(), which reads the zone at start-up. */
static const char *timezone_problem(const char *name)
{
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return NULL;
    if (name[0] == '/' || strstr(name, "..") || strlen(name) > 200 || !cfg_only(name, "_+/-"))
        return "is not a time zone name (an IANA name such as Asia/Ho_Chi_Minh: letters, "
               "digits, '_', '+', '-', '/')";
    char path[256];
    snprintf(path, sizeof path, "%s/%s", CFG_ZONEINFO_DIR, name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return "is not a known time zone (no such file under " CFG_ZONEINFO_DIR ")";
    char magic[4] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, magic, sizeof magic) : -1;
    if (fd >= 0)
        close(fd);
    if (n != (ssize_t)sizeof magic || memcmp(magic, "TZif", 4) != 0)
        return "is not a time zone file (no TZif header)";
    return NULL;
}

static void validate_calls(struct cfg_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    const char *key;
    int line;
    const char *why = cfg->calls.timezone ? timezone_problem(cfg->calls.timezone) : NULL;
    if (why) {
        line = where(ctx, OFF(calls.timezone), "calls.timezone", &key);
        cfg_error(ctx, line, key, "\"%.80s\" %s", cfg->calls.timezone, why);
    }
    if (cfg->calls.bucket && *cfg->calls.bucket && !cfg_only(cfg->calls.bucket, "_-")) {
        line = where(ctx, OFF(calls.bucket), "calls.bucket", &key);
        cfg_error(ctx, line, key,
                  "\"%.80s\" is not a key-value bucket name (letters, digits, '_', '-')",
                  cfg->calls.bucket);
    }
}

/* One worker belongs to the dead-letter lane and one always stays for light requests. */
static void validate_api(struct cfg_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    if (cfg->api.max_concurrent_scans <= cfg->api.workers - 2)
        return;
    const char *key;
    int line = where(ctx, OFF(api.max_concurrent_scans), "api.max_concurrent_scans", &key);
    line = line_or(ctx, line, OFF(api.workers));
    cfg_error(ctx, line, key, "%d must be at most api.workers - 2 (%d)",
              cfg->api.max_concurrent_scans, cfg->api.workers - 2);
}

void cfg_validate(struct cfg_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    const char *key;
    int line;

    struct bounds root = {ctx, &ctx->root};
    cfg_schema_foreach(check_bounds, &root);

    for (const char *p = cfg->server.address; p && *p; p++) {
        if (cfg_is_space_or_ctl((unsigned char)*p)) {
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

    validate_delivery(ctx);

    enum log_level level;
    if (cfg->log.level && *cfg->log.level && !log_level_parse(cfg->log.level, &level)) {
        line = where(ctx, OFF(log.level), "log.level", &key);
        cfg_error(ctx, line, key, "expected debug, info, warn or error, got \"%.40s\"",
                  cfg->log.level);
    }

    validate_esl(ctx);
    validate_calls(ctx);
    validate_api(ctx);
    validate_routes(ctx);
}
