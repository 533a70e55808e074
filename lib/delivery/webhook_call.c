/* webhook_call — see webhook_call.h. */
#include "delivery/webhook_call.h"

#include "config/config.h"
#include "core/clock.h"
#include "core/trace_context.h"
#include "core/webhook_signature.h"
#include "eventhub_version.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct call {
    CURL *easy;
    struct curl_slist *headers;
    webhook_done_fn done;
    void *closure;
    size_t endpoint_index;
    char errbuf[CURL_ERROR_SIZE];
    struct call *next_free;           /* free list */
    struct call *prev_run, *next_run; /* running list */
};

struct webhook_pool {
    CURLM *multi;
    struct call *free_calls; /* easy handles kept for reuse */
    struct call *running;    /* calls added to the multi handle */
    int idle;
    int max_idle;
};

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    return size * nmemb;
}

struct webhook_pool *webhook_pool_new(int max_concurrent, int max_host_connections)
{
    struct webhook_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->multi = curl_multi_init();
    if (!pool->multi) {
        free(pool);
        return NULL;
    }
    pool->max_idle = max_concurrent;
    curl_multi_setopt(pool->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_host_connections);
    curl_multi_setopt(pool->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_concurrent);
    curl_multi_setopt(pool->multi, CURLMOPT_MAXCONNECTS, (long)max_concurrent);
    return pool;
}

static void call_destroy(struct call *c)
{
    curl_slist_free_all(c->headers);
    curl_easy_cleanup(c->easy);
    free(c);
}

void webhook_pool_free(struct webhook_pool *pool)
{
    if (!pool)
        return;
    while (pool->running) {
        struct call *c = pool->running;
        pool->running = c->next_run;
        curl_multi_remove_handle(pool->multi, c->easy);
        call_destroy(c);
    }
    while (pool->free_calls) {
        struct call *c = pool->free_calls;
        pool->free_calls = c->next_free;
        call_destroy(c);
    }
    curl_multi_cleanup(pool->multi);
    free(pool);
}

CURLM *webhook_pool_multi(struct webhook_pool *pool)
{
    return pool->multi;
}

static struct call *call_get(struct webhook_pool *pool)
{
    struct call *c = pool->free_calls;
    if (c) {
        pool->free_calls = c->next_free;
        pool->idle--;
        curl_easy_reset(c->easy);
        c->errbuf[0] = '\0';
        return c;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->easy = curl_easy_init();
    if (!c->easy) {
        free(c);
        return NULL;
    }
    return c;
}

static void call_put(struct webhook_pool *pool, struct call *c)
{
    curl_slist_free_all(c->headers);
    c->headers = NULL;
    if (pool->idle >= pool->max_idle) {
        call_destroy(c);
        return;
    }
    c->next_free = pool->free_calls;
    pool->free_calls = c;
    pool->idle++;
}

static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value,
                                     bool *ok)
{
    char line[1024];
    snprintf(line, sizeof line, "%s: %s", name, value);
    struct curl_slist *grown = curl_slist_append(list, line);
    if (!grown)
        *ok = false;
    return grown ? grown : list;
}

/* Standard Webhooks: webhook-id (the event_id, the same on every retry),
 * webhook-timestamp (this attempt) and one v1 signature per secret over the exact body. */
static struct curl_slist *add_signature_headers(struct curl_slist *h,
                                                const struct webhook_request *rq, bool *ok)
{
    const struct endpoint *e = rq->endpoint;
    int64_t now_s = clock_wall_ms() / 1000;
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)now_s);
    char sigs[WEBHOOK_SIGNATURES_MAX];
    size_t used = 0;
    for (size_t k = 0; k < e->signing_key_count && used + WEBHOOK_SIGNATURE_LEN + 2 <= sizeof sigs;
         k++) {
        if (used)
            sigs[used++] = ' ';
        if (!webhook_sign(&e->signing_keys[k], rq->event_id, now_s, rq->body, rq->body_len,
                          sigs + used)) {
            *ok = false;
            return h;
        }
        used += WEBHOOK_SIGNATURE_LEN;
    }
    sigs[used] = '\0';
    h = add_header(h, "webhook-id", rq->event_id, ok);
    h = add_header(h, "webhook-timestamp", ts, ok);
    return add_header(h, "webhook-signature", sigs, ok);
}

