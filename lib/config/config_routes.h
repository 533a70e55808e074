/*
 * config_routes — the mapper for `routes:` (domains, endpoints, headers, events,
 * endpoint limits) and each endpoint's display URL, label and key.
 */
#ifndef EVENTHUB_CONFIG_ROUTES_H
#define EVENTHUB_CONFIG_ROUTES_H

#include "config/config_ctx.h"

struct route;

void cfg_map_routes(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                    yaml_node_t *value, const char *path);
/* Fills display_url, label and key of every endpoint of `r` (config.h); after mapping
   and after the default route's domain is spelled "*". */
void cfg_route_display(struct cfg_ctx *ctx, struct route *r);

#endif
