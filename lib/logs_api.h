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

#define LOGS_API_MAX_BYTES (32u * 1024 * 1024)

struct api_auth;
struct api_worker;
struct config;
struct http_request;
struct logs_api;

/* Borrows cfg, worker and auth (auth may be NULL: no access control). */
struct logs_api *logs_api_new(const struct config *cfg, struct api_worker *worker,
                              const struct api_auth *auth);
void logs_api_free(struct logs_api *api); /* accepts NULL */
/* http_route handler for the prefix /api/logs; ctx is the struct logs_api. */
void logs_api_handle(void *ctx, struct http_request *req);

#endif
