/*
 * esl_conn — one FreeSWITCH Event Socket connection (inbound mode), kept for ever.
 *
 * A thread per node (owned here) connects, answers the auth/request challenge,
 * subscribes (`event plain|json <names>`, then `filter` lines and `log <level>`), and
 * reads frames until the peer goes away. Then it reconnects with exponential backoff
 * and jitter, re-subscribing every time. A watchdog treats silence longer than
 * heartbeat_timeout (FreeSWITCH sends HEARTBEAT every 20 s) as a dead peer.
 * Wrong password, ACL rejection (text/rude-rejection), disconnect notices, a peer that
 * closes mid-frame or sends garbage: each is a log line, a state and a counter, then a
 * retry — never a crash or a hang.
 *
 * The reader never waits on JetStream or HTTP: events go to the node's handlers
 * (on this thread), which only queue work (see esl_source). Between reads the thread
 * calls the idle hook so queued publishes are retried even when FreeSWITCH is quiet.
 */
#ifndef EVENTHUB_ESL_CONN_H
#define EVENTHUB_ESL_CONN_H

#include <stdbool.h>
#include <stdint.h>

struct esl_event;
struct esl_frame;
struct esl_node;
struct esl_conn;

enum esl_conn_state {
    ESL_STATE_CONNECTING = 0,
    ESL_STATE_AUTHENTICATING,
    ESL_STATE_SUBSCRIBING,
    ESL_STATE_CONNECTED,
    ESL_STATE_AUTH_FAILED,
    ESL_STATE_REJECTED,
    ESL_STATE_DISCONNECTED,
    ESL_STATE_STOPPED,
};

struct esl_conn_handlers {
    /* An event arrived (borrowed for the call). */
    void (*on_event)(void *closure, const struct esl_event *ev);
    /* A log/data frame arrived (borrowed for the call); may be NULL. */
    void (*on_log)(void *closure, const struct esl_frame *frame);
    /* Called at least every 100 ms while the connection waits, and after each read. */
    void (*on_idle)(void *closure);
    void *closure;
};

struct esl_conn_stats {
    enum esl_conn_state state;
    uint64_t events_received;
    uint64_t reconnects;
    uint64_t protocol_errors;
    int64_t connected_since_ms; /* wall clock, 0 when not connected */
    char last_error[200];
};

/* Starts the node's thread. Borrows node (and handlers' closure) for its life. */
struct esl_conn *esl_conn_start(const struct esl_node *node,
                                const struct esl_conn_handlers *handlers);
/* Stops and joins the thread (closing the socket); stats stay readable. Idempotent,
 * accepts NULL. */
void esl_conn_stop(struct esl_conn *conn);
/* Stops if needed and frees. Accepts NULL. */
void esl_conn_free(struct esl_conn *conn);
void esl_conn_get_stats(struct esl_conn *conn, struct esl_conn_stats *out);
const char *esl_conn_state_name(enum esl_conn_state state);

#endif
