/*
 * app — wires the subsystems together, runs until a signal, and shuts down in order.
 *
 * Start: embedded broker (when nats.url is "embedded") → NATS link → publisher,
 * dead-letter worker, delivery → ingress and the HTTP server. The main thread then
 * waits for signals (they are blocked in every other thread):
 *   SIGHUP          reload the routes from the config file (the old ones keep serving
 *                   if the new file is invalid);
 *   SIGINT/SIGTERM  graceful shutdown: refuse new events (503), finish in-flight
 *                   publishes, stop taking deliveries, let calls in flight finish or
 *                   time out and settle them, close NATS, stop the broker.
 */
#ifndef EVENTHUB_APP_H
#define EVENTHUB_APP_H

struct config;

/* Runs eventhub with `cfg` (takes a reference). Returns the process exit status. */
int app_run(struct config *cfg);

#endif
