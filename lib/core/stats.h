/*
 * stats — process-wide event counters (relaxed atomics), any thread.
 *
 * One counter per outcome an operator alerts on. Issue-level detail (per domain,
 * per endpoint, latency histograms) lives in the metrics module built on top.
 * A new counter needs a line in metrics_api.c's table to appear in GET /metrics.
 */
#ifndef EVENTHUB_STATS_H
#define EVENTHUB_STATS_H

#include <stdatomic.h>
#include <stdint.h>

enum stat_counter {
    STAT_RECEIVED,           /* POST /events requests with a body we parsed */
    STAT_REJECTED,           /* answered 4xx (bad input) */
    STAT_UNAVAILABLE,        /* answered 503 */
    STAT_PUBLISHED,          /* acked by JetStream (new) */
    STAT_DUPLICATES,         /* acked by JetStream as a duplicate */
    STAT_PUBLISH_ERRORS,     /* publish failed or timed out */
    STAT_DELIVERED,          /* messages acked: every endpoint answered 2xx */
    STAT_ENDPOINT_OK,        /* single endpoint calls answered 2xx */
    STAT_ENDPOINT_FAILED,    /* single endpoint calls that failed */
    STAT_RETRIED,            /* messages nak'ed for a later attempt */
    STAT_DEAD_LETTERED,      /* messages moved to the dead-letter stream */
    STAT_DEAD_LETTER_ERRORS, /* dead-letter publishes that failed (retried) */
    STAT_NATS_RECONNECTS,
    STAT_FILTERED, /* messages a route did not want (routes[].events): acked */
    STAT_REPLAYED, /* dead letters republished to the event stream (POST /api/dlq/...) */
    STAT_PARKED,   /* endpoint deliveries parked in the retry stream (delivery.h) */
    /* STAT_REJECTED by status (GET /metrics: eventhub_ingress_rejected_total{status}) */
    STAT_REJECTED_400,        /* not a valid event */
    STAT_REJECTED_401,        /* no API key, or not a configured one (ingress.api_keys) */
    STAT_REJECTED_403,        /* a domain outside the API key's scope */
    STAT_REJECTED_413,        /* larger than the NATS server's max payload */
    STAT_REJECTED_415,        /* not application/json */
    STAT_HTTP_BODY_TOO_LARGE, /* any route: body over its ceiling, 413 before the handler */
    /* Refused before routing by http_policy (GET /metrics: eventhub_http_refused_total) */
    STAT_HTTP_REFUSED_FRAMING,      /* 400/501: Host, Content-Length, Transfer-Encoding */
    STAT_HTTP_REFUSED_HEAD_SIZE,    /* 414/431: request target or header fields too large */
    STAT_HTTP_REFUSED_HOST,         /* 421: Host not in server.allowed_hosts */
    STAT_HTTP_REFUSED_CROSS_ORIGIN, /* 403: control plane from a page of another origin */
    STAT_HTTP_REFUSED_MEDIA_TYPE,   /* 415: mutating control-plane request not JSON */
    /* Connections shut down by http_deadline (eventhub_http_slow_requests_closed_total) */
    STAT_HTTP_SLOW_HEAD, /* request head not complete within server.request_head_timeout */
    STAT_HTTP_SLOW_BODY, /* body not complete within server.request_body_timeout */
    STAT_COUNT
};

extern _Atomic uint64_t stats_counters[STAT_COUNT];

static inline void stats_inc(enum stat_counter c)
{
    atomic_fetch_add_explicit(&stats_counters[c], 1, memory_order_relaxed);
}

static inline void stats_add(enum stat_counter c, uint64_t n)
{
    atomic_fetch_add_explicit(&stats_counters[c], n, memory_order_relaxed);
}

static inline uint64_t stats_get(enum stat_counter c)
{
    return atomic_load_explicit(&stats_counters[c], memory_order_relaxed);
}

const char *stats_name(enum stat_counter c);

#endif
