/*
 * httpc — see httpc.h. Load generator thread only.
 *
 * States: CLOSED (no socket), CONNECTING (waiting for EPOLLOUT), SENDING (part
 * of the request is written; EPOLLOUT added), RECEIVING, IDLE (keep-alive,
 * EPOLLIN stays registered so a server-side close is noticed and the socket
 * released). Interest changes only on connect and on partial writes, so a
 * typical request costs one writev, one read and its share of epoll_wait.
 */
#include "httpc.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

enum conn_state { ST_CLOSED, ST_CONNECTING, ST_SENDING, ST_RECEIVING, ST_IDLE };

#define READ_CHUNK 16384

int httpc_target_parse(const char *url, struct httpc_target *t)
{
    memset(t, 0, sizeof(*t));
    if (strncmp(url, "http://", 7) != 0) {
        fprintf(stderr, "bench: --url: '%s': only plain http:// is supported\n", url);
        return -1;
    }
    const char *host = url + 7;
    const char *path = strchr(host, '/');
    size_t authority_len = path != NULL ? (size_t)(path - host) : strlen(host);
    if (authority_len == 0 || authority_len >= HTTPC_HOST_MAX ||
        (path != NULL && strlen(path) >= HTTPC_PATH_MAX)) {
        fprintf(stderr, "bench: --url: '%s': bad or too long host or path\n", url);
        return -1;
    }
    memcpy(t->host, host, authority_len);
    snprintf(t->path, sizeof(t->path), "%s", path != NULL ? path : "/");
    char name[HTTPC_HOST_MAX];
    const char *port = "80";
    snprintf(name, sizeof(name), "%s", t->host);
    char *colon = strrchr(name, ':');
    char *bracket = strrchr(name, ']');
    if (colon != NULL && (bracket == NULL || colon > bracket)) {
        *colon = '\0';
        port = colon + 1;
    }
    char *host_name = name;
    if (host_name[0] == '[' && bracket != NULL) {
        *bracket = '\0';
        host_name++;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host_name, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        fprintf(stderr, "bench: --url: cannot resolve '%s' port '%s': %s\n", host_name, port,
                gai_strerror(rc));
        return -1;
    }
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

void httpc_init(struct httpc_conn *c, int epfd, const struct httpc_target *t, void *owner)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->epfd = epfd;
    c->target = t;
    c->owner = owner;
    c->state = ST_CLOSED;
}

void httpc_close(struct httpc_conn *c)
{
    if (c->fd >= 0)
        close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    c->interest = 0;
    c->state = ST_CLOSED;
}

bool httpc_busy(const struct httpc_conn *c)
{
    return c->state == ST_CONNECTING || c->state == ST_SENDING || c->state == ST_RECEIVING;
}

static int set_interest(struct httpc_conn *c, uint32_t events)
{
    if (c->interest == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = c->owner};
    int op = c->interest == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(c->epfd, op, c->fd, &ev) != 0)
        return -1;
    c->interest = events;
    return 0;
}

static enum httpc_result fail(struct httpc_conn *c, const char *why)
{
    c->error = why;
    httpc_close(c);
    return HTTPC_FAILED;
}

static enum httpc_result fail_errno(struct httpc_conn *c, int err)
{
    c->err_no = err;
    return fail(c, NULL);
}

