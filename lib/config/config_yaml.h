/*
 * config_yaml — libyaml document loading, node helpers, scalar conversion, ${ENV}
 * expansion and the error list of a load (config_ctx.h). The bottom of the loader:
 * it calls no other config_* file but config.c's parsers.
 */
#ifndef EVENTHUB_CONFIG_YAML_H
#define EVENTHUB_CONFIG_YAML_H

#include "config/config_ctx.h"

void cfg_error(struct cfg_ctx *ctx, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cfg_oom(struct cfg_ctx *ctx);
/* All messages sorted by line, newline-separated; frees them. NULL only on OOM. */
char *cfg_errors_join(struct cfg_ctx *ctx);
void cfg_errors_free(struct cfg_ctx *ctx);

bool cfg_yaml_load(struct cfg_ctx *ctx, const char *text, size_t len, yaml_document_t *doc);
yaml_node_t *cfg_node(const struct cfg_ctx *ctx, int index);
int cfg_line(const yaml_node_t *node);
const char *cfg_kind(const yaml_node_t *node); /* "a string", "a list", "a mapping" */
bool cfg_is_null(const yaml_node_t *node);     /* plain "", "~", "null" */
/* True when pair `i` of `map` repeats an earlier key (reported). */
bool cfg_pair_is_dup(struct cfg_ctx *ctx, const yaml_node_t *map, size_t i, const char *path,
                     bool nocase);
/* Key paths in a CFG_PATH_MAX buffer: "parent.key", "parent[i]" (truncated if longer). */
void cfg_child_path(char *out, const char *parent, const char *key);
void cfg_index_path(char *out, const char *parent, size_t i);
/* Reports an unknown key, suggesting the closest of `known` (NULL-terminated). */
void cfg_unknown_key(struct cfg_ctx *ctx, const char *const *known, int line, const char *key,
                     const char *path);

/* Scalars: each reports its own error (naming `path` and the node's line). */
char *cfg_scalar(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path);
char *cfg_expand_env(struct cfg_ctx *ctx, const char *s, size_t len, int line, const char *path);
bool cfg_get_int(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path, int64_t *out);
bool cfg_get_bool(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path, bool *out);
bool cfg_get_duration(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path,
                      bool int_is_seconds, int64_t *out);
bool cfg_get_size(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path,
                  bool allow_unlimited, int64_t *out);

char *cfg_strdup(struct cfg_ctx *ctx, const char *s);
char *cfg_printf(struct cfg_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "1m30s", "250ms", "0s". */
void cfg_format_duration(int64_t ms, char *out, size_t cap);
/* Why an item of a list of strings is wrong, or NULL when it is fine. */
typedef const char *(*cfg_check_fn)(const char *s);
/*
 * A list of strings, each not empty, passing `check` (when not NULL) and, with `unique`,
 * different from those before it; every problem is reported at its item. Returns true
 * and a new array (NULL when the list is empty) in *out, or false and nothing.
 */
bool cfg_get_string_list(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path,
                         cfg_check_fn check, bool unique, char ***out, size_t *count);
/*
 * An optional list that, when given, must not be empty (routes[].events,
 * ingress.api_keys[].domains): null leaves *out NULL; an empty list is reported as
 * "must list at least one <what> (leave <key> out for every <what>)". Items as
 * cfg_get_string_list with `unique`.
 */
void cfg_get_optional_list(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path,
                           cfg_check_fn check, const char *what, const char *key, char ***out,
                           size_t *count);
bool cfg_has_ctl(const char *s); /* any byte < 0x20, or DEL */

#endif
