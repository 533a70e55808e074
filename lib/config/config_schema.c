/*
 * config_schema — the key tables and the mapper.
 *
 * Each section of the file is a table of cfg_field descriptors: key, type, offset into
 * struct config, default and bounds. The same tables drive three things: defaults
 * (cfg_apply_defaults), mapping a YAML mapping into the struct (map_section), and the
 * range checks in config_validate.c. Lists with structure of their own (routes,
 * nats.servers, delivery.backoff) have a handler. `esl:` is a list of records: each
 * item is mapped with its own table (cfg_esl_fields, offsets into struct esl_node) by
 * the same map_section, into a cfg_rec that keeps the item's provenance.
 *
 * The mapper checks types and shapes (is it an integer, a list, a URL list, a header
 * token) at the node, where the line is known; ranges and relations between fields are
 * left to cfg_validate(). Every leaf that is set records where (cfg_prov), which gives
 * validation its line numbers and catches a field set twice through two spellings
 * (nats.stream_name and nats.stream.name).
 */
#include "config/config_schema.h"

#include "config/config.h"
#include "config/config_checks.h"
#include "config/config_api_keys.h"
#include "config/config_routes.h"
#include "config/config_yaml.h"

#include "core/hostname.h"
#include "core/log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(member) offsetof(struct config, member)
#define EOFF(member) offsetof(struct esl_node, member)
#define KiB 1024LL
#define MiB (1024LL * 1024)
#define GiB (1024LL * 1024 * 1024)
#define MAXD CFG_MAX_DURATION_MS
#define HOUR 3600000LL
#define DAY 86400000LL

/* F_* describe fields of struct config; E_* the same for an esl: item (struct esl_node). */
/* clang-format off */
#define X_STR(o, k, d, fl)  {.key = k, .type = CFG_T_STR, .offset = o, .def_str = d, .flags = fl}
#define X_NUM(o, t, k, d, lo, hi, fl) \
    {.key = k, .type = t, .offset = o, .def = d, .min = lo, .max = hi, .flags = fl}
#define X_CUSTOM(o, k, fn)  {.key = k, .type = CFG_T_CUSTOM, .offset = o, .handler = fn}
#define F_STR(k, m, d, fl)  X_STR(OFF(m), k, d, fl)
#define F_BOOL(k, m, d)     {.key = k, .type = CFG_T_BOOL, .offset = OFF(m), .def = d, .max = 1}
#define F_NUM(t, k, m, d, lo, hi, fl) X_NUM(OFF(m), t, k, d, lo, hi, fl)
#define F_SECTION(k, tab)   {.key = k, .type = CFG_T_SECTION, .section = tab}
#define F_CUSTOM(k, m, fn)  X_CUSTOM(OFF(m), k, fn)
#define F_LIST(k, m, fn, tab) \
    {.key = k, .type = CFG_T_CUSTOM, .offset = OFF(m), .handler = fn, .section = tab}
#define F_IGNORED(k)        {.key = k, .type = CFG_T_IGNORED}
#define F_END               {.key = NULL, .type = CFG_T_END}
#define E_STR(k, m, d, fl)  X_STR(EOFF(m), k, d, fl)
#define E_NUM(t, k, m, d, lo, hi, fl) X_NUM(EOFF(m), t, k, d, lo, hi, fl)
#define E_CUSTOM(k, m, fn)  X_CUSTOM(EOFF(m), k, fn)
/* clang-format on */

static void map_nats_url(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                         yaml_node_t *value, const char *path);
static void map_allowed_hosts(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                              yaml_node_t *value, const char *path);
static void map_nats_servers(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                             yaml_node_t *value, const char *path);
static void map_storage(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                        yaml_node_t *value, const char *path);
static void map_backoff(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                        yaml_node_t *value, const char *path);
static void map_signature_headers(struct cfg_ctx *ctx, const struct cfg_field *f,
                                  struct cfg_rec *rec, yaml_node_t *value, const char *path);
static void map_esl(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                    yaml_node_t *value, const char *path);
static void map_signal_format(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                              yaml_node_t *value, const char *path);
static void map_calls_fields(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                             yaml_node_t *value, const char *path);
static void map_esl_events(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                           yaml_node_t *value, const char *path);
static void map_esl_filters(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                            yaml_node_t *value, const char *path);
static void map_esl_format(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                           yaml_node_t *value, const char *path);
static void map_esl_publish(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                            yaml_node_t *value, const char *path);

static const struct cfg_field server_fields[] = {
    F_STR("address", server.address, "0.0.0.0", 0),
    F_NUM(CFG_T_INT, "port", server.port, 8080, 0, 65535, 0),
    F_NUM(CFG_T_SIZE, "max_body_bytes", server.max_body_bytes, 1 * MiB, 1, 64 * MiB, 0),
    F_NUM(CFG_T_INT, "max_connections", server.max_connections, 4096, 1, 1000000, 0),
    /* -1: derived from max_connections (finalize()) */
    F_NUM(CFG_T_INT, "max_connections_per_ip", server.max_connections_per_ip, -1, 0, 1000000, 0),
    F_NUM(CFG_T_DURATION, "connection_timeout", server.connection_timeout_ms, 30000, 1, MAXD, 0),
    F_NUM(CFG_T_DURATION, "request_head_timeout", server.request_head_timeout_ms, 10000, 0, MAXD,
          0),
    F_NUM(CFG_T_DURATION, "request_body_timeout", server.request_body_timeout_ms, 30000, 0, MAXD,
          0),
    F_CUSTOM("allowed_hosts", server.allowed_hosts, map_allowed_hosts),
    F_NUM(CFG_T_DURATION, "shutdown_timeout", server.shutdown_timeout_ms, 15000, 0, MAXD, 0),
    F_STR("admin_token", server.admin_token, NULL, CFG_F_OPTIONAL),
    F_BOOL("protect_read_apis", server.protect_read_apis, 0),
    F_BOOL("watch_config", server.watch_config, 1),
    F_IGNORED("read_timeout_seconds"),
    F_IGNORED("write_timeout_seconds"),
    F_END,
};

