/*
 * config_internal — private to the config module (config*.c) and its unit test.
 * Not part of the public API: nothing outside lib/config*.c and tests/unit/test_config.c
 * may include it.
 *
 * The module is six files, one job each:
 *   config_yaml.c      libyaml document loading, node helpers, scalar conversion,
 *                      ${ENV} expansion, the error list;
 *   config_schema.c    the descriptor tables (key, type, offset, default, bounds) and
 *                      the mapper that walks the YAML tree into struct config, and
 *                      into each item of `esl:` (a list of records with a table too);
 *   config_routes.c    the mapper for `routes:` (domains, endpoints, headers, events,
 *                      endpoint limits), endpoint display URLs, labels and keys;
 *   config_validate.c  every range and cross-field rule, in one pass after mapping;
 *   config.c           the public API: load, defaults, refcount, route index, parsers;
 *   config_diff.c      a reloaded config against the running one (config_diff.h): the
 *                      changed settings, walked through the key tables.
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
#define CFG_MAX_ESL_NODES 1000                   /* esl: items (a connection each) */
#define CFG_MAX_LIST_ITEMS 1000                  /* entries of a list of strings (events...) */
#define CFG_ZONEINFO_DIR "/usr/share/zoneinfo"   /* calls.timezone names a file under it */
#define CFG_ESL_PASSWORD_MAX 512                 /* esl[].password, characters */
#define CFG_ESL_FILTER_MAX 1024                  /* one esl[].filters entry, characters */

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
    CFG_T_CUSTOM,   /* .handler maps the node; for a list of records (esl), .section
                       describes one item, its offsets into the item's struct */
    CFG_T_IGNORED,  /* accepted for Go compatibility, logged as a warning */
};

enum {
    CFG_F_ALIAS = 1 << 0,    /* another entry is the canonical key for the same field */
    CFG_F_OPTIONAL = 1 << 1, /* string: empty means unset (NULL) */
    CFG_F_NONZERO = 1 << 2,  /* number: 0 is refused (-1 is the "unlimited" spelling) */
    CFG_F_REQUIRED = 1 << 3, /* string without default: the key must be written */
};

struct cfg_ctx;
struct cfg_field;
struct cfg_rec;
/* Maps `value` for field `f` of `rec` (rec->base is what f->offset points into). */
typedef void (*cfg_handler)(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                            yaml_node_t *value, const char *path);

/* One key of a mapping. Tables end with an entry whose type is CFG_T_END. */
struct cfg_field {
    const char *key;
    enum cfg_type type;
    unsigned flags;
    size_t offset;                   /* into struct config, or the list item (leaves) */
    int64_t def, min, max;           /* numeric default and inclusive bounds */
    const char *def_str;             /* string default (NULL: none or derived) */
    const struct cfg_field *section; /* CFG_T_SECTION; CFG_T_CUSTOM: a list item's table */
    cfg_handler handler;             /* CFG_T_CUSTOM */
};

/* Where a leaf was set: its line and the key spelling used (for aliases). */
struct cfg_prov {
    size_t offset;
    int line;
    char path[96];
};

/*
 * What a table's offsets point into, and where each of its leaves was set: struct config
 * itself (cfg_ctx.root), or one item of a list of records (an esl: node). Validation
 * reads the lines back from here.
 */
struct cfg_rec {
    void *base;
    struct cfg_prov *prov;
    size_t prov_count, prov_cap;
    int line; /* the item's line; 0 for the root */
};

/* The load-time side of one esl: item, parallel to config.esl_nodes. */
struct cfg_item {
    struct cfg_rec rec;
    struct cfg_prov prov[24];
    bool mapped; /* it was a mapping; validation skips the others (already reported) */
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

    struct cfg_rec root; /* base = cfg, prov = the array below */
    struct cfg_prov prov[96];
    struct cfg_item *esl_items; /* esl_node_count of them once esl: is mapped */

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
/* Why an item of a list of strings is wrong, or NULL when it is fine. */
typedef const char *(*cfg_check_fn)(const char *s);
/*
 * A list of strings, each not empty, passing `check` (when not NULL) and, with `unique`,
 * different from those before it; every problem is reported at its item. Returns true
 * and a new array (NULL when the list is empty) in *out, or false and nothing.
 */
bool cfg_get_string_list(struct cfg_ctx *ctx, const yaml_node_t *node, const char *path,
                         cfg_check_fn check, bool unique, char ***out, size_t *count);
void cfg_free_strings(char **list, size_t count); /* accepts NULL */
bool cfg_has_ctl(const char *s);                  /* any byte < 0x20, or DEL */
int cfg_ascii_casecmp(const char *a, const char *b);
static inline int cfg_ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* config_schema.c ----------------------------------------------------------------- */

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

/* config_routes.c ----------------------------------------------------------------- */

void cfg_map_routes(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                    yaml_node_t *value, const char *path);
/* Fills display_url, label and key of every endpoint of `r` (config.h); after mapping
   and after the default route's domain is spelled "*". */
void cfg_route_display(struct cfg_ctx *ctx, struct route *r);

/* config_validate.c --------------------------------------------------------------- */

void cfg_validate(struct cfg_ctx *ctx);
/* NULL when `url` has one of `schemes` ("http", ...) and a host; else why not (the
   scheme case returns `bad_scheme`). */
const char *cfg_url_problem(const char *url, const char *const *schemes, const char *bad_scheme);
/* cfg_check_fn for esl[].events: a FreeSWITCH Event-Name ([A-Z0-9_]+, "ALL" among
   them) or "CUSTOM" followed by subclass names ("CUSTOM sofia::register"). */
const char *cfg_event_name_problem(const char *s);
/* cfg_check_fn for routes[].events: "ingress", "call_signal" or an event name. */
const char *cfg_route_kind_problem(const char *s);
/* cfg_check_fn for esl[].filters: "Header value". */
const char *cfg_filter_problem(const char *s);

/* config.c ------------------------------------------------------------------------- */

/* Builds priv's domain index; reports duplicate domains. */
void cfg_route_index_build(struct cfg_ctx *ctx);

#endif
