/*
 * event_log — the per-domain log as an outcome sink: one JSON line per outcome in
 * the tenant's domain log (domain_log): logs/<domain>/YYYY-MM-DD.log.
 *
 *   {"ts":…,"type":"received","domain":…,"event_id":…,"stream_seq":N,"duplicate":false,
 *    "source":"http"|"esl","event":{…the stored event…}}
 *   {"ts":…,"type":"forwarded","domain":…,"event_id":…,"stream_seq":N,"attempt":N,
 *    "endpoints":[{"url":…,"status":200,"delivered":true}]}
 *   {"ts":…,"type":"failed", … "attempt":N,"max_deliver":N,"will_retry":true|false,
 *    "endpoints":[{"url":…,"status":500,"error":"HTTP 500","delivered":false},…]}
 *   {"ts":…,"type":"dead_lettered", … "reason":…,"detail":…}
 *
 * Runs on the producer's thread; domain_log_write() only queues the line.
 */
#ifndef EVENTHUB_EVENT_LOG_H
#define EVENTHUB_EVENT_LOG_H

#include "core/outcome.h"

struct domain_log;

/* A sink writing to `dl` (borrowed for the sink's life). */
struct outcome_sink event_log_sink(struct domain_log *dl);

#endif
