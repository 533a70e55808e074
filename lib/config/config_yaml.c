/*
 * config_yaml — the YAML side of the config module: load one document with libyaml's
 * document loader (every node keeps its start line), read scalars as typed values with
 * ${ENV} expansion, and collect errors as "file:line: key.path: message".
 *
 * libyaml does not resolve tags, so every scalar is text; the typed getters below
 * decide what "8080", "true" or "3s" mean. Errors are never fatal here: each getter
 * reports and returns false, and the mapper carries on so one load reports them all.
 * Runs on the loading thread only (getenv is read, never written).
 */
#include "config/config_yaml.h"

#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Errors ------------------------------------------------------------------------------ */

void cfg_oom(struct cfg_ctx *ctx)
{
    ctx->oom = true;
}

void cfg_error(struct cfg_ctx *ctx, int line, const char *path, const char *fmt, ...)
{
    if (ctx->err_count >= CFG_MAX_ERRORS) {
        ctx->err_dropped++;
        return;
    }
    if (ctx->err_count == ctx->err_cap) {
        size_t cap = ctx->err_cap ? ctx->err_cap * 2 : 8;
        struct cfg_error *e = realloc(ctx->errs, cap * sizeof *e);
        if (!e) {
            cfg_oom(ctx);
            return;
        }
        ctx->errs = e;
        ctx->err_cap = cap;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    char where[32] = "";
    if (line > 0)
        snprintf(where, sizeof where, ":%d", line);
    char *raw = path && *path ? cfg_printf(ctx, "%s%s: %s: %s", ctx->name, where, path, msg)
                              : cfg_printf(ctx, "%s%s: %s", ctx->name, where, msg);
    /* Keys and values quoted from the file may hold control characters (a quoted
     * "a\nb"): escaped, each message stays one line of the "\n"-separated list (and one
     * item of /api/config's errors). */
    size_t cap = raw ? strlen(raw) * 4 + 1 : 0; /* "\x01" is the longest escape */
    char *text = raw ? malloc(cap) : NULL;
    if (raw && !text)
        cfg_oom(ctx);
    if (!text) {
        free(raw);
        return;
    }
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)raw; *p; p++) {
        if (*p >= 0x20 && *p != 0x7f)
            text[o++] = (char)*p;
        else if (*p == '\n' || *p == '\t' || *p == '\r')
            o += (size_t)snprintf(text + o, cap - o, "\\%c",
                                  *p == '\n'   ? 'n'
                                  : *p == '\t' ? 't'
                                               : 'r');
        else
            o += (size_t)snprintf(text + o, cap - o, "\\x%02x", *p);
    }
    text[o] = '\0';
    free(raw);
    ctx->errs[ctx->err_count] =
        (struct cfg_error){.line = line, .seq = ctx->err_count, .text = text};
    ctx->err_count++;
}

static int error_order(const void *a, const void *b)
{
    const struct cfg_error *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

char *cfg_errors_join(struct cfg_ctx *ctx)
{
    if (ctx->oom)
        cfg_error(ctx, 0, NULL, "out of memory while loading the configuration");
    qsort(ctx->errs, ctx->err_count, sizeof *ctx->errs, error_order);
    size_t total = 64;
    for (size_t i = 0; i < ctx->err_count; i++)
        total += strlen(ctx->errs[i].text) + 1;
    char *out = malloc(total);
    if (out) {
        size_t len = 0;
        for (size_t i = 0; i < ctx->err_count; i++) {
            size_t n = strlen(ctx->errs[i].text);
            if (len)
                out[len++] = '\n';
            memcpy(out + len, ctx->errs[i].text, n);
            len += n;
        }
        if (ctx->err_dropped)
            len += (size_t)snprintf(out + len, total - len, "%s(%zu more errors not shown)",
                                    len ? "\n" : "", ctx->err_dropped);
        out[len] = '\0';
    } else {
        out = strdup("out of memory while loading the configuration");
    }
    cfg_errors_free(ctx);
    return out;
}

void cfg_errors_free(struct cfg_ctx *ctx)
{
    for (size_t i = 0; i < ctx->err_count; i++)
        free(ctx->errs[i].text);
    free(ctx->errs);
    ctx->errs = NULL;
    ctx->err_count = ctx->err_cap = 0;
}

/* Small helpers ----------------------------------------------------------------------- */

char *cfg_strdup(struct cfg_ctx *ctx, const char *s)
{
    char *d = strdup(s);
    if (!d)
        cfg_oom(ctx);
    return d;
}

char *cfg_printf(struct cfg_ctx *ctx, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        cfg_oom(ctx);
        return NULL;
    }
    return s;
}

