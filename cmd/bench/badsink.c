/*
 * badsink — see badsink.h. Everything below the API runs on the bad sink's own
 * thread, except badsink_new/destroy (main thread, before and after it).
 *
 * A connection reads one request at a time: the head (capped at HEAD_MAX),
 * then Content-Length body bytes, which are counted and dropped; the request
 * then counts as a call and the mode picks the answer. Slow answers wait in a
 * FIFO: every delay is the same, so arrival order is deadline order and the
 * timerfd is armed at the head's deadline. Hanging connections stay in the
 * epoll set, so a client that gives up and closes is noticed and freed.
 * Timer work runs after each batch of socket events, never inside one, so a
 * connection is only ever closed while its own event (or none) is handled.
 */
#include "badsink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "bclock.h"

#define HEAD_MAX 8192       /* request line and header fields */
#define BODY_MAX (1u << 30) /* larger Content-Length: the connection is closed */
#define MAX_CONNS 10000
#define MAX_EVENTS 256

enum conn_state {
    C_HEAD,  /* reading a request head */
    C_BODY,  /* dropping body bytes */
    C_WAIT,  /* a call was counted; its answer is delayed or never comes */
    C_WRITE, /* part of the answer is written; EPOLLOUT armed */
};

struct conn {
    int fd;
    enum conn_state state;
    bool queued;        /* in the slow-answer FIFO */
    bool want_out;      /* EPOLLOUT registered */
    uint64_t body_left; /* C_BODY */
    int64_t due_us;     /* queued: when to answer */
    size_t out_sent;
    struct conn *qnext;       /* slow-answer FIFO */
    struct conn *prev, *next; /* every connection */
    size_t len;
    char buf[HEAD_MAX];
};

struct badsink {
    enum badsink_mode mode;
    int64_t delay_us;
    int port;
    int listen_fd, epfd, timer_fd, stop_fd;
    pthread_t thread;
    bool thread_started;
    struct conn *conns;
    int nconns;
    struct conn *q_head, *q_tail;
    char answer[256];
    size_t answer_len;
    _Atomic uint64_t calls;
    _Atomic uint64_t answered;
    _Atomic uint64_t connections;
};