static const struct cfg_field stream_fields[] = {
    F_STR("name", nats.stream_name, "EVENTS", 0),
    F_STR("subject_pattern", nats.subject_pattern, "events.*", 0),
    F_CUSTOM("storage", nats.storage, map_storage),
    F_NUM(CFG_T_DURATION, "max_age", nats.max_age_ms, 7 * 86400000LL, 0, MAXD, 0),
    F_NUM(CFG_T_I64, "max_msgs", nats.max_msgs, -1, -1, INT64_MAX, CFG_F_NONZERO),
    F_NUM(CFG_T_SIZE64, "max_bytes", nats.max_bytes, -1, -1, INT64_MAX, CFG_F_NONZERO),
    F_NUM(CFG_T_DURATION, "duplicate_window", nats.duplicate_window_ms, 120000, 1, MAXD, 0),
    F_NUM(CFG_T_INT, "replicas", nats.replicas, 1, 1, 5, 0),
    F_END,
};

/* A NULL string default without CFG_F_OPTIONAL is derived from other keys (finalize()). */
static const struct cfg_field dead_letter_fields[] = {
    F_STR("stream", nats.dlq_stream, NULL, 0),
    F_STR("subject_prefix", nats.dlq_subject_prefix, NULL, 0),
    F_NUM(CFG_T_DURATION, "max_age", nats.dlq_max_age_ms, 30 * 86400000LL, 0, MAXD, 0),
    F_END,
};

/* Parked deliveries: derived from the stream name when not written (finalize()). */
static const struct cfg_field retry_fields[] = {
    F_STR("stream", nats.retry_stream, NULL, 0),
    F_STR("subject_prefix", nats.retry_subject_prefix, NULL, 0),
    F_END,
};

static const struct cfg_field consumer_fields[] = {
    F_STR("name", nats.consumer_name, "eventhub", 0),
    F_STR("deliver_group", nats.deliver_group, NULL, 0),
    F_STR("deliver_subject", nats.deliver_subject, NULL, 0),
    F_NUM(CFG_T_DURATION, "ack_wait", nats.ack_wait_ms, 30000, 1, MAXD, 0),
    F_NUM(CFG_T_INT, "max_deliver", nats.max_deliver, 5, 1, 1000, 0),
    F_NUM(CFG_T_INT, "max_ack_pending", nats.max_ack_pending, 1024, 1, 100000, 0),
    F_END,
};

static const struct cfg_field publish_fields[] = {
    F_NUM(CFG_T_DURATION, "timeout", nats.publish_timeout_ms, 5000, 1, MAXD, 0),
    F_NUM(CFG_T_INT, "max_inflight", nats.max_inflight_publishes, 4096, 1, 1000000, 0),
    F_END,
};

static const struct cfg_field embedded_fields[] = {
    F_STR("binary", nats.embedded_binary, "nats-server", 0),
    F_STR("data_dir", nats.embedded_data_dir, "data/nats", 0),
    F_NUM(CFG_T_INT, "port", nats.embedded_port, 0, 0, 65535, 0),
    F_END,
};

static const struct cfg_field nats_fields[] = {
    F_CUSTOM("url", nats.embedded, map_nats_url),
    F_CUSTOM("servers", nats.servers, map_nats_servers),
    F_STR("token", nats.token, NULL, CFG_F_OPTIONAL),
    F_STR("user", nats.user, NULL, CFG_F_OPTIONAL),
    F_STR("password", nats.password, NULL, CFG_F_OPTIONAL),
    F_STR("credentials", nats.credentials_file, NULL, CFG_F_OPTIONAL),
    F_STR("connection_name", nats.name, "eventhub", 0),
    F_NUM(CFG_T_DURATION, "reconnect_wait", nats.reconnect_wait_ms, 1000, 1, MAXD, 0),
    F_NUM(CFG_T_DURATION, "connect_timeout", nats.connect_timeout_ms, 2000, 1, MAXD, 0),
    /* Go telephony-forwarder spellings of nested keys. */
    F_STR("stream_name", nats.stream_name, NULL, CFG_F_ALIAS),
    F_STR("subject_pattern", nats.subject_pattern, NULL, CFG_F_ALIAS),
    F_NUM(CFG_T_SECONDS, "ack_wait_seconds", nats.ack_wait_ms, 0, 1, MAXD, CFG_F_ALIAS),
    F_NUM(CFG_T_INT, "max_deliveries", nats.max_deliver, 0, 1, 1000, CFG_F_ALIAS),
    F_SECTION("stream", stream_fields),
    F_SECTION("dead_letter", dead_letter_fields),
    F_SECTION("retry", retry_fields),
    F_SECTION("consumer", consumer_fields),
    F_SECTION("publish", publish_fields),
    F_SECTION("embedded", embedded_fields),
    F_END,
};

