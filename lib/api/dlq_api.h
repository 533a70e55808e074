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
 * GETs are read APIs, POSTs admin ones (the route table says so; the server checks). Parameters are
 * checked on the HTTP thread; the JetStream requests (dlq_replay, stream_scan) run on the API
 * worker: GET /api/dlq/{seq} in its light lane, the rest in its dead-letter lane (one at a time).
 * Walks keep to api.scan_max_messages and api.scan_timeout per request and answer "partial": true
 * with a cursor when one of them stopped them.
 */
#ifndef EVENTHUB_DLQ_API_H
#define EVENTHUB_DLQ_API_H

#include <stdint.h>

#define DLQ_API_MAX_BYTES (16u * 1024 * 1024)

struct api_worker;
struct config;
struct http_request;
struct nats_link;
struct outcomes;
struct dlq_api;
struct lanes;

/* Borrows everything (outcomes may be NULL). */
struct dlq_api *dlq_api_new(const struct config *cfg, struct nats_link *link,
                            struct api_worker *worker, const struct outcomes *outcomes,
                            struct lanes *lanes);
void dlq_api_free(struct dlq_api *api); /* accepts NULL */
/* http_route handler for the prefix /api/v1/dlq (and /api/dlq; GET and POST); ctx is the struct
 * dlq_api. */
void dlq_api_handle(void *ctx, struct http_request *req);

/* What a path under /api/dlq names. */
enum dlq_api_op { DLQ_API_LIST, DLQ_API_GET, DLQ_API_REPLAY_ONE, DLQ_API_REPLAY_DOMAIN };
enum dlq_api_path_status {
    DLQ_API_PATH_OK = 0,
    DLQ_API_PATH_NOT_FOUND, /* 404 */
    DLQ_API_PATH_BAD_SEQ,   /* 400: /api/dlq/{seq} with a seq that is not 1..INT64_MAX */
};
struct dlq_api_path {
    enum dlq_api_op op;
    uint64_t seq;       /* DLQ_API_GET, DLQ_API_REPLAY_ONE */
    const char *method; /* the one method the path takes: "GET" or "POST" (static) */
};
/* Parses `rest`, the path after "/api/dlq" (NUL-terminated, as libmicrohttpd gives
 * it). Pure (the HTTP thread; the fuzzer). */
enum dlq_api_path_status dlq_api_parse_path(const char *rest, struct dlq_api_path *out);

#endif
