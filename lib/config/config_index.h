/*
 * config_index — the domain -> route index of a config (config_find_route() in
 * config.h reads it): open addressing over the lowercased domain, built once per load.
 */
#ifndef EVENTHUB_CONFIG_INDEX_H
#define EVENTHUB_CONFIG_INDEX_H

#include "config/config_ctx.h"

/* Builds cfg->priv's domain index; reports duplicate domains. */
void cfg_route_index_build(struct cfg_ctx *ctx);

#endif
