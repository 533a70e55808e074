/*
 * events_api — GET /api/events: the recent events of each domain, from the in-memory
 * event history (event_history.h), successful and failed:
 *
 *   GET /api/events?type=successful|failed|all&domain=example.com&limit=50
 *
 * type (default all) picks the maps filled ("events_by_domain" for successful and
 * pending events, "failed_events_by_domain" for failed and dead-lettered ones); domain
 * (optional) is an exact, case-insensitive match; limit (default 50, 1..1000) counts
 * per domain and per map. Bad parameters get 400 {"error":"invalid_parameter",...}.
 *
 * Thread: the HTTP thread. No NATS or disk I/O: the answer is built from memory at
 * once (bounded by EVENT_HISTORY_QUERY_MAX_*).
 */
#ifndef EVENTHUB_EVENTS_API_H
#define EVENTHUB_EVENTS_API_H

struct http_request;

#define EVENTS_API_DEFAULT_LIMIT 50
#define EVENTS_API_MAX_LIMIT 1000

/* http_route handler for the exact path /api/events; ctx is the struct event_history. */
void events_api_handle(void *ctx, struct http_request *req);

#endif
