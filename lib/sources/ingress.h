/*
 * ingress — POST /events: validate, store durably, then answer.
 *
 * The handler runs on the HTTP thread: it checks the request, builds the stored
 * bytes (event.h), suspends the connection and submits an asynchronous publish. The
 * publish-ack callback (nats.c thread) completes the request: 202 with the stream
 * sequence only after JetStream acknowledged the event, 503 otherwise. No thread
 * waits for an ack.
 *
 * With ingress.api_keys set, a request needs "Authorization: Bearer <key>" of one of
 * them (ingress_keys: 401 without, 403 for a domain outside the key's scope); the
 * key's name goes with the event (a header on the stored message, the outcome
 * sinks: history, the domain logs) and is counted per key in /metrics.
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

/* The header naming the API key an event came with, on its stored message (absent
 * when keys are off). */
#define INGRESS_API_KEY_HEADER "Eventhub-Api-Key"

/* The http_route gate of POST /events (before the body is read): 401 without a
 * configured key when ingress.api_keys is set. ctx is the struct ingress. */
bool ingress_gate(void *ctx, struct http_request *req);

/* The http_route handler for POST /events; ctx is the struct ingress. It checks the key
 * again (a reload may have revoked it meanwhile), then its scope for the event's
 * domain (403). */
void ingress_handle(void *ctx, struct http_request *req);

#endif