/* ASCII only, whatever the locale: domains and keys are compared byte-wise. */
void cfg_format_duration(int64_t ms, char *out, size_t cap)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t len = 0;
    out[0] = '\0';
    if (ms <= 0) {
        snprintf(out, cap, "%llds", (long long)ms / 1000);
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0] && len < cap; i++) {
        if (ms >= units[i].ms) {
            int n = snprintf(out + len, cap - len, "%lld%s", (long long)(ms / units[i].ms),
                             units[i].unit);
            len += n > 0 ? (size_t)n : 0;
            ms %= units[i].ms;
        }
    }
}

void cfg_child_path(char *out, const char *parent, const char *key)
{
    if (parent && *parent)
        snprintf(out, CFG_PATH_MAX, "%s.%s", parent, key);
    else
        snprintf(out, CFG_PATH_MAX, "%s", key);
}

void cfg_index_path(char *out, const char *parent, size_t i)
{
    snprintf(out, CFG_PATH_MAX, "%s[%zu]", parent, i);
}

/* Edit distance for "did you mean"; large for long strings. */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int row[64];
    if (la >= 64 || lb >= 64)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

void cfg_unknown_key(struct cfg_ctx *ctx, const char *const *known, int line, const char *key,
                     const char *path)
{
    const char *best = NULL;
    int best_d = 3;
    for (size_t i = 0; known[i]; i++) {
        int d = edit_distance(key, known[i]);
        if (d < best_d) {
            best_d = d;
            best = known[i];
        }
    }
    if (best)
        cfg_error(ctx, line, path, "unknown key (did you mean \"%s\"?)", best);
    else
        cfg_error(ctx, line, path, "unknown key");
}

/* Document loading -------------------------------------------------------------------- */

static int line_of_offset(const char *text, size_t len, size_t offset)
{
    int line = 1;
    for (size_t i = 0; i < offset && i < len; i++)
        line += text[i] == '\n';
    return line;
}

static void report_parser_error(struct cfg_ctx *ctx, const yaml_parser_t *p, const char *text,
                                size_t len)
{
    const char *problem = p->problem ? p->problem : "unknown error";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        cfg_oom(ctx);
        break;
    case YAML_READER_ERROR:
        cfg_error(ctx, line_of_offset(text, len, p->problem_offset), NULL,
                  "YAML error: %s (byte %zu)", problem, p->problem_offset);
        break;
    default:
        if (p->context)
            cfg_error(ctx, (int)p->problem_mark.line + 1, NULL,
                      "YAML syntax error: %s (%s at line %d)", problem, p->context,
                      (int)p->context_mark.line + 1);
        else
            cfg_error(ctx, (int)p->problem_mark.line + 1, NULL, "YAML syntax error: %s", problem);
        break;
    }
}

bool cfg_yaml_load(struct cfg_ctx *ctx, const char *text, size_t len, yaml_document_t *doc)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        cfg_oom(ctx);
        return false;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    bool ok = yaml_parser_load(&parser, doc) != 0;
    if (!ok) {
        report_parser_error(ctx, &parser, text, len);
    } else {
        /* A second document would be silently ignored: refuse it instead. */
        yaml_document_t extra;
        if (!yaml_parser_load(&parser, &extra)) {
            report_parser_error(ctx, &parser, text, len);
        } else {
            yaml_node_t *root = yaml_document_get_root_node(&extra);
            if (root)
                cfg_error(ctx, cfg_line(root), NULL,
                          "only one YAML document is allowed (found a second one)");
            yaml_document_delete(&extra);
        }
    }
    yaml_parser_delete(&parser);
    return ok;
}

yaml_node_t *cfg_node(const struct cfg_ctx *ctx, int index)
{
    return yaml_document_get_node(ctx->doc, index);
}

int cfg_line(const yaml_node_t *node)
{
    return (int)node->start_mark.line + 1;
}

const char *cfg_kind(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return cfg_is_null(node) ? "nothing" : "a string";
    }
}

bool cfg_is_null(const yaml_node_t *node)
{
    if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)node->data.scalar.value;
    return node->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *key_text(const struct cfg_ctx *ctx, const yaml_node_pair_t *pair)
{
    const yaml_node_t *k = cfg_node(ctx, pair->key);
    return k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : NULL;
}

bool cfg_pair_is_dup(struct cfg_ctx *ctx, const yaml_node_t *map, size_t i, const char *path,
                     bool nocase)
{
    const yaml_node_pair_t *pairs = map->data.mapping.pairs.start;
    const char *key = key_text(ctx, &pairs[i]);
    if (!key)
        return false;
    for (size_t j = 0; j < i; j++) {
        const char *other = key_text(ctx, &pairs[j]);
        if (other && (nocase ? cfg_ascii_casecmp(key, other) : strcmp(key, other)) == 0) {
            cfg_error(ctx, cfg_line(cfg_node(ctx, pairs[i].key)), path,
                      "duplicate key (first at line %d)", cfg_line(cfg_node(ctx, pairs[j].key)));
            return true;
        }
    }
    return false;
}

