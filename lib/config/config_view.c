/*
 * config_view — see config_view.h. Pure functions over a loaded (immutable) config.
 */
#include "config/config_view.h"

#include "config/config.h"
#include "core/redact.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Header lines are "Name: value": the name is kept, the value never leaves. */
static void add_headers(cJSON *obj, const struct endpoint *e)
{
    cJSON *h = cJSON_AddObjectToObject(obj, "headers");
    for (size_t i = 0; h && i < e->header_count; i++) {
        const char *line = e->headers[i];
        const char *colon = strchr(line, ':');
        size_t n = colon ? (size_t)(colon - line) : strlen(line);
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), line);
        cJSON_AddStringToObject(h, name, REDACTED);
    }
}

static cJSON *route_view(const struct route *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "domain", r->domain ? r->domain : "");
    if (r->event_kind_count > 0)
        cJSON_AddItemToObject(
            o, "events",
            cJSON_CreateStringArray((const char *const *)r->event_kinds, (int)r->event_kind_count));
    cJSON *eps = cJSON_AddArrayToObject(o, "endpoints");
    for (size_t j = 0; eps && j < r->endpoint_count; j++) {
        const struct endpoint *e = &r->endpoints[j];
        cJSON *ep = cJSON_CreateObject();
        if (!ep)
            break;
        cJSON_AddStringToObject(ep, "url", e->display_url ? e->display_url : REDACTED);
        cJSON_AddNumberToObject(ep, "timeout_ms", (double)e->timeout_ms);
        cJSON_AddNumberToObject(ep, "max_concurrent", e->max_concurrent);
        if (e->rate_per_s > 0)
            cJSON_AddNumberToObject(ep, "rate_per_s", e->rate_per_s);
        else
            cJSON_AddNullToObject(ep, "rate_per_s");
        add_headers(ep, e);
        if (e->signing_key_count > 0) { /* how many, never what */
            cJSON *secrets = cJSON_AddArrayToObject(ep, "secrets");
            for (size_t k = 0; secrets && k < e->signing_key_count; k++)
                cJSON_AddItemToArray(secrets, cJSON_CreateString(REDACTED));
            cJSON_AddBoolToObject(ep, "signed", e->sign);
        }
        cJSON_AddItemToArray(eps, ep);
    }
    return o;
}

void config_view_add_routes(cJSON *obj, const struct config *cfg)
{
    cJSON *routes = cJSON_AddArrayToObject(obj, "routes");
    for (size_t i = 0; routes && i < cfg->route_count; i++) {
        if (&cfg->routes[i] == cfg->default_route)
            continue;
        cJSON *r = route_view(&cfg->routes[i]);
        if (r)
            cJSON_AddItemToArray(routes, r);
    }
    if (cfg->default_route)
        cJSON_AddItemToObject(obj, "default_route", route_view(cfg->default_route));
    else
        cJSON_AddNullToObject(obj, "default_route");
    cJSON_AddNumberToObject(obj, "route_count", (double)cfg->route_count);
}

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_num(cJSON *o, const char *key, double v)
{
    cJSON_AddNumberToObject(o, key, v);
}

static void add_server(cJSON *root, const struct config *cfg)
{
    cJSON *o = cJSON_AddObjectToObject(root, "server");
    if (!o)
        return;
    cJSON_AddStringToObject(o, "address", cfg->server.address);
    add_num(o, "port", cfg->server.port);
    add_num(o, "max_body_bytes", (double)cfg->server.max_body_bytes);
    add_num(o, "max_connections", cfg->server.max_connections);
    add_num(o, "max_connections_per_ip", cfg->server.max_connections_per_ip);
    add_num(o, "connection_timeout_ms", (double)cfg->server.connection_timeout_ms);
    add_num(o, "request_head_timeout_ms", (double)cfg->server.request_head_timeout_ms);
    add_num(o, "request_body_timeout_ms", (double)cfg->server.request_body_timeout_ms);
    cJSON *hosts = cJSON_AddArrayToObject(o, "allowed_hosts");
    for (size_t i = 0; hosts && i < cfg->server.allowed_host_count; i++)
        cJSON_AddItemToArray(hosts, cJSON_CreateString(cfg->server.allowed_hosts[i]));
    add_num(o, "shutdown_timeout_ms", (double)cfg->server.shutdown_timeout_ms);
    cJSON_AddBoolToObject(o, "admin_token_set",
                          cfg->server.admin_token && cfg->server.admin_token[0]);
    cJSON_AddBoolToObject(o, "protect_read_apis", cfg->server.protect_read_apis);
    cJSON_AddBoolToObject(o, "watch_config", cfg->server.watch_config);
}

