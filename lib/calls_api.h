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

#endif
