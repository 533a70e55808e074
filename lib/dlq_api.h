/*
 * dlq_api — the dead-letter stream over HTTP:
 *
 *   GET  /api/dlq?domain=D&limit=50&before=SEQ   records, newest first, with their
 *                                                sequence in the dead-letter stream
 *   GET  /api/dlq/{seq}                          one record
 *   POST /api/dlq/{seq}/replay                   republish its event, delete the record
 *   POST /api/dlq/replay?domain=D&limit=100&after=SEQ   the same for a domain's
 *                                                records, oldest first, at most `limit`
 *                                                of them, above `after` when given
 *
 * GETs are read APIs, POSTs mutating ones (api_auth). Parameters are checked on the
 * HTTP thread; the JetStream requests (dlq_replay, stream_scan) run on the API worker:
 * GET /api/dlq/{seq} in its light lane, the rest in its dead-letter lane (one at a
 * time). Walks keep to api.scan_max_messages and api.scan_timeout per request and
 * answer "partial": true with a cursor when one of them stopped them.
 */
#ifndef EVENTHUB_DLQ_API_H
#define EVENTHUB_DLQ_API_H

#define DLQ_API_MAX_BYTES (16u * 1024 * 1024)

struct api_auth;
struct api_worker;
struct config;
struct http_request;
struct nats_link;
struct outcomes;
struct dlq_api;

/* Borrows everything (auth and outcomes may be NULL). */
struct dlq_api *dlq_api_new(const struct config *cfg, struct nats_link *link,
                            struct api_worker *worker, const struct api_auth *auth,
                            const struct outcomes *outcomes);
void dlq_api_free(struct dlq_api *api); /* accepts NULL */
/* http_route handler for the prefix /api/dlq (GET and POST); ctx is the struct dlq_api. */
void dlq_api_handle(void *ctx, struct http_request *req);

#endif
