/*
 * metrics — the per-domain and per-endpoint counters and latency histograms behind
 * GET /metrics and GET /api/stats, fed by the outcome hub (an outcome sink).
 *
 * Owns: a registry of "label slots" — one per domain label value and one per
 * (domain, endpoint) pair — each holding relaxed-atomic counters and fixed-bucket
 * histograms (metrics_text.h), plus the ingress latency histogram.
 *
 * Label cardinality is bounded by the configuration, never by traffic:
 *   - a domain gets its own label value only when a route names it exactly; traffic of
 *     other domains is counted under "_default" when a default route exists, else
 *     under "_other" (the two reserved slots always exist);
 *   - an endpoint label is a configured endpoint's label (config.h): its URL redacted
 *     (redact.h: no userinfo, query values or fragment), with " #2", " #3"... on the
 *     second, third... distinct endpoint of the route that redacts to the same text, so
 *     two endpoints that differ only in secrets never make two series with one label
 *     set. It is paired with its route's domain label ("_default" for the default
 *     route's endpoints);
 *   - hot reload (metrics_set_routes) adds slots for new domains and endpoints; slots are
 *     never removed, so counters stay monotonic. A domain whose route was removed keeps
 *     its series (frozen) and its new traffic folds into "_default"/"_other"; it
 *     counts under its name again if a later reload brings the route back;
 *   - at most max_domains domain slots and max_endpoints endpoint slots exist over the
 *     process's life; past the cap a new route's traffic folds as above, and endpoint
 *     calls that find no slot count under {domain="_other",endpoint="_other"}. The
 *     number of configured routes/endpoints without a label is exported.
 *
 * Threads: the sink runs on producer threads (HTTP/nats.c ack thread, delivery thread,
 * ESL node threads) and never allocates or locks: slot lookups read append-only hash
 * tables with acquire loads. metrics_set_routes (startup, reload) is the only writer;
 * an internal mutex serialises it. metrics_render and metrics_each_domain may run on
 * any thread (the API worker) concurrently with both.
 */
#ifndef EVENTHUB_METRICS_H
#define EVENTHUB_METRICS_H

#include "core/outcome.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define METRICS_DEFAULT_MAX_DOMAINS 1024   /* including "_default" and "_other" */
#define METRICS_DEFAULT_MAX_ENDPOINTS 4096 /* including the "_other" fallback */
#define METRICS_LABEL_DEFAULT "_default"
#define METRICS_LABEL_OTHER "_other"
#define METRICS_MAX_SOURCES 8 /* kinds of source, including "other" */

struct config;
struct metrics;

/* 0 = the default caps. NULL when out of memory. */
struct metrics *metrics_new(size_t max_domains, size_t max_endpoints);
/* Counts received events of this source kind ("http", "esl", "replay": the value of
 * outcome_received.source; borrowed, a literal) under their own label; any kind not
 * added counts as "other". Before any producer starts. False when full. */
bool metrics_add_source(struct metrics *m, const char *kind);
/* After every producer has stopped. Accepts NULL. */
void metrics_free(struct metrics *m);

/* Takes the label values from cfg's routes (borrowed during the call). Call before
 * producers use these routes (at startup, and on reload before the delivery swaps). */
void metrics_set_routes(struct metrics *m, const struct config *cfg);

/* The outcome sink (ctx = m). */
struct outcome_sink metrics_sink(struct metrics *m);

/* Appends every family this registry holds, in the text format. */
void metrics_render(const struct metrics *m, FILE *out);

struct metrics_domain_counts {
    const char *domain; /* the label value; valid while m lives */
    bool routed;        /* a route names this domain now ("_default": a default route exists) */
    /* Received events by source kind: source_names[i] (the kinds added in order,
     * then "other"), source_count of them. */
    const char *const *source_names;
    size_t source_count;
    uint64_t received[METRICS_MAX_SOURCES];
    uint64_t delivered;     /* events every endpoint accepted */
    uint64_t failed;        /* delivery attempts where an endpoint failed */
    uint64_t retried;       /* ... of which are retried later */
    uint64_t dead_lettered; /* all reasons */
};

/* Calls fn for each domain slot, in slot order ("_default", "_other", then routes). */
void metrics_each_domain(const struct metrics *m,
                         void (*fn)(void *ctx, const struct metrics_domain_counts *c), void *ctx);

#endif
