/*
 * config — the public side of the config module (see config.h for the contract and
 * config_internal.h for how the work is split between files).
 *
 * A load is: defaults (from the schema tables) -> map the YAML tree -> finalize
 * (derived names, inherited timeouts and endpoint limits, endpoint display and keys,
 * environment overrides) -> validate (which also
 * builds the domain index). Any error, including running out of memory, frees the
 * half-built config through config_free(), which accepts every partial state: all
 * pointers start NULL and counts only cover allocated, zeroed arrays.
 *
 * After a successful load the config is never written again, so any thread may read
 * it; the only mutable state is the atomic refcount in config_private.
 */
#include "config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Freeing ----------------------------------------------------------------------------- */

static void free_route(struct route *r)
{
    for (size_t i = 0; i < r->endpoint_count; i++) {
        struct endpoint *e = &r->endpoints[i];
        for (size_t h = 0; h < e->header_count; h++)
            free(e->headers[h]);
        free(e->headers);
        free(e->url);
        free(e->display_url);
        free(e->label);
    }
    free(r->endpoints);
    cfg_free_strings(r->event_kinds, r->event_kind_count);
    free(r->domain);
}

static void free_esl_node(struct esl_node *e)
{
    free(e->name);
    free(e->host);
    free(e->password);
    cfg_free_strings(e->events, e->event_count);
    cfg_free_strings(e->filters, e->filter_count);
    free(e->default_domain);
    free(e->logs);
}

static void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->server.address);
    cfg_free_strings(cfg->server.allowed_hosts, cfg->server.allowed_host_count);
    for (size_t i = 0; i < cfg->nats.server_count; i++)
        free(cfg->nats.servers[i]);
    free(cfg->nats.servers);
    char **strings[] = {
        &cfg->server.admin_token,
        &cfg->nats.token,
        &cfg->nats.user,
        &cfg->nats.password,
        &cfg->nats.credentials_file,
        &cfg->nats.name,
        &cfg->nats.stream_name,
        &cfg->nats.subject_pattern,
        &cfg->nats.dlq_stream,
        &cfg->nats.dlq_subject_prefix,
        &cfg->nats.retry_stream,
        &cfg->nats.retry_subject_prefix,
        &cfg->nats.consumer_name,
        &cfg->nats.deliver_group,
        &cfg->nats.deliver_subject,
        &cfg->nats.embedded_binary,
        &cfg->nats.embedded_data_dir,
        &cfg->log.level,
        &cfg->log.file,
        &cfg->log.dir,
        &cfg->calls.timezone,
        &cfg->calls.bucket,
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        free(*strings[i]);
    free(cfg->delivery.backoff_ms);
    for (size_t i = 0; i < cfg->route_count; i++)
        free_route(&cfg->routes[i]);
    free(cfg->routes);
    for (size_t i = 0; i < cfg->esl_node_count; i++)
        free_esl_node(&cfg->esl_nodes[i]);
    free(cfg->esl_nodes);
    if (cfg->priv)
        free(cfg->priv->slots);
    free(cfg->priv);
    free(cfg);
}

struct config *config_ref(struct config *cfg)
{
    if (cfg)
        atomic_fetch_add_explicit(&cfg->priv->refs, 1, memory_order_relaxed);
    return cfg;
}

void config_unref(struct config *cfg)
{
    /* acq_rel: the last owner must see every other owner's reads finished. */
    if (cfg && atomic_fetch_sub_explicit(&cfg->priv->refs, 1, memory_order_acq_rel) == 1)
        config_free(cfg);
}

/* Route index ------------------------------------------------------------------------- */

static uint32_t domain_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a over the lowercased bytes */
    for (; *s; s++) {
        h ^= (uint32_t)cfg_ascii_lower((unsigned char)*s);
        h *= 16777619u;
    }
    return h;
}

void cfg_route_index_build(struct cfg_ctx *ctx)
{
    struct config *cfg = ctx->cfg;
    struct config_private *priv = cfg->priv;
    if (cfg->route_count == 0)
        return;
    size_t cap = 8;
    while (cap < cfg->route_count * 2) /* at most half full: probes stay short, and end */
        cap <<= 1;
    priv->slots = calloc(cap, sizeof *priv->slots);
    if (!priv->slots) {
        cfg_oom(ctx);
        return;
    }
    priv->mask = cap - 1;
    for (size_t i = 0; i < cfg->route_count; i++) {
        const struct route *r = &cfg->routes[i];
        if (!r->domain || !*r->domain || r->is_default)
            continue;
        size_t h = domain_hash(r->domain) & priv->mask;
        for (; priv->slots[h]; h = (h + 1) & priv->mask) {
            const struct route *other = &cfg->routes[priv->slots[h] - 1];
            if (cfg_ascii_casecmp(other->domain, r->domain) == 0) {
                char path[CFG_PATH_MAX];
                snprintf(path, sizeof path, "routes[%zu].domain", i);
                cfg_error(ctx, r->line, path, "duplicate domain \"%.80s\" (first at line %d)",
                          r->domain, other->line);
                break;
            }
        }
        if (!priv->slots[h])
            priv->slots[h] = (uint32_t)(i + 1);
    }
}