/* An endpoint's circuit breaker; max_cooldown >= cooldown is checked in config_validate.c. */
static const struct cfg_field breaker_fields[] = {
    F_NUM(CFG_T_INT, "failures", delivery.breaker_failures, 5, 0, 1000, 0),
    F_NUM(CFG_T_DURATION, "cooldown", delivery.breaker_cooldown_ms, 5000, 1, MAXD, 0),
    F_NUM(CFG_T_DURATION, "max_cooldown", delivery.breaker_max_cooldown_ms, 300000, 1, MAXD, 0),
    F_END,
};

static const struct cfg_field delivery_fields[] = {
    F_BOOL("enabled", delivery.enabled, 1),
    F_NUM(CFG_T_DURATION, "timeout", delivery.timeout_ms, 3000, 1, MAXD, 0),
    F_NUM(CFG_T_DURATION, "connect_timeout", delivery.connect_timeout_ms, 1000, 1, MAXD, 0),
    F_NUM(CFG_T_INT, "max_concurrent", delivery.max_concurrent, 256, 1, 10000, 0),
    F_NUM(CFG_T_INT, "max_host_connections", delivery.max_host_connections, 256, 1, 10000, 0),
    F_CUSTOM("backoff", delivery.backoff_ms, map_backoff),
    F_NUM(CFG_T_INT, "endpoint_max_concurrent", delivery.endpoint_max_concurrent, 32, 1, 10000, 0),
    F_NUM(CFG_T_DURATION, "max_retry_age", delivery.max_retry_age_ms, DAY, 1, MAXD, 0),
    F_SECTION("breaker", breaker_fields),
    F_NUM(CFG_T_INT, "retry_window", delivery.retry_window, 256, 1, 65536, 0),
    F_CUSTOM("signature_headers", delivery.signature_headers, map_signature_headers),
    F_END,
};

static const struct cfg_field history_fields[] = {
    F_NUM(CFG_T_INT, "max_domains", history.max_domains, 1000, 1, 1000000, 0),
    F_NUM(CFG_T_INT, "per_domain", history.per_domain, 100, 1, 100000, 0),
    F_NUM(CFG_T_SIZE, "max_event_bytes", history.max_event_bytes, 16 * 1024, 256, 16 * MiB, 0),
    F_END,
};

static const struct cfg_field log_fields[] = {
    F_STR("level", log.level, "info", 0),
    F_STR("file", log.file, NULL, CFG_F_OPTIONAL),
    F_BOOL("domain_logging", log.domain_logging, 1),
    F_STR("dir", log.dir, "logs", 0),
    F_NUM(CFG_T_SIZE64, "max_file_size", log.max_file_bytes, 500 * MiB, 4 * KiB, 1024 * GiB, 0),
    F_NUM(CFG_T_INT, "max_age_days", log.max_age_days, 30, 1, 36500, 0),
    F_NUM(CFG_T_INT, "max_backups", log.max_backups, 30, 1, 100000, 0),
    F_END,
};

static const struct cfg_field esl_reconnect_fields[] = {
    E_NUM(CFG_T_DURATION, "initial", reconnect_initial_ms, 1000, 1, MAXD, 0),
    E_NUM(CFG_T_DURATION, "max", reconnect_max_ms, 30000, 1, MAXD, 0),
    F_END,
};

/* One esl: item. name and host have no default; the rest are checked in
   config_validate.c (validate_esl_node). */
const struct cfg_field cfg_esl_fields[] = {
    E_STR("name", name, NULL, CFG_F_REQUIRED),
    E_STR("host", host, NULL, CFG_F_REQUIRED),
    E_NUM(CFG_T_INT, "port", port, 8021, 1, 65535, 0),
    E_STR("password", password, "ClueCon", 0),
    E_CUSTOM("events", events, map_esl_events),
    E_CUSTOM("filters", filters, map_esl_filters),
    E_CUSTOM("format", format, map_esl_format),
    E_CUSTOM("publish", publish, map_esl_publish),
    E_STR("default_domain", default_domain, NULL, CFG_F_OPTIONAL),
    F_SECTION("reconnect", esl_reconnect_fields),
    E_NUM(CFG_T_DURATION, "heartbeat_timeout", heartbeat_timeout_ms, 60000, 1000, MAXD, 0),
    E_NUM(CFG_T_DURATION, "connect_timeout", connect_timeout_ms, 5000, 1, MAXD, 0),
    E_NUM(CFG_T_SIZE, "max_frame_bytes", max_frame_bytes, 4 * MiB, 64 * KiB, 1 * GiB, 0),
    E_NUM(CFG_T_INT, "buffer_events", buffer_events, 10000, 1, 10000000, 0),
    E_STR("logs", logs, NULL, CFG_F_OPTIONAL),
    F_END,
};

