/*
 * httpc — one non-blocking keep-alive HTTP/1.1 client connection to the bench
 * target, driven by the load generator's epoll loop (load generator thread
 * only). It connects on first use, writes "POST <path>" with the body by
 * writev, parses the answer with http1, and reconnects when the server has
 * closed an idle connection (one silent resend, only when not a single byte
 * of the answer came back; the event_id makes a resend harmless anyway).
 *
 * The epoll registration carries the owner pointer given at init. The body is
 * borrowed until the request ends (DONE or FAILED).
 */
#ifndef BENCH_HTTPC_H
#define BENCH_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http1.h"

#define HTTPC_HOST_MAX 256
#define HTTPC_PATH_MAX 1024

struct httpc_target {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[HTTPC_HOST_MAX]; /* Host header value */
    char path[HTTPC_PATH_MAX];
};

/* Parses http://host[:port][/path] and resolves host (blocking, once).
 * Returns -1 with a message on stderr. */
int httpc_target_parse(const char *url, struct httpc_target *t);

enum httpc_result {
    HTTPC_PENDING, /* wait for the next epoll event */
    HTTPC_DONE,    /* a whole answer: see resp */
    HTTPC_FAILED,  /* transport error: see error; the connection is closed */
};

struct httpc_conn {
    int fd;
    int epfd;
    int state;
    uint32_t interest; /* events registered with epoll; 0 = not registered */
    bool reused;       /* the request runs on a connection that served one before */
    bool resent;
    void *owner;
    const struct httpc_target *target;
    const char *error; /* static text of the last failure, or NULL with err_no set */
    int err_no;
    const char *body;
    size_t body_len;
    size_t hdr_len;
    size_t sent;
    uint64_t connects; /* connections opened, for the report */
    char hdr[HTTPC_HOST_MAX + HTTPC_PATH_MAX + 128];
    struct http1_resp resp;
};

void httpc_init(struct httpc_conn *c, int epfd, const struct httpc_target *t, void *owner);
enum httpc_result httpc_start(struct httpc_conn *c, const char *body, size_t len);
enum httpc_result httpc_on_event(struct httpc_conn *c, uint32_t events);
/* True while a request is in progress. */
bool httpc_busy(const struct httpc_conn *c);
/* Aborts any request and closes the socket (e.g. on timeout). */
void httpc_close(struct httpc_conn *c);

#endif