int webhook_call_start(struct webhook_pool *pool, const struct webhook_request *rq)
{
    struct call *c = call_get(pool);
    if (!c)
        return -1;
    c->done = rq->done;
    c->closure = rq->closure;
    c->endpoint_index = rq->endpoint_index;

    char attempt[16];
    snprintf(attempt, sizeof attempt, "%d", rq->attempt);
    bool ok = true;
    struct curl_slist *h = NULL;
    h = add_header(h, "Content-Type", "application/json", &ok);
    h = add_header(h, "X-Event-Id", rq->event_id, &ok);
    h = add_header(h, "X-Delivery-Attempt", attempt, &ok);
    h = add_header(h, "X-Domain", rq->domain, &ok);
    h = curl_slist_append(h, "Expect:");
    if (rq->endpoint->sign)
        h = add_signature_headers(h, rq, &ok);
    if (rq->traceparent) { /* each attempt a new span of the upstream's trace */
        char span[TRACE_PARENT_LEN + 1];
        trace_parent_child(rq->traceparent, span);
        h = add_header(h, TRACE_PARENT_HEADER, span, &ok);
        if (rq->tracestate)
            h = add_header(h, TRACE_STATE_HEADER, rq->tracestate, &ok);
    }
    for (size_t i = 0; h && i < rq->endpoint->header_count; i++) {
        struct curl_slist *grown = curl_slist_append(h, rq->endpoint->headers[i]);
        if (!grown)
            ok = false;
        else
            h = grown;
    }
    c->headers = h;
    if (!ok || !h) {
        call_put(pool, c);
        return -1;
    }

    int64_t timeout =
        rq->endpoint->timeout_ms > 0 ? rq->endpoint->timeout_ms : rq->default_timeout_ms;
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, rq->endpoint->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)rq->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "eventhub/" EVENTHUB_VERSION);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    if (curl_multi_add_handle(pool->multi, e) != CURLM_OK) {
        call_put(pool, c);
        return -1;
    }
    c->prev_run = NULL;
    c->next_run = pool->running;
    if (pool->running)
        pool->running->prev_run = c;
    pool->running = c;
    return 0;
}

int webhook_pool_perform(struct webhook_pool *pool)
{
    int running = 0;
    curl_multi_perform(pool->multi, &running);
    int finished = 0;
    int left = 0;
    CURLMsg *m;
    while ((m = curl_multi_info_read(pool->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode result = m->data.result;
        struct call *c = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&c);
        long status = 0;
        curl_off_t total_us = 0;
        curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total_us);
        char error[CURL_ERROR_SIZE + 64] = "";
        char retry_after[64] = "";
        if (result == CURLE_OK) {
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            struct curl_header *h = NULL;
            if ((status == 429 || status == 503) &&
                curl_easy_header(e, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h)
                snprintf(retry_after, sizeof retry_after, "%s", h->value);
        } else {
            snprintf(error, sizeof error, "%s%s%s", curl_easy_strerror(result),
                     c->errbuf[0] ? ": " : "", c->errbuf);
        }
        curl_multi_remove_handle(pool->multi, e);
        if (c->prev_run)
            c->prev_run->next_run = c->next_run;
        else
            pool->running = c->next_run;
        if (c->next_run)
            c->next_run->prev_run = c->prev_run;
        webhook_done_fn done = c->done;
        void *closure = c->closure;
        size_t index = c->endpoint_index;
        call_put(pool, c);
        finished++;
        done(closure, index, (int)status, error, (int64_t)total_us,
             retry_after[0] ? retry_after : NULL);
    }
    return finished;
}

void webhook_pool_wait(struct webhook_pool *pool, int timeout_ms)
{
    curl_multi_poll(pool->multi, NULL, 0, timeout_ms, NULL);
}