static const struct cfg_field calls_fields[] = {
    F_STR("timezone", calls.timezone, NULL, CFG_F_OPTIONAL),
    F_NUM(CFG_T_DURATION, "max_call_age", calls.max_call_age_ms, 4 * HOUR, 1, MAXD, 0),
    F_NUM(CFG_T_INT, "max_calls", calls.max_calls, 100000, 1, 10000000, 0),
    F_STR("bucket", calls.bucket, "CALLS", 0),
    F_NUM(CFG_T_DURATION, "retention", calls.retention_ms, 30 * DAY, 0, MAXD, 0),
    F_CUSTOM("signal_format", calls.typed_signals, map_signal_format),
    F_CUSTOM("fields", calls.field_headers, map_calls_fields),
    F_END,
};

static const struct cfg_field ingress_fields[] = {
    F_CUSTOM("api_keys", ingress.api_keys, cfg_map_api_keys),
    F_END,
};

static const struct cfg_field api_fields[] = {
    F_NUM(CFG_T_INT, "workers", api.workers, 4, 3, 64, 0),
    F_NUM(CFG_T_INT, "max_concurrent_scans", api.max_concurrent_scans, 2, 1, 62, 0),
    F_NUM(CFG_T_DURATION, "queue_timeout", api.queue_timeout_ms, 5000, 1, 600000, 0),
    F_NUM(CFG_T_DURATION, "scan_timeout", api.scan_timeout_ms, 2000, 1, 600000, 0),
    F_NUM(CFG_T_INT, "scan_max_messages", api.scan_max_messages, 20000, 1, 10000000, 0),
    F_END,
};

/* clang-format off */
static const struct cfg_field root_fields[] = {
    F_SECTION("server", server_fields),
    F_SECTION("nats", nats_fields),
    F_SECTION("delivery", delivery_fields),
    F_SECTION("log", log_fields),
    F_SECTION("history", history_fields),
    F_LIST("esl", esl_nodes, map_esl, cfg_esl_fields),
    F_SECTION("calls", calls_fields),
    F_SECTION("api", api_fields),
    F_SECTION("ingress", ingress_fields),
    F_CUSTOM("routes", routes, cfg_map_routes),
    F_END,
};
/* clang-format on */

static const int64_t default_backoff_ms[] = {1000, 5000, 30000, 120000, 300000};

/* What call tracking needs, and HEARTBEAT for the connection watchdog. */
static const char *const default_esl_events[] = {
    "CHANNEL_CREATE", "CHANNEL_PROGRESS",        "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_ANSWER", "CHANNEL_BRIDGE",          "CHANNEL_UNBRIDGE",
    "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "HEARTBEAT",
};

static void *field_ptr(void *base, const struct cfg_field *f)
{
    return (char *)base + f->offset;
}

/* Walking the tables ------------------------------------------------------------------ */

/* With `items`, also descends into the table of a list of records. */
static void foreach_in(const struct cfg_field *fields, const char *prefix, bool items,
                       cfg_leaf_fn fn, void *arg)
{
    for (const struct cfg_field *f = fields; f->type != CFG_T_END; f++) {
        char path[CFG_PATH_MAX];
        cfg_child_path(path, prefix, f->key);
        if (f->type == CFG_T_SECTION) {
            foreach_in(f->section, path, items, fn, arg);
        } else {
            fn(path, f, arg);
            if (items && f->type == CFG_T_CUSTOM && f->section)
                foreach_in(f->section, path, items, fn, arg);
        }
    }
}

void cfg_schema_foreach(cfg_leaf_fn fn, void *arg)
{
    foreach_in(root_fields, "", false, fn, arg);
}

void cfg_schema_foreach_key(cfg_leaf_fn fn, void *arg)
{
    foreach_in(root_fields, "", true, fn, arg);
}

void cfg_table_foreach(const struct cfg_field *table, const char *prefix, cfg_leaf_fn fn, void *arg)
{
    foreach_in(table, prefix, false, fn, arg);
}

struct defaults {
    struct cfg_ctx *ctx;
    void *base;
};

static void default_one(const char *path, const struct cfg_field *f, void *arg)
{
    const struct defaults *d = arg;
    struct cfg_ctx *ctx = d->ctx;
    void *p = field_ptr(d->base, f);
    (void)path;
    if (f->flags & CFG_F_ALIAS)
        return;
    switch (f->type) {
    case CFG_T_STR:
        if (f->def_str)
            *(char **)p = cfg_strdup(ctx, f->def_str);
        break;
    case CFG_T_BOOL:
        *(bool *)p = f->def != 0;
        break;
    case CFG_T_INT:
        *(int *)p = (int)f->def;
        break;
    case CFG_T_SIZE:
        *(size_t *)p = (size_t)f->def;
        break;
    case CFG_T_I64:
    case CFG_T_SIZE64:
    case CFG_T_DURATION:
    case CFG_T_SECONDS:
        *(int64_t *)p = f->def;
        break;
    default:
        break;
    }
}

void cfg_apply_defaults(struct cfg_ctx *ctx)
{
    struct config *cfg = ctx->cfg;
    struct defaults d = {ctx, cfg};
    cfg_schema_foreach(default_one, &d);
    cfg->nats.storage = STORAGE_FILE;
    size_t n = sizeof default_backoff_ms / sizeof default_backoff_ms[0];
    cfg->delivery.backoff_ms = malloc(sizeof default_backoff_ms);
    if (!cfg->delivery.backoff_ms) {
        cfg_oom(ctx);
        return;
    }
    memcpy(cfg->delivery.backoff_ms, default_backoff_ms, sizeof default_backoff_ms);
    cfg->delivery.backoff_count = n;
}