/* Scalars ----------------------------------------------------------------------------- */

/* Appends n bytes to a growing buffer; false on OOM. */
static bool buf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = (*len + n + 1) * 2;
        char *b = realloc(*buf, c);
        if (!b)
            return false;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

static bool valid_env_name(const char *s, size_t n)
{
    if (n == 0 || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!ok && c != '_')
            return false;
    }
    return true;
}

/*
 * "${NAME}" and "${NAME:-fallback}" (fallback used when NAME is unset or empty);
 * "$${" stands for a literal "${". No nesting: the first '}' closes.
 */
char *cfg_expand_env(struct cfg_ctx *ctx, const char *s, size_t len, int line, const char *path)
{
    char *out = NULL;
    size_t olen = 0, cap = 0;
    if (!buf_add(&out, &olen, &cap, "", 0))
        goto oom;
    for (size_t i = 0; i < len;) {
        if (s[i] == '$' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
            if (!buf_add(&out, &olen, &cap, "${", 2))
                goto oom;
            i += 3;
            continue;
        }
        if (s[i] != '$' || i + 1 >= len || s[i + 1] != '{') {
            if (!buf_add(&out, &olen, &cap, s + i, 1))
                goto oom;
            i++;
            continue;
        }
        const char *body = s + i + 2;
        const char *close = memchr(body, '}', len - i - 2);
        if (!close) {
            cfg_error(ctx, line, path, "unterminated \"${\" (write \"$${\" for a literal)");
            goto fail;
        }
        size_t blen = (size_t)(close - body);
        const char *sep = memmem(body, blen, ":-", 2);
        size_t nlen = sep ? (size_t)(sep - body) : blen;
        if (!valid_env_name(body, nlen)) {
            cfg_error(ctx, line, path, "invalid environment variable reference \"${%.*s}\"",
                      (int)blen, body);
            goto fail;
        }
        if (sep && memmem(sep, (size_t)(close - sep), "${", 2)) {
            cfg_error(ctx, line, path, "nested \"${\" in a fallback is not supported");
            goto fail;
        }
        char name[256];
        if (nlen >= sizeof name) {
            cfg_error(ctx, line, path, "environment variable name too long");
            goto fail;
        }
        memcpy(name, body, nlen);
        name[nlen] = '\0';
        const char *val = getenv(name);
        size_t vlen = val ? strlen(val) : 0;
        if (sep && vlen == 0) {
            val = sep + 2;
            vlen = (size_t)(close - val);
        } else if (!val) {
            cfg_error(ctx, line, path,
                      "environment variable %s is not set (use \"${%s:-default}\" for a fallback)",
                      name, name);
            goto fail;
        }
        if (!buf_add(&out, &olen, &cap, val, vlen))
            goto oom;
        i = (size_t)(close - s) + 1;
    }
    return out;
oom:
    cfg_oom(ctx);
fail:
    free(out);
    return NULL;
}

char *cfg_scalar(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path)
{
    if (node->type != YAML_SCALAR_NODE) {
        cfg_error(ctx, cfg_line(node), path, "expected a string, got %s", cfg_kind(node));
        return NULL;
    }
    const char *v = (const char *)node->data.scalar.value;
    size_t len = node->data.scalar.length;
    if (memchr(v, '\0', len)) {
        cfg_error(ctx, cfg_line(node), path, "contains a NUL character");
        return NULL;
    }
    return cfg_expand_env(ctx, v, len, cfg_line(node), path);
}

/* Optional sign, then decimal digits only; false on anything else or overflow. */
static bool parse_i64(const char *s, int64_t *out, bool *overflow)
{
    const char *p = s + (*s == '-' || *s == '+');
    *overflow = false;
    if (!isdigit((unsigned char)*p))
        return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE) {
        *overflow = true;
        return false;
    }
    *out = v;
    return true;
}

bool cfg_get_int(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path, int64_t *out)
{
    char *s = cfg_scalar(ctx, node, path);
    if (!s)
        return false;
    bool overflow;
    bool ok = parse_i64(s, out, &overflow);
    if (!ok)
        cfg_error(
            ctx, cfg_line(node), path,
            overflow ? "integer out of range: \"%.40s\"" : "expected an integer, got \"%.40s\"", s);
    free(s);
    return ok;
}