static void count(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void conn_close(struct badsink *b, struct conn *c)
{
    if (c->queued) {
        /* Unlink from the FIFO (short in practice: bounded by calls in flight). */
        struct conn **pp = &b->q_head, *prev = NULL;
        while (*pp != c) {
            prev = *pp;
            pp = &(*pp)->qnext;
        }
        *pp = c->qnext;
        if (b->q_tail == c)
            b->q_tail = prev;
    }
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        b->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    b->nconns--;
    close(c->fd); /* also leaves the epoll set */
    free(c);
}

static void set_out(struct badsink *b, struct conn *c, bool on)
{
    if (c->want_out == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(b->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = on;
}

static void consume(struct conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Content-Length of the head buf[0..len); -1 for what this sink does not
 * take (chunked bodies, bad or huge lengths). */
static int parse_head(const char *buf, size_t len, uint64_t *body_len)
{
    *body_len = 0;
    const char *line = memchr(buf, '\n', len);
    const char *end = buf + len;
    while (line != NULL && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            break;
        size_t n = (size_t)(eol - line);
        if (n > 15 && strncasecmp(line, "content-length:", 15) == 0) {
            char *stop = NULL;
            unsigned long long v = strtoull(line + 15, &stop, 10);
            if (stop == line + 15 || v > BODY_MAX)
                return -1;
            *body_len = v;
        } else if (n > 18 && strncasecmp(line, "transfer-encoding:", 18) == 0) {
            return -1;
        }
        line = eol;
    }
    return 0;
}

/* Writes what is left of the answer. 0 = written whole (state back to C_HEAD)
 * or waiting for EPOLLOUT (C_WRITE); -1 = close. */
static int conn_write(struct badsink *b, struct conn *c)
{
    while (c->out_sent < b->answer_len) {
        ssize_t w = send(c->fd, b->answer + c->out_sent, b->answer_len - c->out_sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->state = C_WRITE;
            set_out(b, c, true);
            return 0;
        }
        if (w < 0)
            return -1;
        c->out_sent += (size_t)w;
    }
    count(&b->answered);
    set_out(b, c, false);
    c->state = C_HEAD;
    return 0;
}

/* A whole request came in: count it, then answer, queue or hang. */
static int on_call(struct badsink *b, struct conn *c, int64_t now)
{
    count(&b->calls);
    c->out_sent = 0;
    c->state = C_WAIT;
    if (b->mode == BADSINK_HANG)
        return 0;
    if (b->mode == BADSINK_FAIL || b->delay_us == 0)
        return conn_write(b, c);
    c->due_us = now + b->delay_us;
    c->queued = true;
    c->qnext = NULL;
    if (b->q_tail != NULL)
        b->q_tail->qnext = c;
    else
        b->q_head = c;
    b->q_tail = c;
    return 0;
}

/* Parses what is buffered, as far as the state allows. 0 or -1 = close. */
static int conn_process(struct badsink *b, struct conn *c, int64_t now)
{
    for (;;) {
        if (c->state == C_HEAD) {
            const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
            if (end == NULL)
                return c->len < HEAD_MAX ? 0 : -1;
            size_t head = (size_t)(end + 4 - c->buf);
            if (parse_head(c->buf, head, &c->body_left) != 0)
                return -1;
            consume(c, head);
            c->state = C_BODY;
        }
        if (c->state != C_BODY)
            return 0;
        size_t take = c->len < c->body_left ? c->len : (size_t)c->body_left;
        consume(c, take);
        c->body_left -= take;
        if (c->body_left > 0)
            return 0;
        if (on_call(b, c, now) != 0)
            return -1;
    }
}

static int conn_readable(struct badsink *b, struct conn *c, int64_t now)
{
    char scratch[512];
    size_t room = HEAD_MAX - c->len;
    /* A full buffer only happens while the answer is pending (a client that
     * pipelines): read on anyway, dropping bytes, to notice a close. */
    char *to = room > 0 ? c->buf + c->len : scratch;
    size_t cap = room > 0 ? room : sizeof(scratch);
    ssize_t n = read(c->fd, to, cap);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    if (n == 0)
        return -1;
    if (room == 0)
        return 0;
    c->len += (size_t)n;
    return c->state == C_HEAD || c->state == C_BODY ? conn_process(b, c, now) : 0;
}

static void accept_all(struct badsink *b)
{
    for (;;) {
        int fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or out of descriptors: retried on the next wake-up */
        struct conn *c = b->nconns < MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (c == NULL || epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            free(c);
            close(fd);
            continue;
        }
        count(&b->connections);
        c->fd = fd;
        c->state = C_HEAD;
        c->next = b->conns;
        if (b->conns != NULL)
            b->conns->prev = c;
        b->conns = c;
        b->nconns++;
    }
}

/* Sends every slow answer whose time has come; re-arms the timer. */
static void answer_due(struct badsink *b, int64_t now)
{
    while (b->q_head != NULL && b->q_head->due_us <= now) {
        struct conn *c = b->q_head;
        b->q_head = c->qnext;
        if (b->q_head == NULL)
            b->q_tail = NULL;
        c->queued = false;
        if (conn_write(b, c) != 0 || (c->state == C_HEAD && conn_process(b, c, now) != 0))
            conn_close(b, c);
    }
    struct itimerspec its = {0};
    if (b->q_head != NULL)
        its.it_value = bclock_us_to_ts(b->q_head->due_us);
    timerfd_settime(b->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void *badsink_thread(void *arg)
{
    struct badsink *b = arg;
    struct epoll_event events[MAX_EVENTS];
    bool running = true;
    while (running) {
        int n = epoll_wait(b->epfd, events, MAX_EVENTS, -1);
        if (n < 0 && errno != EINTR)
            break;
        int64_t now = bclock_now_us();
        for (int i = 0; i < n; i++) {
            void *p = events[i].data.ptr;
            if (p == &b->stop_fd) {
                running = false;
            } else if (p == &b->listen_fd) {
                accept_all(b);
            } else if (p == &b->timer_fd) {
                uint64_t expirations;
                ssize_t ignored = read(b->timer_fd, &expirations, sizeof(expirations));
                (void)ignored;
            } else {
                struct conn *c = p;
                int rc = 0;
                if (events[i].events & (EPOLLERR | EPOLLHUP))
                    rc = -1;
                else if (c->state == C_WRITE && (events[i].events & EPOLLOUT))
                    rc = conn_write(b, c) == 0 && c->state == C_HEAD ? conn_process(b, c, now) : 0;
                if (rc == 0 && (events[i].events & EPOLLIN))
                    rc = conn_readable(b, c, now);
                if (rc != 0)
                    conn_close(b, c);
            }
        }
        answer_due(b, bclock_now_us());
    }
    return NULL;
}

static int watch(struct badsink *b, int fd, void *tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
    return epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int open_listener(struct badsink *b, int port)
{
    b->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (b->listen_fd < 0)
        return -1;
    int one = 1;
    setsockopt(b->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(b->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(b->listen_fd, 1024) != 0 ||
        getsockname(b->listen_fd, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    b->port = ntohs(addr.sin_port);
    return 0;
}

struct badsink *badsink_new(int port, enum badsink_mode mode, int delay_ms)
{
    struct badsink *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        return NULL;
    }
    b->listen_fd = b->epfd = b->timer_fd = b->stop_fd = -1;
    b->mode = mode;
    b->delay_us = (int64_t)delay_ms * 1000;
    atomic_init(&b->calls, 0);
    atomic_init(&b->answered, 0);
    atomic_init(&b->connections, 0);
    static const char fail_body[] = "{\"error\":\"failing on purpose\"}";
    bool fail = mode == BADSINK_FAIL;
    int n =
        snprintf(b->answer, sizeof(b->answer),
                 "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 fail ? "500 Internal Server Error" : "200 OK", fail ? sizeof(fail_body) - 1 : 2,
                 fail ? fail_body : "{}");
    b->answer_len = (size_t)n;
    if (open_listener(b, port) != 0) {
        fprintf(stderr, "bench: cannot start the bad sink on 127.0.0.1:%d: %s\n", port,
                strerror(errno));
        goto fail;
    }
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    b->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (b->epfd < 0 || b->timer_fd < 0 || b->stop_fd < 0 ||
        watch(b, b->listen_fd, &b->listen_fd) != 0 || watch(b, b->timer_fd, &b->timer_fd) != 0 ||
        watch(b, b->stop_fd, &b->stop_fd) != 0 ||
        pthread_create(&b->thread, NULL, badsink_thread, b) != 0) {
        fprintf(stderr, "bench: cannot set up the bad sink: %s\n", strerror(errno));
        goto fail;
    }
    b->thread_started = true;
    return b;
fail:
    badsink_destroy(b);
    return NULL;
}

void badsink_destroy(struct badsink *b)
{
    if (b == NULL)
        return;
    if (b->thread_started) {
        uint64_t one = 1;
        ssize_t ignored = write(b->stop_fd, &one, sizeof(one));
        (void)ignored;
        pthread_join(b->thread, NULL);
    }
    while (b->conns != NULL)
        conn_close(b, b->conns);
    int fds[] = {b->listen_fd, b->epfd, b->timer_fd, b->stop_fd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(b);
}

int badsink_port(const struct badsink *b)
{
    return b->port;
}

uint64_t badsink_calls(const struct badsink *b)
{
    return atomic_load_explicit(&b->calls, memory_order_relaxed);
}

uint64_t badsink_answered(const struct badsink *b)
{
    return atomic_load_explicit(&b->answered, memory_order_relaxed);
}

uint64_t badsink_connections(const struct badsink *b)
{
    return atomic_load_explicit(&b->connections, memory_order_relaxed);
}