/* Provenance -------------------------------------------------------------------------- */

bool cfg_rec_find(const struct cfg_rec *rec, size_t offset, int *line, const char **path)
{
    for (size_t i = 0; i < rec->prov_count; i++) {
        if (rec->prov[i].offset == offset) {
            if (line)
                *line = rec->prov[i].line;
            if (path)
                *path = rec->prov[i].path;
            return true;
        }
    }
    return false;
}

bool cfg_prov_find(const struct cfg_ctx *ctx, size_t offset, int *line, const char **path)
{
    return cfg_rec_find(&ctx->root, offset, line, path);
}

/* Records that `f` of `rec` is set at `line`; false (reported) when it was already set. */
static bool prov_record(struct cfg_ctx *ctx, struct cfg_rec *rec, const struct cfg_field *f,
                        int line, const char *path)
{
    int first_line;
    const char *first_path;
    if (cfg_rec_find(rec, f->offset, &first_line, &first_path)) {
        cfg_error(ctx, line, path, "already set at line %d as %s; keep only one", first_line,
                  first_path);
        return false;
    }
    if (rec->prov_count < rec->prov_cap) {
        struct cfg_prov *p = &rec->prov[rec->prov_count++];
        p->offset = f->offset;
        p->line = line;
        size_t n = strnlen(path, sizeof p->path - 1);
        memcpy(p->path, path, n);
        p->path[n] = '\0';
    }
    return true;
}

/* Mapping ----------------------------------------------------------------------------- */

static void unknown_field(struct cfg_ctx *ctx, const struct cfg_field *fields, int line,
                          const char *key, const char *path)
{
    const char *known[48];
    size_t n = 0;
    for (const struct cfg_field *f = fields; f->type != CFG_T_END && n < 47; f++)
        known[n++] = f->key;
    known[n] = NULL;
    cfg_unknown_key(ctx, known, line, key, path);
}

static void set_leaf(struct cfg_ctx *ctx, void *base, const struct cfg_field *f, yaml_node_t *v,
                     const char *path)
{
    void *p = field_ptr(base, f);
    int64_t n;
    bool b;
    switch (f->type) {
    case CFG_T_STR: {
        char *s = cfg_scalar(ctx, v, path);
        if (!s)
            return;
        if ((f->flags & CFG_F_OPTIONAL) && !*s) {
            free(s);
            s = NULL;
        }
        free(*(char **)p);
        *(char **)p = s;
        break;
    }
    case CFG_T_BOOL:
        if (cfg_get_bool(ctx, v, path, &b))
            *(bool *)p = b;
        break;
    case CFG_T_INT:
        if (!cfg_get_int(ctx, v, path, &n))
            return;
        if (n < INT_MIN || n > INT_MAX)
            cfg_error(ctx, cfg_line(v), path, "%lld is out of range (%lld..%lld)", (long long)n,
                      (long long)f->min, (long long)f->max);
        else
            *(int *)p = (int)n;
        break;
    case CFG_T_I64:
        if (cfg_get_int(ctx, v, path, &n))
            *(int64_t *)p = n;
        break;
    case CFG_T_SIZE:
        if (cfg_get_size(ctx, v, path, false, &n))
            *(size_t *)p = (size_t)n;
        break;
    case CFG_T_SIZE64:
        if (cfg_get_size(ctx, v, path, true, &n))
            *(int64_t *)p = n;
        break;
    case CFG_T_DURATION:
    case CFG_T_SECONDS:
        if (cfg_get_duration(ctx, v, path, f->type == CFG_T_SECONDS, &n))
            *(int64_t *)p = n;
        break;
    default:
        break;
    }
}

static void map_section(struct cfg_ctx *ctx, struct cfg_rec *rec, yaml_node_t *node,
                        const char *path, const struct cfg_field *fields)
{
    if (cfg_is_null(node))
        return;
    if (node->type != YAML_MAPPING_NODE) {
        cfg_error(ctx, cfg_line(node), path, "expected a mapping, got %s", cfg_kind(node));
        return;
    }
    size_t count = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    for (size_t i = 0; i < count; i++) {
        const yaml_node_pair_t *pair = &node->data.mapping.pairs.start[i];
        yaml_node_t *k = cfg_node(ctx, pair->key), *v = cfg_node(ctx, pair->value);
        if (k->type != YAML_SCALAR_NODE) {
            cfg_error(ctx, cfg_line(k), path, "keys must be plain strings, got %s", cfg_kind(k));
            continue;
        }
        const char *key = (const char *)k->data.scalar.value;
        char child[CFG_PATH_MAX];
        cfg_child_path(child, path, key);
        if (cfg_pair_is_dup(ctx, node, i, child, false))
            continue;
        const struct cfg_field *f = fields;
        while (f->type != CFG_T_END && strcmp(f->key, key) != 0)
            f++;
        switch (f->type) {
        case CFG_T_END:
            unknown_field(ctx, fields, cfg_line(k), key, child);
            break;
        case CFG_T_SECTION:
            map_section(ctx, rec, v, child, f->section);
            break;
        case CFG_T_IGNORED:
            log_warn("config",
                     "%s:%d: %s is ignored (accepted for compatibility with the Go "
                     "telephony-forwarder)",
                     ctx->name, cfg_line(k), child);
            break;
        case CFG_T_CUSTOM:
            f->handler(ctx, f, rec, v, child);
            break;
        default:
            if (!cfg_is_null(v) && prov_record(ctx, rec, f, cfg_line(v), child))
                set_leaf(ctx, rec->base, f, v, child);
            break;
        }
    }
}

