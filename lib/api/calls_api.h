/*
 * calls_api — the call records API, read from the JetStream key-value bucket where
 * every eventhub instance stores its FreeSWITCH calls (live state while a call lasts,
 * the final call signal when it ends):
 *
 *   GET /api/v1/calls?limit=50&offset=0&domain=example.com   newest first
 *   GET /api/v1/calls/{uuid}                                 one call, live or ended
 *
 * Parameters are checked on the HTTP thread (400 with a JSON error); the JetStream
 * reads run on the API worker thread.
 */
#ifndef EVENTHUB_CALLS_API_H
#define EVENTHUB_CALLS_API_H

#include <stddef.h>

struct api_worker;
struct config;
struct http_request;
struct nats_link;
struct calls_api;

struct calls_api *calls_api_new(const struct config *cfg, struct nats_link *link,
                                struct api_worker *worker);
void calls_api_free(struct calls_api *api);
/* http_route handler for the prefix /api/v1/calls; ctx is the struct calls_api. */
void calls_api_handle(void *ctx, struct http_request *req);

/* What a path under /api/v1/calls names. */
enum calls_api_path {
    CALLS_API_LIST,      /* "" or "/" */
    CALLS_API_ONE,       /* "/{id}": the id copied into `id` */
    CALLS_API_NOT_FOUND, /* 404 */
    CALLS_API_BAD_ID,    /* 400: a call id is 1-64 of [A-Za-z0-9_-] */
};
/* Parses `rest`, the path after "/api/v1/calls"; the id goes to `id` (cap bytes; 65
 * hold any id, a longer one than fits is BAD_ID). Pure (the HTTP thread; the fuzzer). */
enum calls_api_path calls_api_parse_path(const char *rest, char *id, size_t cap);

#endif