const struct route *config_find_route(const struct config *cfg, const char *domain)
{
    if (!cfg)
        return NULL;
    const struct config_private *priv = cfg->priv;
    if (domain && priv && priv->slots) {
        for (size_t h = domain_hash(domain) & priv->mask; priv->slots[h];
             h = (h + 1) & priv->mask) {
            const struct route *r = &cfg->routes[priv->slots[h] - 1];
            if (cfg_ascii_casecmp(r->domain, domain) == 0)
                return r;
        }
    }
    return cfg->default_route;
}

/* Without any endpoint, delivery.timeout: what an endpoint would get. */
int64_t config_max_endpoint_timeout_ms(const struct config *cfg)
{
    int64_t longest = -1;
    for (size_t i = 0; i < cfg->route_count; i++)
        for (size_t j = 0; j < cfg->routes[i].endpoint_count; j++)
            if (cfg->routes[i].endpoints[j].timeout_ms > longest)
                longest = cfg->routes[i].endpoints[j].timeout_ms;
    return longest < 0 ? cfg->delivery.timeout_ms : longest;
}

/* Loading ----------------------------------------------------------------------------- */

static void override_from_env(struct cfg_ctx *ctx, char **field, const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return;
    char *copy = cfg_strdup(ctx, v);
    if (!copy)
        return;
    free(*field);
    *field = copy;
}

/* Fills what depends on other fields; runs after mapping, before validation. */
static void finalize(struct cfg_ctx *ctx)
{
    struct config *cfg = ctx->cfg;
    const char *stream = cfg->nats.stream_name ? cfg->nats.stream_name : "";
    if (!cfg->nats.dlq_stream)
        cfg->nats.dlq_stream = cfg_printf(ctx, "%s_DLQ", stream);
    if (!cfg->nats.dlq_subject_prefix)
        cfg->nats.dlq_subject_prefix = cfg_printf(ctx, "dlq.%s", stream);
    if (!cfg->nats.retry_stream)
        cfg->nats.retry_stream = cfg_printf(ctx, "%s_RETRY", stream);
    if (!cfg->nats.retry_subject_prefix)
        cfg->nats.retry_subject_prefix = cfg_printf(ctx, "retry.%s", stream);
    if (!cfg->nats.deliver_subject)
        cfg->nats.deliver_subject = cfg_printf(ctx, "_eventhub.deliver.%s", stream);
    if (!cfg->nats.deliver_group)
        cfg->nats.deliver_group =
            cfg_strdup(ctx, cfg->nats.consumer_name ? cfg->nats.consumer_name : "");
    cfg->nats.embedded = cfg->nats.server_count == 0;
    if (!cfg_prov_find(ctx, offsetof(struct config, server.max_connections_per_ip), NULL, NULL)) {
        int quarter = cfg->server.max_connections / 4;
        cfg->server.max_connections_per_ip = quarter > 4 ? quarter : 4;
    }

    override_from_env(ctx, &cfg->nats.token, "EVENTHUB_NATS_TOKEN");
    override_from_env(ctx, &cfg->server.admin_token, "EVENTHUB_ADMIN_TOKEN");
    override_from_env(ctx, &cfg->nats.user, "EVENTHUB_NATS_USER");
    override_from_env(ctx, &cfg->nats.password, "EVENTHUB_NATS_PASSWORD");
    override_from_env(ctx, &cfg->nats.credentials_file, "EVENTHUB_NATS_CREDENTIALS");

    for (size_t i = 0; i < cfg->route_count; i++) {
        struct route *r = &cfg->routes[i];
        if (r->domain &&
            (strcmp(r->domain, "*") == 0 || cfg_ascii_casecmp(r->domain, "default") == 0)) {
            char *star = cfg_strdup(ctx, "*");
            if (star) {
                free(r->domain);
                r->domain = star;
            }
            r->is_default = true;
            if (!cfg->default_route)
                cfg->default_route = r;
        }
        for (size_t j = 0; j < r->endpoint_count; j++) {
            struct endpoint *e = &r->endpoints[j];
            if (e->timeout_ms < 0) {
                e->timeout_ms = cfg->delivery.timeout_ms;
                e->timeout_inherited = true;
            }
            if (e->max_concurrent < 0) {
                e->max_concurrent = cfg->delivery.endpoint_max_concurrent;
                e->max_concurrent_inherited = true;
            }
        }
        cfg_route_display(ctx, r);
    }
}

