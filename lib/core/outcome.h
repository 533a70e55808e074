/*
 * outcome — the one place where what happens to each event is announced: stored in
 * JetStream ("received"), and the result of each delivery attempt.
 *
 * Producers: ingress (publish-ack callback, nats.c thread), delivery (delivery thread),
 * esl_source (node threads). Subscribers ("sinks": the per-domain log, the event
 * history, the metrics) are registered at startup before any producer runs, and are
 * called synchronously on the producer's thread: a sink must be quick and must not
 * block (it copies into a bounded structure or a queue).
 */
#ifndef EVENTHUB_OUTCOME_H
#define EVENTHUB_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTCOME_MAX_SINKS 8

struct outcome_received {
    const char *domain;
    const char *event_id;
    uint64_t stream_seq; /* 0 when unknown (ESL events are acked later) */
    bool duplicate;
    const char *source;  /* "http" or "esl" */
    const char *api_key; /* the ingress API key's name it came with, or NULL */
    const char *event;   /* the stored event's JSON text, or NULL */
    size_t event_len;
    int64_t latency_us; /* request → JetStream ack; 0 when not measured */
};

struct outcome_endpoint {
    const char *url;    /* the endpoint's display_url (config.h): never the secret-bearing URL */
    const char *label;  /* its label, unique within the route (metrics); NULL = url */
    int status;         /* HTTP status; 0 = no answer */
    const char *error;  /* "" or NULL when none */
    bool delivered;     /* 2xx now or in an earlier attempt */
    bool called;        /* called in this attempt (false: delivered earlier) */
    int64_t latency_us; /* request time when called */
};

struct outcome_delivery {
    const char *type; /* "forwarded", "failed", "dead_lettered" */
    const char *domain;
    const char *event_id;
    uint64_t stream_seq;
    int attempt;
    int max_deliver;
    bool will_retry;
    const char *reason; /* dead letters: why */
    const char *detail;
    const struct outcome_endpoint *endpoints;
    size_t endpoint_count;
    bool one_endpoint;      /* a parked delivery's retry: `endpoints` is that one endpoint of
                               the event; the others stand as last announced */
    int64_t e2e_latency_us; /* stored in JetStream → settled; 0 when unknown */
    const char *event;      /* the stored event's JSON text, or NULL */
    size_t event_len;
};

struct outcome_sink {
    void (*received)(void *ctx, const struct outcome_received *r);
    void (*delivery)(void *ctx, const struct outcome_delivery *d);
    void *ctx;
};

struct outcomes {
    struct outcome_sink sinks[OUTCOME_MAX_SINKS];
    size_t count;
};

/* At startup only (before producers run). False when full. */
bool outcomes_add(struct outcomes *o, const struct outcome_sink *sink);
/* Accept NULL `o` (nothing registered). */
void outcomes_received(const struct outcomes *o, const struct outcome_received *r);
void outcomes_delivery(const struct outcomes *o, const struct outcome_delivery *d);
static inline bool outcomes_active(const struct outcomes *o)
{
    return o && o->count > 0;
}

#endif
