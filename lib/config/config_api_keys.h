/*
 * config_api_keys — the mapper for `ingress.api_keys:` (api_keys.h is what uses them):
 * each entry {name, key, domains}, its shape and limits checked here, where the node
 * and its line are at hand. The key text is hashed and wiped as soon as it is read.
 */
#ifndef EVENTHUB_CONFIG_API_KEYS_H
#define EVENTHUB_CONFIG_API_KEYS_H

#include "config/config_ctx.h"

void cfg_map_api_keys(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                      yaml_node_t *value, const char *path);

#endif
