/*
 * stream_api — a window on the event stream:
 *
 *   GET /api/stream/messages?limit=50&domain=example.com&before=SEQ
 *
 * The newest messages first (each with sequence, subject, RFC 3339 time, headers and
 * the data as JSON, or as a string when it is not JSON), with the stream's totals
 * and the durable consumer's pending counts. `domain` keeps only that domain's
 * subject (event_subject); `before` continues below a sequence ("next_before" of
 * the previous page). A walk visits at most api.scan_max_messages sequences, runs for
 * at most api.scan_timeout and returns at most STREAM_API_MAX_BYTES of data;
 * "truncated" says it stopped early, "partial" (with "partial_reason": "deadline",
 * "scan_limit" or "error") that a limit of the walk stopped it before the page was full:
 * either way "next_before" continues.
 *
 * Parameters are checked on the HTTP thread; the JetStream requests run in the API
 * worker's scan lane (at most api.max_concurrent_scans at once).
 */
#ifndef EVENTHUB_STREAM_API_H
#define EVENTHUB_STREAM_API_H

#define STREAM_API_MAX_BYTES (16u * 1024 * 1024)

struct api_worker;
struct config;
struct http_request;
struct nats_link;
struct stream_api;

/* Borrows everything. */
struct stream_api *stream_api_new(const struct config *cfg, struct nats_link *link,
                                  struct api_worker *worker);
void stream_api_free(struct stream_api *api); /* accepts NULL */
/* http_route handler for /api/stream/messages; ctx is the struct stream_api. */
void stream_api_handle(void *ctx, struct http_request *req);

#endif