struct config *config_load_string(const char *yaml, size_t len, const char *name, char **errors)
{
    struct cfg_ctx ctx = {.name = name ? name : "config"};
    ctx.root.prov = ctx.prov;
    ctx.root.prov_cap = sizeof ctx.prov / sizeof ctx.prov[0];
    yaml_document_t doc;
    bool have_doc = false;
    struct config *cfg = calloc(1, sizeof *cfg);
    if (cfg)
        cfg->priv = calloc(1, sizeof *cfg->priv);
    if (!cfg || !cfg->priv) {
        cfg_oom(&ctx);
        goto out;
    }
    atomic_init(&cfg->priv->refs, 1);
    ctx.cfg = cfg;
    ctx.root.base = cfg;
    cfg->path = cfg_strdup(&ctx, ctx.name);
    cfg_apply_defaults(&ctx);

    if (!cfg_yaml_load(&ctx, yaml ? yaml : "", yaml ? len : 0, &doc))
        goto out;
    have_doc = true;
    ctx.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root)
        cfg_map_root(&ctx, root);
    finalize(&ctx);
    if (!ctx.oom)
        cfg_validate(&ctx);

out:
    if (have_doc)
        yaml_document_delete(&doc);
    if (ctx.err_count || ctx.err_dropped || ctx.oom) {
        config_free(cfg);
        cfg = NULL;
        char *msg = cfg_errors_join(&ctx);
        if (errors)
            *errors = msg;
        else
            free(msg);
    } else if (errors) {
        *errors = NULL;
    }
    cfg_errors_free(&ctx);
    free(ctx.esl_items);
    return cfg;
}

/* Reads a whole regular file of at most CFG_MAX_FILE_BYTES; 0 or -errno. */
int config_read_file(const char *path, char **out, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    size_t len = 0, cap = 0;
    char *buf = NULL;
    for (;;) {
        if (len == cap) {
            if (cap > CFG_MAX_FILE_BYTES) {
                rc = -EFBIG;
                break;
            }
            cap = cap ? cap * 2 : 4096;
            char *b = realloc(buf, cap + 1);
            if (!b) {
                rc = -ENOMEM;
                break;
            }
            buf = b;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (rc == 0 && len > CFG_MAX_FILE_BYTES)
        rc = -EFBIG;
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

struct config *config_load(const char *path, char **errors)
{
    char *text = NULL;
    size_t len = 0;
    int rc = config_read_file(path, &text, &len);
    if (rc < 0) {
        struct cfg_ctx ctx = {.name = path};
        char buf[128];
        if (rc == -EFBIG)
            cfg_error(&ctx, 0, NULL, "file is larger than %d MiB", CFG_MAX_FILE_BYTES >> 20);
        else
            cfg_error(&ctx, 0, NULL, "cannot read: %s", strerror_r(-rc, buf, sizeof buf));
        char *msg = cfg_errors_join(&ctx);
        if (errors)
            *errors = msg;
        else
            free(msg);
        return NULL;
    }
    struct config *cfg = config_load_string(text, len, path, errors);
    free(text);
    return cfg;
}

/* Parsers ----------------------------------------------------------------------------- */

/* Reads decimal digits at *p; false when none or on overflow. */
static bool read_digits(const char **p, int64_t *out)
{
    int64_t n = 0;
    if (!isdigit((unsigned char)**p))
        return false;
    for (; isdigit((unsigned char)**p); (*p)++) {
        int d = **p - '0';
        if (n > (INT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    *out = n;
    return true;
}

bool config_parse_duration_ms(const char *text, int64_t *out_ms)
{
    if (!text || !*text)
        return false;
    if (strcmp(text, "0") == 0) {
        *out_ms = 0;
        return true;
    }
    int64_t total = 0;
    for (const char *p = text; *p;) {
        int64_t n, unit;
        if (!read_digits(&p, &n))
            return false;
        if (p[0] == 'm' && p[1] == 's')
            unit = 1, p += 2;
        else if (*p == 's')
            unit = 1000, p++;
        else if (*p == 'm')
            unit = 60000, p++;
        else if (*p == 'h')
            unit = 3600000, p++;
        else if (*p == 'd')
            unit = 86400000, p++;
        else
            return false;
        if (n > INT64_MAX / unit || total > INT64_MAX - n * unit)
            return false;
        total += n * unit;
    }
    *out_ms = total;
    return true;
}

bool config_parse_size(const char *text, int64_t *out_bytes)
{
    static const struct {
        const char *name;
        int shift;
    } units[] = {
        {"", 0},     {"b", 0},  {"k", 10},  {"kb", 10},  {"kib", 10}, {"m", 20},  {"mb", 20},
        {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40},   {"tb", 40}, {"tib", 40},
    };
    const char *p = text;
    int64_t n;
    if (!text || !read_digits(&p, &n))
        return false;
    while (*p == ' ')
        p++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (cfg_ascii_casecmp(p, units[i].name) == 0) {
            if (n > (INT64_MAX >> units[i].shift))
                return false;
            *out_bytes = n << units[i].shift;
            return true;
        }
    }
    return false;
}
