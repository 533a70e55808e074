/*
 * nats_link — the one NATS connection of the process and the JetStream objects
 * eventhub relies on: the event stream, the dead-letter stream and the durable push
 * consumer.
 *
 * Threads: nats.c calls the connection callbacks on its own thread; they only flip
 * state and wake the link's setup thread. The setup thread (owned here) makes sure,
 * after every (re)connect, that both streams and the consumer exist with the
 * configured settings, retrying with backoff until they do; then it calls the on_ready
 * hook (which binds delivery to the consumer) and marks the link ready.
 *
 * The connection reconnects for ever (jittered backoff). nats_link_ready() is what
 * ingress and /health look at: connected and set up.
 */
#ifndef EVENTHUB_NATS_LINK_H
#define EVENTHUB_NATS_LINK_H

#include <nats/nats.h>
#include <stdbool.h>

struct config;
struct nats_link;

/* Called on the setup thread after every successful setup; false = not ready yet,
 * setup is retried later. */
typedef bool (*nats_link_ready_fn)(void *closure);

/*
 * Connects (in the background when the server is not reachable yet) using
 * cfg->nats; `url_override` (the embedded broker's URL) replaces the configured
 * servers when non-NULL. Borrows cfg for the link's life. Returns NULL and logs on
 * a setup error (bad options).
 */
struct nats_link *nats_link_new(const struct config *cfg, const char *url_override,
                                nats_link_ready_fn on_ready, void *closure);
/* Closes the connection (after flushing pending acks) and joins the setup thread. */
void nats_link_free(struct nats_link *link);

natsConnection *nats_link_conn(struct nats_link *link);
/* A JetStream context for administrative and synchronous calls. */
jsCtx *nats_link_js(struct nats_link *link);

bool nats_link_connected(const struct nats_link *link);
bool nats_link_ready(const struct nats_link *link);
/* A short human reason when not ready ("disconnected", "setting up stream", ...). */
const char *nats_link_state(const struct nats_link *link);
/* Why setup cannot succeed as configured (a stream's subjects taken by another
 * stream), copied into buf; false, and buf "", when there is no such problem. */
bool nats_link_problem(struct nats_link *link, char *buf, size_t cap);
/* Connected server URL into buf, redacted (redact.h); empty when disconnected. */
void nats_link_server(struct nats_link *link, char *buf, size_t cap);

#endif
