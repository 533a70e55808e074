/*
 * config_load — reading a file into a struct config: the top of the loader.
 *
 * A load is: defaults (from the schema tables) -> map the YAML tree -> finalize
 * (derived names, inherited timeouts and endpoint limits, endpoint display and keys,
 * environment overrides) -> validate (which also builds the domain index). Any error,
 * including running out of memory, drops the half-built config through config_unref(),
 * which accepts every partial state: all pointers start NULL and counts only cover
 * allocated, zeroed arrays.
 *
 * The loader's files, bottom to top (each calls only those before it):
 *   config_yaml.c      libyaml document, node helpers, scalars, ${ENV}, the error list;
 *   config_checks.c    the shape of one value (URLs, event names, filters);
 *   config_index.c     the domain -> route index;
 *   config_routes.c    the mapper for `routes:`, endpoint display URLs, labels and keys;
 *   config_api_keys.c  the mapper for `ingress.api_keys:` (api_keys.c: lookup, scope);
 *   config_schema.c    the descriptor tables and the mapper for everything else;
 *   config_validate.c  every range and cross-field rule, in one pass after mapping;
 *   config_load.c      this file.
 * They share the per-load state of config_ctx.h. Runs on the caller's thread.
 */
#include "config/config.h"

#include "config/config_ctx.h"
#include "config/config_routes.h"
#include "config/config_schema.h"
#include "config/config_validate.h"
#include "config/config_yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
            e->sign = e->signing_key_count > 0 && cfg->delivery.signature_headers;
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

static int domain_logging_override = -1;

void config_set_domain_logging_override(int on)
{
    domain_logging_override = on < 0 ? -1 : on != 0;
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
        if (cfg)
            free(cfg);
        cfg = NULL;
        cfg_oom(&ctx);
        goto out;
    }
    atomic_init(&cfg->priv->refs, 1);
    ctx.cfg = cfg;
    ctx.root.base = cfg;
    cfg->path = cfg_strdup(&ctx, ctx.name);
    cfg_apply_defaults(&ctx);
    cfg->delivery.signature_headers = true; /* a custom field: its default is set here */

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
        config_unref(cfg); /* the only reference: frees every partial state */
        cfg = NULL;
        char *msg = cfg_errors_join(&ctx);
        if (errors)
            *errors = msg;
        else
            free(msg);
    } else if (errors) {
        *errors = NULL;
    }
    if (cfg && domain_logging_override >= 0)
        cfg->log.domain_logging = domain_logging_override;
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