/* Which authentication is configured, never its material. */
static void add_nats_auth(cJSON *o, const struct config *cfg)
{
    cJSON *auth = cJSON_AddArrayToObject(o, "auth");
    if (!auth)
        return;
    if (cfg->nats.token)
        cJSON_AddItemToArray(auth, cJSON_CreateString("token"));
    if (cfg->nats.user)
        cJSON_AddItemToArray(auth, cJSON_CreateString("user_password"));
    if (cfg->nats.credentials_file)
        cJSON_AddItemToArray(auth, cJSON_CreateString("credentials"));
}

static void add_nats(cJSON *root, const struct config *cfg)
{
    cJSON *o = cJSON_AddObjectToObject(root, "nats");
    if (!o)
        return;
    cJSON_AddBoolToObject(o, "embedded", cfg->nats.embedded);
    cJSON *servers = cJSON_AddArrayToObject(o, "servers");
    for (size_t i = 0; servers && i < cfg->nats.server_count; i++) {
        char *safe = redact_url(cfg->nats.servers[i]);
        if (safe)
            cJSON_AddItemToArray(servers, cJSON_CreateString(safe));
        free(safe);
    }
    add_nats_auth(o, cfg);
    cJSON_AddStringToObject(o, "connection_name", cfg->nats.name);
    cJSON *s = cJSON_AddObjectToObject(o, "stream");
    if (s) {
        cJSON_AddStringToObject(s, "name", cfg->nats.stream_name);
        cJSON_AddStringToObject(s, "subject_pattern", cfg->nats.subject_pattern);
        cJSON_AddStringToObject(s, "storage",
                                cfg->nats.storage == STORAGE_MEMORY ? "memory" : "file");
        add_num(s, "max_age_ms", (double)cfg->nats.max_age_ms);
        add_num(s, "max_msgs", (double)cfg->nats.max_msgs);
        add_num(s, "max_bytes", (double)cfg->nats.max_bytes);
        add_num(s, "duplicate_window_ms", (double)cfg->nats.duplicate_window_ms);
        add_num(s, "replicas", cfg->nats.replicas);
    }
    cJSON *dl = cJSON_AddObjectToObject(o, "dead_letter");
    if (dl) {
        cJSON_AddStringToObject(dl, "stream", cfg->nats.dlq_stream);
        cJSON_AddStringToObject(dl, "subject_prefix", cfg->nats.dlq_subject_prefix);
        add_num(dl, "max_age_ms", (double)cfg->nats.dlq_max_age_ms);
    }
    cJSON *rt = cJSON_AddObjectToObject(o, "retry");
    if (rt) {
        cJSON_AddStringToObject(rt, "stream", cfg->nats.retry_stream);
        cJSON_AddStringToObject(rt, "subject_prefix", cfg->nats.retry_subject_prefix);
    }
    cJSON *c = cJSON_AddObjectToObject(o, "consumer");
    if (c) {
        cJSON_AddStringToObject(c, "name", cfg->nats.consumer_name);
        cJSON_AddStringToObject(c, "deliver_group", cfg->nats.deliver_group);
        cJSON_AddStringToObject(c, "deliver_subject", cfg->nats.deliver_subject);
        add_num(c, "ack_wait_ms", (double)cfg->nats.ack_wait_ms);
        add_num(c, "max_deliver", cfg->nats.max_deliver);
        add_num(c, "max_ack_pending", cfg->nats.max_ack_pending);
    }
    cJSON *p = cJSON_AddObjectToObject(o, "publish");
    if (p) {
        add_num(p, "timeout_ms", (double)cfg->nats.publish_timeout_ms);
        add_num(p, "max_inflight", cfg->nats.max_inflight_publishes);
    }
}

static void add_delivery(cJSON *root, const struct config *cfg)
{
    cJSON *o = cJSON_AddObjectToObject(root, "delivery");
    if (!o)
        return;
    cJSON_AddBoolToObject(o, "enabled", cfg->delivery.enabled);
    add_num(o, "timeout_ms", (double)cfg->delivery.timeout_ms);
    add_num(o, "connect_timeout_ms", (double)cfg->delivery.connect_timeout_ms);
    add_num(o, "max_concurrent", cfg->delivery.max_concurrent);
    add_num(o, "max_host_connections", cfg->delivery.max_host_connections);
    cJSON *b = cJSON_AddArrayToObject(o, "backoff_ms");
    for (size_t i = 0; b && i < cfg->delivery.backoff_count; i++)
        cJSON_AddItemToArray(b, cJSON_CreateNumber((double)cfg->delivery.backoff_ms[i]));
    add_num(o, "endpoint_max_concurrent", cfg->delivery.endpoint_max_concurrent);
    add_num(o, "max_retry_age_ms", (double)cfg->delivery.max_retry_age_ms);
    cJSON *br = cJSON_AddObjectToObject(o, "breaker");
    if (br) {
        add_num(br, "failures", cfg->delivery.breaker_failures);
        add_num(br, "cooldown_ms", (double)cfg->delivery.breaker_cooldown_ms);
        add_num(br, "max_cooldown_ms", (double)cfg->delivery.breaker_max_cooldown_ms);
    }
    add_num(o, "retry_window", cfg->delivery.retry_window);
}

