/*
 * broker — the embedded default broker: a `nats-server` child process with JetStream
 * on 127.0.0.1, its store under nats.embedded.data_dir.
 *
 * broker_start() launches the child and waits until it accepts connections. A
 * supervisor thread (owned here) waits on the child; if it dies while eventhub runs,
 * it is started again on the same port and store (with backoff), so the NATS
 * connection simply reconnects. The child gets SIGTERM when eventhub exits — also when
 * eventhub itself is killed (PR_SET_PDEATHSIG). Its own log goes to
 * <data_dir>/nats-server.log.
 */
#ifndef EVENTHUB_BROKER_H
#define EVENTHUB_BROKER_H

struct config;
struct broker;

/* NULL on failure (logged). Borrows cfg. */
struct broker *broker_start(const struct config *cfg);
/* "nats://127.0.0.1:PORT" */
const char *broker_url(const struct broker *b);
int broker_pid(const struct broker *b);
/* Stops the child (SIGTERM, then SIGKILL after 10 s) and frees. Accepts NULL. */
void broker_stop(struct broker *b);

#endif
