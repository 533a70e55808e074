/*
 * event_log — what happened to each event, one JSON line per outcome, in the
 * tenant's domain log (domain_log): logs/<domain>/YYYY-MM-DD.log.
 *
 *   {"ts":…,"type":"received","domain":…,"event_id":…,"stream_seq":N,"duplicate":false,
 *    "source":"http"|"esl","event":{…the stored event…}}
 *   {"ts":…,"type":"forwarded","domain":…,"event_id":…,"stream_seq":N,"attempt":N,
 *    "endpoints":[{"url":…,"status":200,"delivered":true}]}
 *   {"ts":…,"type":"failed", … "attempt":N,"max_deliver":N,"will_retry":true|false,
 *    "endpoints":[{"url":…,"status":500,"error":"HTTP 500","delivered":false},…]}
 *   {"ts":…,"type":"dead_lettered", … "reason":…,"detail":…}
 *
 * Formatting only; domain_log_write() queues the line without blocking, so any
 * thread may call these. A NULL domain_log (domain logging off) makes them no-ops.
 */
#ifndef EVENTHUB_EVENT_LOG_H
#define EVENTHUB_EVENT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct domain_log;

struct event_log_endpoint {
    const char *url;
    int status; /* 0 = no HTTP answer */
    const char *error;
    bool delivered;
};

struct event_log_outcome {
    const char *type; /* "forwarded", "failed", "dead_lettered" */
    const char *domain;
    const char *event_id;
    uint64_t stream_seq;
    int attempt;
    int max_deliver;
    bool will_retry;
    const char *reason; /* dead letters */
    const char *detail;
    const struct event_log_endpoint *endpoints;
    size_t endpoint_count;
};

/* `event` (may be NULL) is the stored event's JSON text, embedded as is. */
void event_log_received(struct domain_log *dl, const char *domain, const char *event_id,
                        uint64_t stream_seq, bool duplicate, const char *source,
                        const char *event, size_t event_len);
void event_log_outcome(struct domain_log *dl, const struct event_log_outcome *o);

#endif
