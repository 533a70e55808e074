/*
 * health — GET /health: 200 when eventhub can take and deliver events (NATS
 * connected and JetStream set up), 503 with the reason otherwise. Runs on the HTTP
 * thread; reads state owned by others through their thread-safe getters.
 */
#ifndef EVENTHUB_HEALTH_H
#define EVENTHUB_HEALTH_H

#include <stddef.h>

struct delivery;
struct http_request;
struct nats_link;
struct publisher;
struct health;

struct health *health_new(struct nats_link *link, struct publisher *pub, struct delivery *delivery);
void health_free(struct health *h);
void health_set_shutting_down(struct health *h);
struct source_set;
/* The FreeSWITCH nodes to report (borrowed). Their state is shown; a node that is down
 * does not make eventhub unhealthy: ingress still works. */
void health_set_sources(struct health *h, const struct source_set *sources);
void health_handle(void *ctx, struct http_request *req);

#endif
