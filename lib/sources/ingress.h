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

#include <stdbool.h>

struct config;
struct outcomes;
struct http_request;
struct nats_link;
struct publisher;
struct ingress;

/* Borrows cfg, link, pub and outcomes (may be NULL: nobody listens). */
struct ingress *ingress_new(const struct config *cfg, struct nats_link *link, struct publisher *pub,
                            const struct outcomes *outcomes);
void ingress_free(struct ingress *ing);

/* After this, new events are refused with 503 (graceful shutdown). Any thread. */
void ingress_stop_accepting(struct ingress *ing);
bool ingress_accepting(const struct ingress *ing);

/* The http_route handler for POST /events; ctx is the struct ingress. */
void ingress_handle(void *ctx, struct http_request *req);

#endif
