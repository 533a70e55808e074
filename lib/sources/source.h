/*
 * source — the one interface every producer of events implements, and the set of
 * them that app, /health, /api/stats and /metrics speak to.
 *
 * A source takes events from somewhere (HTTP ingress, a FreeSWITCH node, ...) and
 * stores them in JetStream; it never delivers. What the rest of eventhub needs of it:
 *  - start it, stop it (stop taking events, then let what it queued reach JetStream
 *    within a deadline), free it;
 *  - its state and counters as a JSON object (/health, /api/stats: one array per kind);
 *  - its figures for /metrics (a family per figure, a sample per source, labelled
 *    with the source's name).
 * A kind of source is a `struct source_class` (static, one per module); one instance
 * is a `struct source`. A class's `create` adds however many instances the config
 * asks for (ingress one, FreeSWITCH one per node, none when none is configured), so
 * adding a kind of source to eventhub is its files plus one line in app.c.
 *
 * Threads: the set is built, started, stopped and freed on the main thread; its JSON
 * and metrics are read from the API workers while it runs (the set does not change
 * then, and each class's stats_json/read_figures is thread-safe); a reload hands its
 * config to the sources from the reloader's thread (reconfigure).
 */
#ifndef EVENTHUB_SOURCE_H
#define EVENTHUB_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cJSON;
struct config;
struct domain_log;
struct nats_link;
struct outcomes;
struct publisher;
struct source_set;

/* What a source is given to produce events (all borrowed for the source's life). */
struct source_env {
    const struct config *cfg;
    struct nats_link *link;
    struct publisher *pub;
    const struct outcomes *outcomes; /* received events are announced here */
    struct domain_log *domain_logs;  /* may be NULL (domain logging off) */
};

/* One figure of a kind of source in /metrics. */
struct source_figure {
    const char *name; /* the family, e.g. "eventhub_esl_reconnects_total" */
    const char *type; /* "counter" or "gauge" */
    const char *help;
};

struct source_class {
    /* The `source` label of what it stores ("http", "esl": outcome_received.source). */
    const char *kind;
    /* The key of the array of these sources in /health and /api/stats. */
    const char *json_key;
    /* The /metrics label naming one source ("node") and the figures (may be none). */
    const char *metric_label;
    const struct source_figure *figures;
    size_t figure_count;

    /* Adds this kind's sources for env->cfg to `set` (none is fine). False when one
     * could not be built (logged). */
    bool (*create)(const struct source_env *env, struct source_set *set);
    /* Starts taking events. False when it cannot (logged). May be NULL (nothing to do). */
    bool (*start)(void *impl);
    /* Stops taking events, then waits up to timeout_ms for what it queued to be stored
     * (the publisher is still open). Idempotent. */
    void (*stop)(void *impl, int64_t timeout_ms);
    void (*free)(void *impl);
    /* {"name":..., "state":..., counters...}, or NULL when out of memory. Any thread. */
    struct cJSON *(*stats_json)(void *impl);
    /* Fills values[figure_count] in the order of `figures`. Any thread. */
    void (*read_figures)(void *impl, uint64_t *values);
    /* Optional: families of its own whose labels are not one per source (ingress: one
     * sample per API key). Any thread. */
    void (*render_metrics)(void *impl, FILE *out);
    /* Optional: a reload's config (the reloader's thread). What a source may take from
     * it is what reloads with the routes (the ingress keys); every other setting keeps
     * the value it started with. It takes its own reference if it keeps one. */
    void (*reconfigure)(void *impl, struct config *fresh);
};

struct source {
    const struct source_class *cls;
    void *impl;
    const char *name; /* borrowed from impl: "http", the node's name, ... */
};

/* A set for these classes (borrowed, static): their arrays appear in the JSON even
 * when empty. NULL when out of memory. */
struct source_set *source_set_new(const struct source_class *const *classes, size_t class_count);
/* Takes `src` into the set (it is freed with the set, even when this fails). */
bool source_set_add(struct source_set *set, struct source src);
/* Every class's create, in class order. */
bool source_set_create(struct source_set *set, const struct source_env *env);
/* Starts every source in the order added; false at the first that fails. */
bool source_set_start(struct source_set *set);
/* Stops every source, in the order added (each gets up to timeout_ms to flush). */
void source_set_stop(struct source_set *set, int64_t timeout_ms);
/* Stops (without waiting) and frees every source, then the set. Accepts NULL. */
void source_set_free(struct source_set *set);

/* The first source of `cls` (its impl), or NULL. */
void *source_set_find(const struct source_set *set, const struct source_class *cls);
size_t source_set_class_count(const struct source_set *set);
const struct source_class *source_set_class(const struct source_set *set, size_t i);

/* Adds one array per class (key json_key) of its sources' stats_json to `obj`. */
void source_set_add_json(const struct source_set *set, struct cJSON *obj);
/* Appends every class's figures in the text format: a family per figure, a sample per
 * source; then each source's own families (render_metrics). */
void source_set_render_metrics(const struct source_set *set, FILE *out);
/* Gives a reload's config to every source that takes one (reconfigure). Accepts NULL. */
void source_set_reconfigure(const struct source_set *set, struct config *fresh);

#endif