bool cfg_get_bool(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    char *s = cfg_scalar(ctx, node, path);
    if (!s)
        return false;
    bool ok = false;
    for (size_t i = 0; i < 3 && !ok; i++) {
        if (cfg_ascii_casecmp(s, yes[i]) == 0) {
            *out = true;
            ok = true;
        } else if (cfg_ascii_casecmp(s, no[i]) == 0) {
            *out = false;
            ok = true;
        }
    }
    if (!ok)
        cfg_error(ctx, cfg_line(node), path, "expected true or false, got \"%.40s\"", s);
    free(s);
    return ok;
}

bool cfg_get_duration(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path,
                      bool int_is_seconds, int64_t *out)
{
    char *s = cfg_scalar(ctx, node, path);
    if (!s)
        return false;
    int64_t n;
    bool overflow, ok = true;
    if (parse_i64(s, &n, &overflow) && n >= 0) {
        if (int_is_seconds && n <= CFG_MAX_DURATION_MS / 1000) {
            *out = n * 1000;
        } else if (n == 0) {
            *out = 0;
        } else if (!int_is_seconds) {
            cfg_error(ctx, cfg_line(node), path,
                      "a duration needs a unit, e.g. \"%llds\" (units: ms, s, m, h, d)",
                      (long long)n);
            ok = false;
        } else {
            cfg_error(ctx, cfg_line(node), path, "duration too large");
            ok = false;
        }
    } else if (!config_parse_duration_ms(s, out)) {
        cfg_error(ctx, cfg_line(node), path,
                  "expected a duration like \"250ms\", \"3s\" or \"1m30s\", got \"%.40s\"", s);
        ok = false;
    } else if (*out > CFG_MAX_DURATION_MS) {
        cfg_error(ctx, cfg_line(node), path, "duration too large");
        ok = false;
    }
    free(s);
    return ok;
}

bool cfg_get_size(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path,
                  bool allow_unlimited, int64_t *out)
{
    char *s = cfg_scalar(ctx, node, path);
    if (!s)
        return false;
    bool ok = true;
    if (allow_unlimited && strcmp(s, "-1") == 0) {
        *out = -1;
    } else if (!config_parse_size(s, out)) {
        cfg_error(ctx, cfg_line(node), path,
                  "expected a size like 1048576, \"512KB\" or \"1MiB\", got \"%.40s\"", s);
        ok = false;
    }
    free(s);
    return ok;
}

/* Lists of strings -------------------------------------------------------------------- */

bool cfg_has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

void cfg_get_optional_list(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path,
                           cfg_check_fn check, const char *what, const char *key, char ***out,
                           size_t *count)
{
    if (cfg_is_null(node) || !cfg_get_string_list(ctx, node, path, check, true, out, count))
        return;
    if (*count == 0)
        cfg_error(ctx, cfg_line(node), path,
                  "must list at least one %s (leave %s out for every %s)", what, key, what);
}

bool cfg_get_string_list(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path,
                         cfg_check_fn check, bool unique, char ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (node->type != YAML_SEQUENCE_NODE) {
        cfg_error(ctx, cfg_line(node), path, "expected a list of strings, got %s", cfg_kind(node));
        return false;
    }
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n == 0)
        return true;
    if (n > CFG_MAX_LIST_ITEMS) {
        cfg_error(ctx, cfg_line(node), path, "too many entries (at most %d)", CFG_MAX_LIST_ITEMS);
        return false;
    }
    char **list = calloc(n, sizeof *list);
    if (!list) {
        cfg_oom(ctx);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = cfg_node(ctx, node->data.sequence.items.start[i]);
        char ipath[CFG_PATH_MAX];
        cfg_index_path(ipath, path, i);
        list[i] = cfg_scalar(ctx, item, ipath);
        if (!list[i]) {
            ok = false;
            continue;
        }
        const char *why = !*list[i] ? "must not be empty" : check ? check(list[i]) : NULL;
        if (why && (!*list[i] || cfg_has_ctl(list[i]))) { /* no raw CR/LF in a message */
            cfg_error(ctx, cfg_line(item), ipath, "%s", why);
        } else if (why) {
            cfg_error(ctx, cfg_line(item), ipath, "\"%.80s\" %s", list[i], why);
        } else if (unique) {
            for (size_t j = 0; j < i; j++) {
                if (list[j] && strcmp(list[j], list[i]) == 0) {
                    const yaml_node_t *first = cfg_node(ctx, node->data.sequence.items.start[j]);
                    cfg_error(ctx, cfg_line(item), ipath, "duplicate \"%.80s\" (first at line %d)",
                              list[i], cfg_line(first));
                    why = "duplicate";
                    break;
                }
            }
        }
        ok = ok && !why;
    }
    if (!ok) {
        cfg_free_strings(list, n);
        return false;
    }
    *out = list;
    *count = n;
    return true;
}