void cfg_map_root(struct cfg_ctx *ctx, yaml_node_t *root)
{
    if (!cfg_is_null(root) && root->type != YAML_MAPPING_NODE) {
        cfg_error(ctx, cfg_line(root), NULL, "the top level must be a mapping, got %s",
                  cfg_kind(root));
        return;
    }
    map_section(ctx, &ctx->root, root, "", root_fields);
}

/* Handlers ---------------------------------------------------------------------------- */

static void add_server(struct cfg_ctx *ctx, const char *url, int line, const char *path)
{
    static const char *const schemes[] = {"nats", "tls", NULL};
    const char *why = cfg_url_problem(url, schemes, "not a nats:// or tls:// URL");
    if (why) {
        cfg_error(ctx, line, path, "%s", why); /* no URL: it may carry a password */
        return;
    }
    struct config *cfg = ctx->cfg;
    char **s = realloc(cfg->nats.servers, (cfg->nats.server_count + 1) * sizeof *s);
    if (!s) {
        cfg_oom(ctx);
        return;
    }
    cfg->nats.servers = s;
    s[cfg->nats.server_count] = cfg_strdup(ctx, url);
    if (s[cfg->nats.server_count])
        cfg->nats.server_count++;
    if (!ctx->servers_line)
        ctx->servers_line = line;
}

/* nats.url: "embedded", or one or more URLs separated by commas (as nats.go accepts). */
static void map_nats_url(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                         yaml_node_t *value, const char *path)
{
    (void)f;
    (void)rec;
    int line = cfg_line(value);
    if (cfg_is_null(value))
        return;
    char *s = cfg_scalar(ctx, value, path);
    if (!s)
        return;
    size_t added = 0;
    char *save = NULL;
    if (cfg_ascii_casecmp(s, "embedded") == 0) {
        ctx->url_embedded_line = line;
        free(s);
        return;
    }
    for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok += strspn(tok, " \t");
        size_t n = strlen(tok);
        while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
            tok[--n] = '\0';
        if (n) {
            add_server(ctx, tok, line, path);
            added++;
        }
    }
    if (!added)
        cfg_error(ctx, line, path, "expected \"embedded\" or nats://host:port URLs");
    free(s);
}

/* server.allowed_hosts: host names, "*" or "*.domain" (http_policy says what passes). */
static void map_allowed_hosts(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                              yaml_node_t *value, const char *path)
{
    struct config *cfg = ctx->cfg;
    char **list;
    size_t n;
    (void)f;
    (void)rec;
    if (cfg_is_null(value) ||
        !cfg_get_string_list(ctx, value, path, hostname_allowed_entry_problem, true, &list, &n))
        return;
    cfg_free_strings(cfg->server.allowed_hosts, cfg->server.allowed_host_count);
    cfg->server.allowed_hosts = list;
    cfg->server.allowed_host_count = n;
}

static void map_nats_servers(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                             yaml_node_t *value, const char *path)
{
    (void)f;
    (void)rec;
    if (cfg_is_null(value))
        return;
    if (value->type != YAML_SEQUENCE_NODE) {
        cfg_error(ctx, cfg_line(value), path, "expected a list of nats:// URLs, got %s",
                  cfg_kind(value));
        return;
    }
    size_t n = (size_t)(value->data.sequence.items.top - value->data.sequence.items.start);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = cfg_node(ctx, value->data.sequence.items.start[i]);
        char ipath[CFG_PATH_MAX];
        cfg_index_path(ipath, path, i);
        char *s = cfg_scalar(ctx, item, ipath);
        if (s)
            add_server(ctx, s, cfg_line(item), ipath);
        free(s);
    }
}

/* One of `names` (ASCII case ignored) into the int at *out: values[i] for names[i]. */
static void map_choice(struct cfg_ctx *ctx, yaml_node_t *value, const char *path,
                       const char *const *names, const int *values, int *out)
{
    if (cfg_is_null(value))
        return;
    char *s = cfg_scalar(ctx, value, path);
    if (!s)
        return;
    size_t i = 0;
    while (names[i] && cfg_ascii_casecmp(s, names[i]) != 0)
        i++;
    if (names[i]) {
        *out = values[i];
    } else {
        char expected[128] = "";
        size_t len = 0;
        for (size_t j = 0; names[j] && len < sizeof expected; j++) {
            const char *sep = j == 0 ? "" : names[j + 1] ? ", " : " or ";
            int n = snprintf(expected + len, sizeof expected - len, "%s%s", sep, names[j]);
            len += n > 0 ? (size_t)n : 0;
        }
        cfg_error(ctx, cfg_line(value), path, "expected %s, got \"%.40s\"", expected, s);
    }
    free(s);
}

