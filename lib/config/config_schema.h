/*
 * config_schema — the descriptor tables (key, type, offset, default, bounds) and the
 * mapper that walks the YAML tree into struct config and into each item of `esl:`; the
 * walkers over the tables that validation and config_diff use.
 */
#ifndef EVENTHUB_CONFIG_SCHEMA_H
#define EVENTHUB_CONFIG_SCHEMA_H

#include "config/config_ctx.h"

void cfg_apply_defaults(struct cfg_ctx *ctx);
void cfg_map_root(struct cfg_ctx *ctx, yaml_node_t *root);
/* Where the field at `offset` of `rec` was set; false when it kept its default. */
bool cfg_rec_find(const struct cfg_rec *rec, size_t offset, int *line, const char **path);
/* The same for struct config (ctx->root). */
bool cfg_prov_find(const struct cfg_ctx *ctx, size_t offset, int *line, const char **path);
/* Calls fn for every leaf of struct config with its dotted path ("nats.stream.name");
   a list of records (esl) is one leaf, of type CFG_T_CUSTOM. */
typedef void (*cfg_leaf_fn)(const char *path, const struct cfg_field *f, void *arg);
void cfg_schema_foreach(cfg_leaf_fn fn, void *arg);
/* Every key a file may contain, list items' keys included ("esl.reconnect.initial");
   for those, f->offset is into the item, not struct config. */
void cfg_schema_foreach_key(cfg_leaf_fn fn, void *arg);
/* Calls fn for every leaf of `table`, paths under `prefix` ("esl[0]"). */
void cfg_table_foreach(const struct cfg_field *table, const char *prefix, cfg_leaf_fn fn,
                       void *arg);
/* The table of one esl: item (offsets into struct esl_node). */
extern const struct cfg_field cfg_esl_fields[];

#endif
