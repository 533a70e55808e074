/*
 * config_internal — private to the config module (config*.c) and its unit test.
 * Not part of the public API: nothing outside lib/config*.c and tests/unit/test_config.c
 * may include it.
 *
 * The module is five files, one job each:
 *   config_yaml.c      libyaml document loading, node helpers, scalar conversion,
 *                      ${ENV} expansion, the error list;
 *   config_schema.c    the descriptor tables (key, type, offset, default, bounds) and
 *                      the mapper that walks the YAML tree into struct config;
 *   config_routes.c    the mapper for `routes:` (domains, endpoints, headers);
 *   config_validate.c  every range and cross-field rule, in one pass after mapping;
 *   config.c           the public API: load, defaults, refcount, route index, parsers.
 *
 * Everything here runs on the thread that calls config_load*(); a load shares no state
 * with any other load (the context below lives on its stack).
 */
#ifndef EVENTHUB_CONFIG_INTERNAL_H
#define EVENTHUB_CONFIG_INTERNAL_H

#include "config.h"

#include <stdatomic.h>
#include <yaml.h>

#define CFG_MAX_ERRORS 200                       /* further errors are counted, not kept */
#define CFG_MAX_FILE_BYTES (16 * 1024 * 1024)    /* config_load refuses bigger files */
#define CFG_MAX_DURATION_MS (36500LL * 86400000) /* 100 years: fits nanoseconds in int64 */
#define CFG_ACK_MARGIN_MS 2000                   /* ack_wait > longest endpoint timeout + this */
#define CFG_PATH_MAX 256                         /* key paths in messages ("routes[3].domain") */

enum cfg_type {
    CFG_T_END = 0,  /* terminates a table */
    CFG_T_SECTION,  /* nested mapping described by .section */
    CFG_T_STR,      /* char * */
    CFG_T_BOOL,     /* bool */
    CFG_T_INT,      /* int */
    CFG_T_I64,      /* int64_t count */
    CFG_T_SIZE,     /* size_t bytes: integer or "512KB" */
    CFG_T_SIZE64,   /* int64_t bytes, -1 allowed (unlimited) */
    CFG_T_DURATION, /* int64_t ms: "250ms", "3s"...; a bare integer only if 0 */
    CFG_T_SECONDS,  /* int64_t ms: a bare integer means seconds (Go "_seconds" keys) */
    CFG_T_CUSTOM,   /* .handler maps the node */
    CFG_T_IGNORED,  /* accepted for Go compatibility, logged as a warning */
};

enum {
    CFG_F_ALIAS = 1 << 0,    /* another entry is the canonical key for the same field */
    CFG_F_OPTIONAL = 1 << 1, /* string: empty means unset (NULL) */
    CFG_F_NONZERO = 1 << 2,  /* number: 0 is refused (-1 is the "unlimited" spelling) */
};

struct cfg_ctx;
struct cfg_field;
typedef void (*cfg_handler)(struct cfg_ctx *ctx, const struct cfg_field *f, yaml_node_t *value,
                            const char *path);

/* One key of a mapping. Tables end with an entry whose type is CFG_T_END. */
struct cfg_field {
    const char *key;
    enum cfg_type type;
    unsigned flags;
    size_t offset;                   /* into struct config (leaves) */
    int64_t def, min, max;           /* numeric default and inclusive bounds */
    const char *def_str;             /* string default (NULL: none or derived) */
    const struct cfg_field *section; /* CFG_T_SECTION */
    cfg_handler handler;             /* CFG_T_CUSTOM */
};

/* Where a leaf was set: its line and the key spelling used (for aliases). */
struct cfg_prov {
    size_t offset;
    int line;
    char path[96];
};

struct cfg_error {
    int line;
    size_t seq;
    char *text;
};

/* Per-load state. Owned by the stack frame of config_load_string(). */
struct cfg_ctx {
    const char *name; /* file name used in messages */
    struct config *cfg;
    yaml_document_t *doc;

    struct cfg_error *errs;
    size_t err_count, err_cap, err_dropped;
    bool oom;

    struct cfg_prov prov[96];
    size_t prov_count;

    int url_embedded_line; /* nats.url: embedded was written here (0 = not) */
    int servers_line;      /* first line that added NATS server URLs */
};

struct config_private {
    atomic_int refs;
    /* Open-addressing hash of lowercased domain -> route. Slots hold route index + 1
       (0 = empty); the mask is capacity - 1. The default route is not in it. */
    uint32_t *slots;
    size_t mask;
};

/* config_yaml.c ------------------------------------------------------------------- */

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
int cfg_ascii_casecmp(const char *a, const char *b);
static inline int cfg_ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* config_schema.c ----------------------------------------------------------------- */

void cfg_apply_defaults(struct cfg_ctx *ctx);
void cfg_map_root(struct cfg_ctx *ctx, yaml_node_t *root);
/* Where the field at `offset` was set; false when it kept its default. */
bool cfg_prov_find(const struct cfg_ctx *ctx, size_t offset, int *line, const char **path);
/* Calls fn for every leaf of the schema with its dotted path ("nats.stream.name"). */
typedef void (*cfg_leaf_fn)(const char *path, const struct cfg_field *f, void *arg);
void cfg_schema_foreach(cfg_leaf_fn fn, void *arg);

/* config_routes.c ----------------------------------------------------------------- */

void cfg_map_routes(struct cfg_ctx *ctx, const struct cfg_field *f, yaml_node_t *value,
                    const char *path);

/* config_validate.c --------------------------------------------------------------- */

void cfg_validate(struct cfg_ctx *ctx);
/* NULL when `url` has one of `schemes` ("http", ...) and a host; else why not (the
   scheme case returns `bad_scheme`). */
const char *cfg_url_problem(const char *url, const char *const *schemes, const char *bad_scheme);

/* config.c ------------------------------------------------------------------------- */

/* Builds priv's domain index; reports duplicate domains. */
void cfg_route_index_build(struct cfg_ctx *ctx);

#endif