static void map_storage(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                        yaml_node_t *value, const char *path)
{
    static const char *const names[] = {"file", "memory", NULL};
    static const int values[] = {STORAGE_FILE, STORAGE_MEMORY};
    int v = ctx->cfg->nats.storage;
    (void)f;
    (void)rec;
    map_choice(ctx, value, path, names, values, &v);
    ctx->cfg->nats.storage = (enum storage_kind)v;
}

/* The order of call_tracker's enum call_extra_field (esl_source passes them on). */
const char *const config_calls_field_names[CONFIG_CALLS_FIELDS] = {
    "network",
    "provider",
    "actual_hotline",
    "crm_contact_id",
};

static void map_signal_format(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                              yaml_node_t *value, const char *path)
{
    static const char *const names[] = {"seed", "typed", NULL};
    static const int values[] = {0, 1};
    int v = ctx->cfg->calls.typed_signals;
    (void)f;
    (void)rec;
    map_choice(ctx, value, path, names, values, &v);
    ctx->cfg->calls.typed_signals = v != 0;
}

/* An event header name as FreeSWITCH writes them: letters, digits, '-', '_', '.'. */
static bool header_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* calls.fields: {network: variable_network, ...}: only the four members, each naming
 * the event header it is read from. */
static void map_calls_fields(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                             yaml_node_t *value, const char *path)
{
    (void)f;
    (void)rec;
    if (cfg_is_null(value))
        return;
    if (value->type != YAML_MAPPING_NODE) {
        cfg_error(ctx, cfg_line(value), path,
                  "expected a mapping of member: header (network: variable_network), got %s",
                  cfg_kind(value));
        return;
    }
    size_t count = (size_t)(value->data.mapping.pairs.top - value->data.mapping.pairs.start);
    for (size_t n = 0; n < count; n++) {
        const yaml_node_pair_t *p = &value->data.mapping.pairs.start[n];
        yaml_node_t *k = cfg_node(ctx, p->key), *v = cfg_node(ctx, p->value);
        if (!k || k->type != YAML_SCALAR_NODE) {
            cfg_error(ctx, cfg_line(k ? k : value), path, "keys must be plain strings");
            continue;
        }
        const char *key = (const char *)k->data.scalar.value;
        char kpath[CFG_PATH_MAX];
        cfg_child_path(kpath, path, key);
        if (cfg_pair_is_dup(ctx, value, n, kpath, false))
            continue;
        size_t i = 0;
        while (i < CONFIG_CALLS_FIELDS && strcmp(key, config_calls_field_names[i]) != 0)
            i++;
        if (i == CONFIG_CALLS_FIELDS) {
            cfg_error(ctx, cfg_line(k ? k : value), kpath,
                      "unknown member; calls.fields names network, provider, actual_hotline "
                      "or crm_contact_id");
            continue;
        }
        if (!v || cfg_is_null(v)) /* network: ~ leaves the member unset */
            continue;
        char *h = cfg_scalar(ctx, v, kpath);
        if (h && !header_name_ok(h)) {
            cfg_error(ctx, cfg_line(v), kpath,
                      "expected an event header name (variable_network), got \"%.60s\"", h);
            free(h);
            h = NULL;
        }
        ctx->cfg->calls.field_headers[i] = h;
    }
}

static void map_signature_headers(struct cfg_ctx *ctx, const struct cfg_field *f,
                                  struct cfg_rec *rec, yaml_node_t *value, const char *path)
{
    static const char *const names[] = {"standard", "none", NULL};
    static const int values[] = {1, 0};
    int v = ctx->cfg->delivery.signature_headers;
    (void)f;
    (void)rec;
    map_choice(ctx, value, path, names, values, &v);
    ctx->cfg->delivery.signature_headers = v != 0;
}

static void map_backoff(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                        yaml_node_t *value, const char *path)
{
    (void)f;
    (void)rec;
    struct config *cfg = ctx->cfg;
    if (cfg_is_null(value))
        return;
    if (value->type != YAML_SEQUENCE_NODE) {
        cfg_error(ctx, cfg_line(value), path, "expected a list of durations, got %s",
                  cfg_kind(value));
        return;
    }
    size_t n = (size_t)(value->data.sequence.items.top - value->data.sequence.items.start);
    if (n == 0) {
        cfg_error(ctx, cfg_line(value), path, "must list at least one delay");
        return;
    }
    int64_t *delays = calloc(n, sizeof *delays);
    if (!delays) {
        cfg_oom(ctx);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = cfg_node(ctx, value->data.sequence.items.start[i]);
        char ipath[CFG_PATH_MAX];
        cfg_index_path(ipath, path, i);
        if (cfg_get_duration(ctx, item, ipath, false, &delays[i]) && delays[i] <= 0)
            cfg_error(ctx, cfg_line(item), ipath, "must be greater than 0");
    }
    free(cfg->delivery.backoff_ms);
    cfg->delivery.backoff_ms = delays;
    cfg->delivery.backoff_count = n;
}

/* esl: -------------------------------------------------------------------------------- */

static void map_esl_format(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                           yaml_node_t *value, const char *path)
{
    static const char *const names[] = {"plain", "json", NULL};
    static const int values[] = {ESL_FORMAT_PLAIN, ESL_FORMAT_JSON};
    struct esl_node *e = rec->base;
    int v = e->format;
    (void)f;
    map_choice(ctx, value, path, names, values, &v);
    e->format = (enum esl_format)v;
}

