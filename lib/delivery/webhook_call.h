/*
 * webhook_call — HTTP POSTs to endpoints over one libcurl multi handle.
 *
 * The pool keeps connections alive across calls (the multi handle's connection
 * cache) and reuses easy handles. Each call has a total timeout and a connect
 * timeout; its outcome (HTTP status, or 0 and a transport error) comes back through
 * the request's `done` callback from inside webhook_pool_perform().
 *
 * Threads: everything runs on the thread that drives the pool (the delivery thread),
 * except curl_multi_wakeup on webhook_pool_multi(), which any thread may call.
 */
#ifndef EVENTHUB_WEBHOOK_CALL_H
#define EVENTHUB_WEBHOOK_CALL_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

struct endpoint;
struct webhook_pool;

/* retry_after: the Retry-After header of a 429 or 503 answer (NULL when absent). */
typedef void (*webhook_done_fn)(void *closure, size_t endpoint_index, int status, const char *error,
                                int64_t latency_us, const char *retry_after);

struct webhook_request {
    const struct endpoint *endpoint; /* borrowed until done */
    size_t endpoint_index;
    const char *body; /* borrowed until done */
    size_t body_len;
    const char *event_id;
    const char *domain;
    const char *traceparent; /* the event's W3C trace context (valid), or NULL */
    const char *tracestate;  /* or NULL */
    int attempt;
    int64_t default_timeout_ms; /* when the endpoint sets none */
    int64_t connect_timeout_ms;
    webhook_done_fn done;
    void *closure;
};

struct webhook_pool *webhook_pool_new(int max_concurrent, int max_host_connections);
/* Abandons calls still running (no callbacks) and frees. */
void webhook_pool_free(struct webhook_pool *pool);
CURLM *webhook_pool_multi(struct webhook_pool *pool);

/* Starts a call; 0, or -1 when it could not be set up (no callback then). */
int webhook_call_start(struct webhook_pool *pool, const struct webhook_request *rq);
/* Drives transfers; calls `done` for each finished one; returns how many finished. */
int webhook_pool_perform(struct webhook_pool *pool);
/* Sleeps until socket activity, a wakeup, or timeout_ms. */
void webhook_pool_wait(struct webhook_pool *pool, int timeout_ms);

#endif
