/*
 * logs_api — the per-domain event logs (domain_log) read back over HTTP:
 *
 *   GET /api/logs                                   every domain and its dates
 *   GET /api/logs/domains                           the same
 *   GET /api/logs?domain=D                          the dates of one domain
 *   GET /api/logs?domain=D&date=YYYY-MM-DD[&limit=N&offset=N]
 *                                                   the lines of that day, grouped
 *
 * Parameters are checked on the HTTP thread (400 for a bad domain or date, before
 * any file is touched; the reader itself also refuses names that could leave the log
 * directory). Listing and reading are file I/O and run in the API worker's scan lane.
 * Responses are bounded: at most `limit` lines (default 1000, at most 10000),
 * LOGS_API_MAX_BYTES of line text and api.scan_timeout of reading; past any of them,
 * "truncated" is true and "next_offset" says where to continue ("partial": true when
 * it was the time; no "next_offset" when the time ran out while still skipping to
 * `offset`, as a continuation would only skip the same lines again).
 *
 * With log.domain_logging off the API still serves what is on disk (files of earlier
 * runs); listings say "domain_logging": false and a 404 says that logging is off.
 */
#ifndef EVENTHUB_LOGS_API_H
#define EVENTHUB_LOGS_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define LOGS_API_MAX_BYTES (32u * 1024 * 1024)

struct api_worker;
struct config;
struct http_request;
struct logs_api;
struct domain_log_read_result;
struct logs_day;

/* Borrows cfg and worker. */
struct logs_api *logs_api_new(const struct config *cfg, struct api_worker *worker);
void logs_api_free(struct logs_api *api); /* accepts NULL */
/* http_route handler for the prefix /api/v1/logs (and /api/logs); ctx is the struct logs_api. */
void logs_api_handle(void *ctx, struct http_request *req);

/*
 * One day's lines as GET /api/logs?domain=&date= shows them (pure: no I/O; the API
 * worker, the fuzzer). logs_day_new() adds "events_by_domain" and
 * "failed_events_by_domain" to `out` (borrowed, like `fallback_domain`, until
 * logs_day_finish); NULL when out of memory. logs_day_line() is the domain_log_line_fn
 * that sorts each line in: a clean JSON object, by its "type" and "domain" (else
 * `fallback_domain`), with its bytes as written; anything else is counted as
 * "invalid". logs_day_finish() adds "stats" (`res` from domain_log_read_day), sets
 * *lines to the lines read and returns whether the day was cut short (more lines, or
 * LOGS_API_MAX_BYTES reached); it frees `d`.
 */
struct logs_day *logs_day_new(cJSON *out, const char *fallback_domain);
bool logs_day_line(void *day, const char *line, size_t len);
bool logs_day_finish(struct logs_day *d, const struct domain_log_read_result *res, size_t *lines);

#endif
