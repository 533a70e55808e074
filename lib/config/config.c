/*
 * config — what a loaded config is (config.h for the contract): freeing, the refcount,
 * the duration and size parsers. The loader is config_load.c; the domain index is
 * config_index.c.
 *
 * After a successful load the config is never written again, so any thread may read
 * it; the only mutable state is the atomic refcount in config_private.
 */
#include "config/config.h"

#include "config/config_ctx.h"

#include "core/webhook_signature.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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
        for (size_t k = 0; k < e->signing_key_count; k++)
            webhook_key_clear(&e->signing_keys[k]);
        free(e->signing_keys);
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

static void free_api_key(struct api_key *k)
{
    free(k->name);
    cfg_free_strings(k->domains, k->domain_count);
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
    for (size_t i = 0; i < CONFIG_CALLS_FIELDS; i++)
        free(cfg->calls.field_headers[i]);
    for (size_t i = 0; i < cfg->route_count; i++)
        free_route(&cfg->routes[i]);
    free(cfg->routes);
    for (size_t i = 0; i < cfg->esl_node_count; i++)
        free_esl_node(&cfg->esl_nodes[i]);
    free(cfg->esl_nodes);
    for (size_t i = 0; i < cfg->ingress.api_key_count; i++)
        free_api_key(&cfg->ingress.api_keys[i]);
    free(cfg->ingress.api_keys);
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
