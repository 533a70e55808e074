/*
 * config_diff — see config_diff.h. Part of the config module (it reads the key tables
 * of config_schema.c through config_schema.h).
 *
 * The walk: cfg_schema_foreach() gives every leaf of struct config with its canonical
 * path; plain leaves (strings, numbers, booleans, durations, sizes) compare by type at
 * their offset; custom leaves compare with the functions below, chosen by offset. The
 * esl list compares item by item with its own table (cfg_esl_fields). Aliases (the Go
 * spellings) and ignored keys are skipped: the canonical entry covers the same field.
 */
#include "config/config_diff.h"

#include "config/config.h"
#include "config/config_schema.h"
#include "config/config_yaml.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(member) offsetof(struct config, member)
#define EOFF(member) offsetof(struct esl_node, member)

struct walk {
    const void *a, *b; /* what the table's offsets point into, in each config */
    bool esl_item;     /* walking cfg_esl_fields (offsets into struct esl_node) */
    struct config_diff *out;
    bool oom;
};

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool strings_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!str_eq(a[i], b[i]))
            return false;
    return true;
}

static void add_key(struct walk *w, const char *path)
{
    if (w->oom)
        return;
    char **keys = realloc(w->out->keys, (w->out->count + 1) * sizeof *keys);
    char *copy = keys ? strdup(path) : NULL;
    if (keys)
        w->out->keys = keys;
    if (!copy) {
        w->oom = true;
        return;
    }
    w->out->keys[w->out->count++] = copy;
}

static const void *at(const void *base, size_t offset)
{
    return (const char *)base + offset;
}

/* A plain leaf: true when both sides hold the same value. */
static bool plain_eq(const struct cfg_field *f, const void *a, const void *b)
{
    const void *x = at(a, f->offset), *y = at(b, f->offset);
    switch (f->type) {
    case CFG_T_STR:
        return str_eq(*(char *const *)x, *(char *const *)y);
    case CFG_T_BOOL:
        return *(const bool *)x == *(const bool *)y;
    case CFG_T_INT:
        return *(const int *)x == *(const int *)y;
    case CFG_T_SIZE:
        return *(const size_t *)x == *(const size_t *)y;
    case CFG_T_I64:
    case CFG_T_SIZE64:
    case CFG_T_DURATION:
    case CFG_T_SECONDS:
        return *(const int64_t *)x == *(const int64_t *)y;
    default:
        return true;
    }
}

/* Custom leaves of an esl: item. */
static bool esl_custom_eq(const struct cfg_field *f, const struct esl_node *a,
                          const struct esl_node *b)
{
    if (f->offset == EOFF(events))
        return strings_eq(a->events, a->event_count, b->events, b->event_count);
    if (f->offset == EOFF(filters))
        return strings_eq(a->filters, a->filter_count, b->filters, b->filter_count);
    if (f->offset == EOFF(format))
        return a->format == b->format;
    if (f->offset == EOFF(publish))
        return a->publish == b->publish;
    return true; /* a custom key this file does not know yet: see the header */
}

static void compare_leaf(const char *path, const struct cfg_field *f, void *arg);

static void compare_esl(struct walk *w, const char *path)
{
    const struct config *a = w->a, *b = w->b;
    if (a->esl_node_count != b->esl_node_count) {
        add_key(w, path);
        return;
    }
    for (size_t i = 0; i < a->esl_node_count && !w->oom; i++) {
        char prefix[CFG_PATH_MAX];
        cfg_index_path(prefix, path, i);
        struct walk item = {&a->esl_nodes[i], &b->esl_nodes[i], true, w->out, false};
        cfg_table_foreach(cfg_esl_fields, prefix, compare_leaf, &item);
        w->oom = w->oom || item.oom;
    }
}

