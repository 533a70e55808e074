/*
 * config_index — see config_index.h. Built on the loading thread; read by any thread
 * once the config is published (it is never written again).
 */
#include "config/config_index.h"

#include "config/config.h"
#include "config/config_yaml.h"

#include <string.h>

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
