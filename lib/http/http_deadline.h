/*
 * http_deadline — closes client connections that send a request too slowly.
 *
 * libmicrohttpd's connection_timeout is an idle timeout: a client that trickles a byte
 * a second is never idle, and enough of them hold every connection. Each connection
 * therefore has one deadline at a time:
 *
 *   accepted              → the request head must be complete by now + head_timeout;
 *   head received, body   → the body must be complete by now + body_timeout;
 *   head (and body) done  → none while the request is handled, suspended (waiting for
 *                           JetStream) or its answer is sent;
 *   answer sent, kept alive → the next head by now + max(head_timeout, idle_timeout),
 *                           so an idle kept-alive connection lives as long as before.
 *
 * A reaper thread wakes at the earliest known deadline (at least once a second) and
 * shuts down (shutdown(2), not close) the socket of every connection past its deadline;
 * libmicrohttpd then sees the connection end and cleans it up as usual. A timeout of 0
 * turns that phase's deadline off.
 *
 * Threads: open/close and the phase changes run on libmicrohttpd's thread (its
 * connection notifications and the access handler); the reaper runs on its own thread.
 * The list of connections is guarded by one mutex, taken by open, close and the reaper's
 * scan; a connection's deadline is an atomic the HTTP thread stores without the lock.
 * No fd is shut down after libmicrohttpd closed it: the reaper calls shutdown() with
 * the lock held and the entry still listed, and libmicrohttpd sends its CLOSED
 * notification (http_deadline_close, which waits for the lock) before it closes the
 * socket — checked on libmicrohttpd 0.9.75.
 */
#ifndef EVENTHUB_HTTP_DEADLINE_H
#define EVENTHUB_HTTP_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>

struct http_deadlines;
struct http_conn;

struct http_deadline_options {
    int64_t head_timeout_ms; /* 0 = no deadline for the request head */
    int64_t body_timeout_ms; /* 0 = no deadline for the body */
    int64_t idle_timeout_ms; /* server.connection_timeout: what kept-alive connections get */
};

/* Starts the reaper thread (none when both timeouts are 0). NULL on failure (logged). */
struct http_deadlines *http_deadlines_new(const struct http_deadline_options *o);
/* Stops the reaper. Every connection must have been closed (the daemon stopped).
 * Accepts NULL. */
void http_deadlines_free(struct http_deadlines *d);

/* A connection was accepted: its head deadline starts. `peer` (borrowed, copied) names
 * the client in the log. NULL on allocation failure: the connection goes untracked. */
struct http_conn *http_deadlines_open(struct http_deadlines *d, int fd, const char *peer);
/* The connection is closing (before its socket is closed). Accepts NULL. */
void http_deadlines_close(struct http_deadlines *d, struct http_conn *c);

/* The request head is complete: the body deadline starts when a body follows, else the
 * connection is exempt until http_deadlines_request_done. Accept NULL. */
void http_deadlines_head_done(struct http_deadlines *d, struct http_conn *c, bool body_follows);
/* The body is complete: exempt while the request is handled and answered. */
void http_deadlines_body_done(struct http_conn *c);
/* The answer was sent; if the connection stays open, the next head's deadline starts. */
void http_deadlines_request_done(struct http_deadlines *d, struct http_conn *c);

#endif
