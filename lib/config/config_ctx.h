/*
 * config_ctx — the state of one config load, shared by the loader's files (config_yaml,
 * config_schema, config_routes, config_checks, config_validate, config_index, config_load)
 * and the config unit test: the descriptor-table types, where each leaf was set, the
 * error list. Types and limits only; each file's functions are in its own header.
 *
 * A load runs on the thread that calls config_load*() and shares no state with any other
 * load: the context lives on config_load_string()'s stack.
 */
#ifndef EVENTHUB_CONFIG_CTX_H
#define EVENTHUB_CONFIG_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <yaml.h>

#define CFG_MAX_ERRORS 200                       /* further errors are counted, not kept */
#define CFG_MAX_FILE_BYTES (16 * 1024 * 1024)    /* config_load refuses bigger files */
#define CFG_MAX_DURATION_MS (36500LL * 86400000) /* 100 years: fits nanoseconds in int64 */
#define CFG_ACK_MARGIN_MS 2000                   /* ack_wait > longest endpoint timeout + this */
#define CFG_ACK_WAIT_MIN_MS                                                                        \
    3000                        /* shorter: in-progress acks (checked each second) cannot keep it */
#define CFG_PATH_MAX 256        /* key paths in messages ("routes[3].domain") */
#define CFG_MAX_ESL_NODES 1000  /* esl: items (a connection each) */
#define CFG_MAX_LIST_ITEMS 1000 /* entries of a list of strings (events...) */
#define CFG_ZONEINFO_DIR "/usr/share/zoneinfo" /* calls.timezone names a file under it */
#define CFG_ESL_PASSWORD_MAX 512               /* esl[].password, characters */
#define CFG_ESL_FILTER_MAX 1024                /* one esl[].filters entry, characters */

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

struct config;
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

/* Small helpers every file of the loader (and config.c's freeing) uses. */
static inline int cfg_ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static inline int cfg_ascii_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = cfg_ascii_lower((unsigned char)*a), y = cfg_ascii_lower((unsigned char)*b);
        if (x != y || !x)
            return x - y;
    }
}

/* Frees a list of strings and the list; accepts NULL. */
static inline void cfg_free_strings(char **list, size_t count)
{
    for (size_t i = 0; list && i < count; i++)
        free(list[i]);
    free(list);
}

#endif
