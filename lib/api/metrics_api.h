/*
 * metrics_api — GET /metrics (Prometheus text format 0.0.4) and GET /api/stats (JSON).
 *
 * Both answers combine the metrics registry (per-domain and per-endpoint counters and
 * histograms), the process-wide counters of stats.h, live gauges read from their
 * owners (publisher, delivery, NATS link, the event sources) and the JetStream consumer's
 * pending counts. The consumer info is a NATS request, so each scrape runs on the API
 * worker thread: the handler (HTTP thread) only submits it. While JetStream is not
 * ready the consumer figures are left out (/metrics) or null (/api/stats).
 */
#ifndef EVENTHUB_METRICS_API_H
#define EVENTHUB_METRICS_API_H

#include <stddef.h>

struct api_worker;
struct config;
struct delivery;
struct source_set;
struct http_request;
struct metrics;
struct nats_link;
struct publisher;
struct metrics_api;

struct metrics_api_deps {
    const struct config *cfg; /* stream and consumer names */
    struct metrics *metrics;
    struct nats_link *link;
    struct publisher *pub;
    struct delivery *delivery;
    struct api_worker *worker;
    const struct source_set *sources; /* may be NULL: no source figures */
};

/* Borrows everything in deps for its life. NULL when out of memory. */
struct metrics_api *metrics_api_new(const struct metrics_api_deps *deps);
void metrics_api_free(struct metrics_api *api); /* accepts NULL */

/* http_route handlers; ctx is the struct metrics_api. */
void metrics_api_handle_metrics(void *ctx, struct http_request *req);
void metrics_api_handle_stats(void *ctx, struct http_request *req);

#endif
