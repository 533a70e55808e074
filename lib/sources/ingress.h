/*
 * ingress — POST /events: validate, store durably, then answer.
 *
 * The handler runs on the HTTP thread: it checks the request, builds the stored
 * bytes (event.h), suspends the connection and submits an asynchronous publish. The
 * publish-ack callback (nats.c thread) completes the request: 202 with the stream
 * sequence only after JetStream acknowledged the event, 503 otherwise. No thread
 * waits for an ack.
 */
#ifndef EVENTHUB_INGRESS_H
#define EVENTHUB_INGRESS_H

#include "sources/source.h"

#include <stdbool.h>

struct http_request;
struct ingress;

/* The one HTTP source (kind "http", name "http", key "ingress" in /health and
 * /api/stats; no figures of its own: the HTTP counters are in /metrics already). It
 * accepts events from source_set_start; after stop, new events get 503 (graceful
 * shutdown). The route handler's ctx is its impl: source_set_find(set,
 * &ingress_source_class). */
extern const struct source_class ingress_source_class;

bool ingress_accepting(const struct ingress *ing);

/* The http_route handler for POST /events; ctx is the struct ingress. */
void ingress_handle(void *ctx, struct http_request *req);

#endif