static void map_esl_publish(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                            yaml_node_t *value, const char *path)
{
    static const char *const names[] = {"signals", "events", "both", NULL};
    static const int values[] = {ESL_PUBLISH_SIGNALS, ESL_PUBLISH_EVENTS, ESL_PUBLISH_BOTH};
    struct esl_node *e = rec->base;
    int v = e->publish;
    (void)f;
    map_choice(ctx, value, path, names, values, &v);
    e->publish = (enum esl_publish)v;
}

/*
 * esl[].events: at least one name; HEARTBEAT is added (with a warning) when the list
 * has neither it nor ALL, because the connection watchdog counts on it.
 */
static void map_esl_events(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                           yaml_node_t *value, const char *path)
{
    struct esl_node *e = rec->base;
    char **list;
    size_t n;
    (void)f;
    if (cfg_is_null(value) ||
        !cfg_get_string_list(ctx, value, path, cfg_event_name_problem, true, &list, &n))
        return;
    if (n == 0) {
        cfg_error(ctx, cfg_line(value), path,
                  "must list at least one event (leave events out for the default list)");
        return;
    }
    bool heartbeat = false;
    for (size_t i = 0; i < n && !heartbeat; i++)
        heartbeat = strcmp(list[i], "HEARTBEAT") == 0 || strcmp(list[i], "ALL") == 0;
    if (!heartbeat) {
        char **grown = realloc(list, (n + 1) * sizeof *list);
        char *name = grown ? cfg_strdup(ctx, "HEARTBEAT") : NULL;
        if (grown)
            list = grown;
        if (!name) {
            cfg_oom(ctx);
            cfg_free_strings(list, n);
            return;
        }
        list[n++] = name;
        log_warn("config", "%s:%d: %s: HEARTBEAT added (the connection watchdog needs it)",
                 ctx->name, cfg_line(value), path);
    }
    cfg_free_strings(e->events, e->event_count);
    e->events = list;
    e->event_count = n;
}

static void map_esl_filters(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                            yaml_node_t *value, const char *path)
{
    struct esl_node *e = rec->base;
    char **list;
    size_t n;
    (void)f;
    if (cfg_is_null(value) ||
        !cfg_get_string_list(ctx, value, path, cfg_filter_problem, true, &list, &n))
        return;
    cfg_free_strings(e->filters, e->filter_count);
    e->filters = list;
    e->filter_count = n;
}

static void map_esl_node(struct cfg_ctx *ctx, const struct cfg_field *fields, struct esl_node *e,
                         struct cfg_item *item, yaml_node_t *node, const char *path)
{
    e->line = cfg_line(node);
    item->rec = (struct cfg_rec){
        .base = e,
        .prov = item->prov,
        .prov_cap = sizeof item->prov / sizeof item->prov[0],
        .line = e->line,
    };
    if (node->type != YAML_MAPPING_NODE) {
        cfg_error(ctx, e->line, path, "expected a mapping {name, host, ...}, got %s",
                  cfg_kind(node));
        return;
    }
    item->mapped = true;
    struct defaults d = {ctx, e};
    cfg_table_foreach(fields, path, default_one, &d);
    e->format = ESL_FORMAT_PLAIN;
    e->publish = ESL_PUBLISH_SIGNALS;
    map_section(ctx, &item->rec, node, path, fields);
    if (!e->events) {
        size_t n = sizeof default_esl_events / sizeof default_esl_events[0];
        e->events = calloc(n, sizeof *e->events);
        if (!e->events) {
            cfg_oom(ctx);
            return;
        }
        e->event_count = n;
        for (size_t i = 0; i < n; i++)
            e->events[i] = cfg_strdup(ctx, default_esl_events[i]);
    }
}

static void map_esl(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                    yaml_node_t *value, const char *path)
{
    struct config *cfg = ctx->cfg;
    (void)rec;
    if (cfg_is_null(value))
        return;
    if (value->type != YAML_SEQUENCE_NODE) {
        cfg_error(ctx, cfg_line(value), path, "expected a list of FreeSWITCH servers, got %s",
                  cfg_kind(value));
        return;
    }
    size_t n = (size_t)(value->data.sequence.items.top - value->data.sequence.items.start);
    if (n == 0)
        return;
    if (n > CFG_MAX_ESL_NODES) {
        cfg_error(ctx, cfg_line(value), path, "too many servers (at most %d)", CFG_MAX_ESL_NODES);
        return;
    }
    cfg->esl_nodes = calloc(n, sizeof *cfg->esl_nodes);
    ctx->esl_items = calloc(n, sizeof *ctx->esl_items);
    if (!cfg->esl_nodes || !ctx->esl_items) {
        cfg_oom(ctx); /* config_free and config_load_string free what was allocated */
        return;
    }
    cfg->esl_node_count = n;
    for (size_t i = 0; i < n; i++) {
        char ipath[CFG_PATH_MAX];
        cfg_index_path(ipath, path, i);
        map_esl_node(ctx, f->section, &cfg->esl_nodes[i], &ctx->esl_items[i],
                     cfg_node(ctx, value->data.sequence.items.start[i]), ipath);
    }
}
