/*
 * config_api — the configuration endpoints of the control plane.
 *
 *   GET  /api/config         the routes serving now (secrets redacted), when and from
 *                            where they were loaded, reload counters and the last
 *                            refused reload, and a summary of the settings
 *   POST /api/config/reload  reload the routes from the config file now:
 *                            200 {"status":"success","message","routes","restart_required"}
 *                            400 {"status":"error","error":"invalid_config","detail",
 *                                 "errors":["file:line: key: message", ...]}
 *
 * Access (the route table): GET is a read, POST an admin request.
 *
 * Threads: the handlers run on libmicrohttpd's thread. GET only copies the reloader's
 * published state and builds JSON. POST reads and parses a file, so it runs as a job on
 * the API worker (the request is suspended meanwhile); the reloader serializes it with
 * the file-change and SIGHUP reloads.
 */
#ifndef EVENTHUB_CONFIG_API_H
#define EVENTHUB_CONFIG_API_H

struct api_worker;
struct http_request;
struct reloader;

struct config_api;

/* Borrows both (they must outlive it). */
struct config_api *config_api_new(struct reloader *reloader, struct api_worker *worker);
void config_api_free(struct config_api *api); /* accepts NULL */

/* Route handlers: ctx is the config_api. */
void config_api_handle_get(void *ctx, struct http_request *req);    /* GET /api/config */
void config_api_handle_reload(void *ctx, struct http_request *req); /* POST .../reload */

#endif
