/*
 * app — wires the subsystems together, runs until a signal, and shuts down in order.
 *
 * Start: embedded broker (when nats.url is "embedded") → NATS link → publisher,
 * dead-letter worker → outcome sinks → delivery → sources (HTTP ingress, FreeSWITCH)
 * → the API modules → the HTTP server with the route table (app_routes). The main thread then
 * waits for signals (they are blocked in every other thread):
 *   SIGHUP          reload the routes from the config file (the old ones keep serving
 *                   if the new file is invalid);
 *   SIGINT/SIGTERM  graceful shutdown: refuse new events (503), finish in-flight
 *                   publishes, stop taking deliveries, let calls in flight finish or
 *                   time out and settle them, close NATS, stop the broker.
 */
#ifndef EVENTHUB_APP_H
#define EVENTHUB_APP_H

#include <stddef.h>

struct app;
struct config;
struct http_route;

#define APP_MAX_ROUTES 32

/* Runs eventhub with `cfg` (takes a reference). Returns the process exit status. */
int app_run(struct config *cfg);

/* The HTTP route table: writes up to `cap` routes to out and returns how many there
 * are. `app` NULL gives the same table with every ctx NULL (the test that walks the
 * table and checks each route's access uses it with handlers of its own). */
size_t app_routes(const struct app *app, const struct config *cfg, struct http_route *out,
                  size_t cap);

#endif