static enum httpc_result begin_connect(struct httpc_conn *c)
{
    c->fd = socket(c->target->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return fail_errno(c, errno);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->connects++;
    c->reused = false;
    c->state = ST_CONNECTING;
    if (connect(c->fd, (const struct sockaddr *)&c->target->addr, c->target->addrlen) != 0 &&
        errno != EINPROGRESS)
        return fail_errno(c, errno);
    if (set_interest(c, EPOLLOUT) != 0)
        return fail(c, "epoll_ctl failed");
    return HTTPC_PENDING;
}

/* A failure on a reused connection before any answer byte: the server most
 * likely closed it while idle. Reconnect and send once more. */
static enum httpc_result fail_or_resend(struct httpc_conn *c, const char *why, int err)
{
    if (c->reused && !c->resent && c->resp.bytes_seen == 0) {
        c->resent = true;
        httpc_close(c);
        c->sent = 0;
        return begin_connect(c);
    }
    c->err_no = err;
    return fail(c, why);
}

static enum httpc_result do_send(struct httpc_conn *c)
{
    size_t total = c->hdr_len + c->body_len;
    while (c->sent < total) {
        struct iovec iov[2];
        int n = 0;
        if (c->sent < c->hdr_len) {
            iov[n++] = (struct iovec){c->hdr + c->sent, c->hdr_len - c->sent};
            iov[n++] = (struct iovec){(void *)(uintptr_t)c->body, c->body_len};
        } else {
            size_t off = c->sent - c->hdr_len;
            iov[n++] = (struct iovec){(void *)(uintptr_t)(c->body + off), c->body_len - off};
        }
        ssize_t w = writev(c->fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return set_interest(c, EPOLLIN | EPOLLOUT) == 0 ? HTTPC_PENDING
                                                            : fail(c, "epoll_ctl failed");
        if (w < 0)
            return fail_or_resend(c, NULL, errno);
        c->sent += (size_t)w;
    }
    c->state = ST_RECEIVING;
    return set_interest(c, EPOLLIN) == 0 ? HTTPC_PENDING : fail(c, "epoll_ctl failed");
}

static enum httpc_result do_recv(struct httpc_conn *c)
{
    char buf[READ_CHUNK];
    ssize_t n = read(c->fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return HTTPC_PENDING;
    if (n < 0)
        return fail_or_resend(c, NULL, errno);
    enum http1_result r;
    size_t used = 0;
    if (n == 0)
        r = http1_resp_eof(&c->resp);
    else
        r = http1_resp_feed(&c->resp, buf, (size_t)n, &used);
    if (r == HTTP1_NEED_MORE)
        return HTTPC_PENDING;
    if (r == HTTP1_ERROR)
        return n == 0 ? fail_or_resend(c, "connection closed before the answer was complete", 0)
                      : fail(c, "malformed HTTP answer");
    /* Complete. Bytes beyond the answer (nothing was pipelined) or a close
     * announced by the server end this connection. */
    c->state = ST_IDLE;
    if (n == 0 || !c->resp.keep_alive || used < (size_t)n)
        httpc_close(c);
    return HTTPC_DONE;
}

enum httpc_result httpc_start(struct httpc_conn *c, const char *body, size_t len)
{
    c->body = body;
    c->body_len = len;
    c->sent = 0;
    c->resent = false;
    c->error = NULL;
    c->err_no = 0;
    http1_resp_reset(&c->resp);
    int n = snprintf(c->hdr, sizeof(c->hdr),
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     c->target->path, c->target->host, len);
    c->hdr_len = n > 0 && (size_t)n < sizeof(c->hdr) ? (size_t)n : 0;
    if (c->hdr_len == 0)
        return fail(c, "request header too long");
    if (c->fd < 0)
        return begin_connect(c);
    c->reused = true;
    c->state = ST_SENDING;
    return do_send(c);
}

enum httpc_result httpc_on_event(struct httpc_conn *c, uint32_t events)
{
    switch (c->state) {
    case ST_CONNECTING: {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err != 0)
            return fail_errno(c, err);
        c->state = ST_SENDING;
        return do_send(c);
    }
    case ST_SENDING:
        if (events & EPOLLOUT)
            return do_send(c);
        /* An answer before the request is written (e.g. 413) or a reset. */
        c->state = ST_RECEIVING;
        return do_recv(c);
    case ST_RECEIVING:
        return do_recv(c);
    case ST_IDLE:
        /* Idle keep-alive connection became readable: the server closed it
         * (or sent garbage). Either way it cannot be reused. */
        httpc_close(c);
        return HTTPC_PENDING;
    default:
        return HTTPC_PENDING;
    }
}