static void add_log_and_history(cJSON *root, const struct config *cfg)
{
    cJSON *o = cJSON_AddObjectToObject(root, "log");
    if (o) {
        cJSON_AddStringToObject(o, "level", cfg->log.level);
        add_str_or_null(o, "file", cfg->log.file);
        cJSON_AddBoolToObject(o, "domain_logging", cfg->log.domain_logging);
        cJSON_AddStringToObject(o, "dir", cfg->log.dir);
    }
    cJSON *h = cJSON_AddObjectToObject(root, "history");
    if (h) {
        add_num(h, "max_domains", cfg->history.max_domains);
        add_num(h, "per_domain", cfg->history.per_domain);
        add_num(h, "max_event_bytes", (double)cfg->history.max_event_bytes);
    }
}

void config_view_add_ingress(cJSON *obj, const struct config *cfg)
{
    cJSON *o = cJSON_AddObjectToObject(obj, "ingress");
    cJSON *list = o ? cJSON_AddArrayToObject(o, "api_keys") : NULL;
    for (size_t i = 0; list && i < cfg->ingress.api_key_count; i++) {
        const struct api_key *k = &cfg->ingress.api_keys[i];
        cJSON *item = cJSON_CreateObject();
        if (!item)
            break;
        cJSON_AddStringToObject(item, "name", k->name ? k->name : "");
        cJSON_AddStringToObject(item, "key", REDACTED); /* only its digest is kept anyway */
        if (k->domain_count > 0)
            cJSON_AddItemToObject(
                item, "domains",
                cJSON_CreateStringArray((const char *const *)k->domains, (int)k->domain_count));
        else
            cJSON_AddNullToObject(item, "domains");
        cJSON_AddItemToArray(list, item);
    }
}

static const char *publish_name(enum esl_publish p)
{
    return p == ESL_PUBLISH_BOTH ? "both" : p == ESL_PUBLISH_EVENTS ? "events" : "signals";
}

static void add_esl_and_calls(cJSON *root, const struct config *cfg)
{
    cJSON *list = cJSON_AddArrayToObject(root, "esl");
    for (size_t i = 0; list && i < cfg->esl_node_count; i++) {
        const struct esl_node *e = &cfg->esl_nodes[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "name", e->name);
        cJSON_AddStringToObject(o, "host", e->host);
        add_num(o, "port", e->port);
        cJSON_AddStringToObject(o, "format", e->format == ESL_FORMAT_JSON ? "json" : "plain");
        cJSON_AddStringToObject(o, "publish", publish_name(e->publish));
        add_str_or_null(o, "default_domain", e->default_domain);
        cJSON_AddItemToArray(list, o);
    }
    cJSON *c = cJSON_AddObjectToObject(root, "calls");
    if (c) {
        add_str_or_null(c, "timezone", cfg->calls.timezone);
        cJSON_AddStringToObject(c, "bucket", cfg->calls.bucket);
        add_num(c, "max_calls", cfg->calls.max_calls);
        add_num(c, "max_call_age_ms", (double)cfg->calls.max_call_age_ms);
        add_num(c, "retention_ms", (double)cfg->calls.retention_ms);
        cJSON_AddStringToObject(c, "signal_format", cfg->calls.typed_signals ? "typed" : "seed");
        cJSON *fields = cJSON_AddObjectToObject(c, "fields");
        for (size_t i = 0; fields && i < CONFIG_CALLS_FIELDS; i++)
            if (cfg->calls.field_headers[i])
                cJSON_AddStringToObject(fields, config_calls_field_names[i],
                                        cfg->calls.field_headers[i]);
    }
}

static void add_api(cJSON *root, const struct config *cfg)
{
    cJSON *o = cJSON_AddObjectToObject(root, "api");
    if (!o)
        return;
    add_num(o, "workers", cfg->api.workers);
    add_num(o, "max_concurrent_scans", cfg->api.max_concurrent_scans);
    add_num(o, "queue_timeout_ms", (double)cfg->api.queue_timeout_ms);
    add_num(o, "scan_timeout_ms", (double)cfg->api.scan_timeout_ms);
    add_num(o, "scan_max_messages", cfg->api.scan_max_messages);
}

cJSON *config_view_settings(const struct config *cfg)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    add_server(root, cfg);
    add_nats(root, cfg);
    add_delivery(root, cfg);
    add_log_and_history(root, cfg);
    add_esl_and_calls(root, cfg);
    add_api(root, cfg);
    return root;
}