/* Custom leaves of struct config itself. */
static void compare_custom(struct walk *w, const char *path, const struct cfg_field *f)
{
    const struct config *a = w->a, *b = w->b;
    bool same = true;
    if (f->offset == OFF(routes) || f->offset == OFF(ingress.api_keys)) {
        return; /* what a reload changes */
    } else if (f->offset == OFF(esl_nodes)) {
        compare_esl(w, path);
        return;
    } else if (f->offset == OFF(nats.embedded)) {
        /* nats.url and nats.servers fill one list: reported once, as nats.url. */
        same = a->nats.embedded == b->nats.embedded &&
               strings_eq(a->nats.servers, a->nats.server_count, b->nats.servers,
                          b->nats.server_count);
    } else if (f->offset == OFF(nats.servers)) {
        return;
    } else if (f->offset == OFF(server.allowed_hosts)) {
        same = strings_eq(a->server.allowed_hosts, a->server.allowed_host_count,
                          b->server.allowed_hosts, b->server.allowed_host_count);
    } else if (f->offset == OFF(nats.storage)) {
        same = a->nats.storage == b->nats.storage;
    } else if (f->offset == OFF(delivery.signature_headers)) {
        same = a->delivery.signature_headers == b->delivery.signature_headers;
    } else if (f->offset == OFF(calls.typed_signals)) {
        same = a->calls.typed_signals == b->calls.typed_signals;
    } else if (f->offset == OFF(calls.field_headers)) {
        for (size_t i = 0; i < CONFIG_CALLS_FIELDS; i++)
            same = same && str_eq(a->calls.field_headers[i], b->calls.field_headers[i]);
    } else if (f->offset == OFF(delivery.backoff_ms)) {
        same = a->delivery.backoff_count == b->delivery.backoff_count &&
               (a->delivery.backoff_count == 0 ||
                memcmp(a->delivery.backoff_ms, b->delivery.backoff_ms,
                       a->delivery.backoff_count * sizeof *a->delivery.backoff_ms) == 0);
    }
    if (!same)
        add_key(w, path);
}

static void compare_leaf(const char *path, const struct cfg_field *f, void *arg)
{
    struct walk *w = arg;
    if ((f->flags & CFG_F_ALIAS) || f->type == CFG_T_IGNORED || w->oom)
        return;
    if (f->type == CFG_T_CUSTOM) {
        if (w->esl_item) {
            if (!esl_custom_eq(f, w->a, w->b))
                add_key(w, path);
        } else {
            compare_custom(w, path, f);
        }
        return;
    }
    if (!plain_eq(f, w->a, w->b))
        add_key(w, path);
}

int config_diff_settings(const struct config *running, const struct config *fresh,
                         struct config_diff *out)
{
    *out = (struct config_diff){0};
    struct walk w = {running, fresh, false, out, false};
    cfg_schema_foreach(compare_leaf, &w);
    if (w.oom) {
        config_diff_clear(out);
        return -1;
    }
    return 0;
}

void config_diff_clear(struct config_diff *d)
{
    for (size_t i = 0; i < d->count; i++)
        free(d->keys[i]);
    free(d->keys);
    *d = (struct config_diff){0};
}

void config_adopt_running_settings(struct config *fresh, const struct config *running)
{
    for (size_t i = 0; i < fresh->route_count; i++)
        for (size_t j = 0; j < fresh->routes[i].endpoint_count; j++) {
            struct endpoint *e = &fresh->routes[i].endpoints[j];
            if (e->timeout_inherited)
                e->timeout_ms = running->delivery.timeout_ms;
            if (e->max_concurrent_inherited)
                e->max_concurrent = running->delivery.endpoint_max_concurrent;
            /* delivery.signature_headers takes effect at restart; secrets at reload */
            e->sign = e->signing_key_count > 0 && running->delivery.signature_headers;
        }
}

char *config_check_routes_fit(const struct config *fresh, const struct config *running)
{
    struct cfg_ctx ctx = {.name = fresh->path ? fresh->path : "config"};
    int64_t limit = running->nats.ack_wait_ms - CFG_ACK_MARGIN_MS;
    char ack[32], margin[32];
    cfg_format_duration(running->nats.ack_wait_ms, ack, sizeof ack);
    cfg_format_duration(CFG_ACK_MARGIN_MS, margin, sizeof margin);
    for (size_t i = 0; i < fresh->route_count; i++)
        for (size_t j = 0; j < fresh->routes[i].endpoint_count; j++) {
            const struct endpoint *e = &fresh->routes[i].endpoints[j];
            if (e->timeout_ms < limit)
                continue;
            char path[CFG_PATH_MAX], t[32];
            snprintf(path, sizeof path, "routes[%zu].endpoints[%zu].timeout", i, j);
            cfg_format_duration(e->timeout_ms, t, sizeof t);
            cfg_error(&ctx, e->line, path,
                      "%s%s plus %s of margin is not below the running ack wait "
                      "(nats.consumer.ack_wait %s, which changes only at restart); "
                      "shorten it or restart with a longer ack wait",
                      t, e->timeout_inherited ? " (delivery.timeout)" : "", margin, ack);
        }
    if (ctx.err_count == 0 && !ctx.oom)
        return NULL;
    return cfg_errors_join(&ctx);
}
