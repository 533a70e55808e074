/*
 * esl_conn — see esl_conn.h.
 *
 * The node thread owns the socket, the parser and the read buffer. Other threads
 * only read the stats (under `lock`) and ask it to stop (the stop pipe wakes its
 * poll). A session is one TCP connection: handshake, then the read loop; whatever
 * ends it (error, peer, stop) returns a reason, and the outer loop decides to retry.
 */
#include "sources/esl/esl_conn.h"

#include "core/clock.h"
#include "config/config.h"
#include "sources/esl/esl_event.h"
#include "core/log.h"
#include "sources/heartbeat.h"
#include "sources/reconnect.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define IDLE_TICK_MS 100

struct esl_conn {
    const struct esl_node *node;
    struct esl_conn_handlers handlers;
    pthread_t thread;
    bool running; /* thread started and not joined (owner thread only) */
    int stop_pipe[2];
    struct esl_parser *parser;

    pthread_mutex_t lock; /* guards stats */
    struct esl_conn_stats stats;
    /* One log allowance per kind of trouble (the state it leaves the connection in):
     * refused connections while FreeSWITCH restarts must not use up the allowance of
     * the "wrong esl password?" line that follows. */
    struct log_ratelimit log_rl[ESL_STATE_STOPPED + 1];
};

/* Why a session ended. */
enum end_reason { END_STOP, END_RETRY };

struct session {
    int fd;
    char buf[READ_CHUNK];
    size_t len, pos;
    struct heartbeat heartbeat; /* the last data from the peer */
};

static const char *const state_names[] = {
    [ESL_STATE_CONNECTING] = "connecting",     [ESL_STATE_AUTHENTICATING] = "authenticating",
    [ESL_STATE_SUBSCRIBING] = "subscribing",   [ESL_STATE_CONNECTED] = "connected",
    [ESL_STATE_AUTH_FAILED] = "auth_failed",   [ESL_STATE_REJECTED] = "rejected",
    [ESL_STATE_DISCONNECTED] = "disconnected", [ESL_STATE_STOPPED] = "stopped",
};

const char *esl_conn_state_name(enum esl_conn_state state)
{
    return state <= ESL_STATE_STOPPED ? state_names[state] : "unknown";
}

static void set_state(struct esl_conn *c, enum esl_conn_state state)
{
    pthread_mutex_lock(&c->lock);
    c->stats.state = state;
    c->stats.connected_since_ms = state == ESL_STATE_CONNECTED ? clock_wall_ms() : 0;
    pthread_mutex_unlock(&c->lock);
}

/* Records the reason a session failed and logs it (rate-limited for storms). */
static void fail(struct esl_conn *c, enum esl_conn_state state, enum log_level level,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail(struct esl_conn *c, enum esl_conn_state state, enum log_level level,
                 const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->lock);
    c->stats.state = state;
    c->stats.connected_since_ms = 0;
    snprintf(c->stats.last_error, sizeof c->stats.last_error, "%s", msg);
    pthread_mutex_unlock(&c->lock);
    int suppressed = 0;
    if (log_ratelimit_ok(&c->log_rl[state], 5, 60000, &suppressed))
        log_at(level, "esl", "node %s (%s:%d): %s (%d similar suppressed)", c->node->name,
               c->node->host, c->node->port, msg, suppressed);
}

static void count(struct esl_conn *c, uint64_t *field)
{
    pthread_mutex_lock(&c->lock);
    (*field)++;
    pthread_mutex_unlock(&c->lock);
}

static bool stop_requested(const struct esl_conn *c)
{
    struct pollfd p = {.fd = c->stop_pipe[0], .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* Returns a connected socket, or -1 with the reason recorded. */
static int connect_to(struct esl_conn *c)
{
    const struct esl_node *node = c->node;
    char port[16];
    snprintf(port, sizeof port, "%d", node->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(node->host, port, &hints, &res);
    if (rc != 0) {
        fail(c, ESL_STATE_DISCONNECTED, LOG_LEVEL_WARN, "cannot resolve host: %s",
             gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    const char *why = "no address";
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            struct pollfd p[2] = {{.fd = fd, .events = POLLOUT},
                                  {.fd = c->stop_pipe[0], .events = POLLIN}};
            int n = poll(p, 2, (int)node->connect_timeout_ms);
            int err = 0;
            socklen_t len = sizeof err;
            if (n > 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP)) &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                break;
            why = n == 0 ? "connect timed out" : strerror(err ? err : ECONNREFUSED);
        } else {
            why = strerror(errno);
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fail(c, ESL_STATE_DISCONNECTED, LOG_LEVEL_WARN, "cannot connect: %s", why);
        return -1;
    }
    /* Back to blocking for the short command writes; a send timeout bounds them. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = (time_t)(node->connect_timeout_ms / 1000),
                         .tv_usec = (suseconds_t)(node->connect_timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static bool send_command(struct esl_conn *c, int fd, const char *cmd, const char *shown)
{
    size_t len = strlen(cmd);
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, cmd + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fail(c, ESL_STATE_DISCONNECTED, LOG_LEVEL_WARN, "cannot send %s: %s", shown,
                 n < 0 ? strerror(errno) : "connection closed");
            return false;
        }
        off += (size_t)n;
    }
    return true;
}

/*
 * The next frame from the socket, waiting until deadline_ms (monotonic). Returns NULL
 * when the session must end: *reason says whether to stop or retry (already logged).
 */
static struct esl_frame *next_frame(struct esl_conn *c, struct session *s, int64_t deadline_ms,
                                    const char *waiting_for, enum end_reason *reason)
{
    *reason = END_RETRY;
    for (;;) {
        while (s->pos < s->len) {
            size_t consumed = 0;
            struct esl_frame *frame = NULL;
            enum esl_status st =
                esl_parser_feed(c->parser, s->buf + s->pos, s->len - s->pos, &consumed, &frame);
            s->pos += consumed;
            if (st == ESL_FRAME)
                return frame;
            if (st == ESL_ERROR) {
                count(c, &c->stats.protocol_errors);
                fail(c, ESL_STATE_DISCONNECTED, LOG_LEVEL_ERROR, "protocol error: %s",
                     esl_parser_error(c->parser));
                return NULL;
            }
        }
        int64_t now = clock_mono_ms();
        if (now >= deadline_ms) {
            fail(c, ESL_STATE_DISCONNECTED, LOG_LEVEL_WARN, "no data for %lld ms while %s",
                 (long long)heartbeat_silence_ms(&s->heartbeat, now), waiting_for);
            return NULL;
        }
        /* (waiting_for names the timeout; a closed or failed socket says so itself.) */
        int64_t wait = deadline_ms - now;
        struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN},
                              {.fd = c->stop_pipe[0], .events = POLLIN}};
        int n = poll(p, 2, (int)(wait < IDLE_TICK_MS ? wait : IDLE_TICK_MS));
        if (n < 0 && errno != EINTR) {
            fail(c, ESL_STATE_DISCONNECTED, LOG_LEVEL_WARN, "poll: %s", strerror(errno));
            return NULL;
        }
        if (p[1].revents) {
            *reason = END_STOP;
            return NULL;
        }
        if (n > 0 && p[0].revents) {
            ssize_t got = read(s->fd, s->buf, sizeof s->buf);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                bool cut = esl_parser_mid_frame(c->parser);
                fail(c, ESL_STATE_DISCONNECTED, LOG_LEVEL_WARN, "connection %s%s",
                     got == 0 ? "closed by FreeSWITCH" : strerror(errno),
                     cut ? " in the middle of a frame (the partial frame was discarded)" : "");
                return NULL;
            }
            s->len = (size_t)got;
            s->pos = 0;
            heartbeat_seen(&s->heartbeat);
        }
        if (c->handlers.on_idle)
            c->handlers.on_idle(c->handlers.closure);
    }
}

static bool is_type(const struct esl_frame *f, const char *type)
{
    return strcasecmp(f->content_type, type) == 0;
}

/* Handles a frame of the read loop. Returns false when the session must end. */
static bool handle_frame(struct esl_conn *c, const struct esl_frame *f)
{
    if (is_type(f, "text/event-plain") || is_type(f, "text/event-json")) {
        char err[160] = "";
        struct esl_event *ev = esl_event_from_frame(f, err, sizeof err);
        if (!ev) {
            count(c, &c->stats.protocol_errors);
            log_warn("esl", "node %s: malformed event skipped: %s", c->node->name, err);
            return true;
        }
        count(c, &c->stats.events_received);
        c->handlers.on_event(c->handlers.closure, ev);
        esl_event_free(ev);
        return true;
    }
    if (is_type(f, "log/data")) {
        if (c->handlers.on_log)
            c->handlers.on_log(c->handlers.closure, f);
        return true;
    }
    if (is_type(f, "text/disconnect-notice")) {
        fail(c, ESL_STATE_DISCONNECTED, LOG_LEVEL_WARN, "FreeSWITCH disconnected us: %.120s",
             f->body ? f->body : "");
        return false;
    }
    if (is_type(f, "text/rude-rejection")) {
        fail(c, ESL_STATE_REJECTED, LOG_LEVEL_ERROR,
             "refused by FreeSWITCH (event socket ACL?): %.120s", f->body ? f->body : "");
        return false;
    }
    log_debug("esl", "node %s: ignored frame of type %s", c->node->name, f->content_type);
    return true;
}

/* Waits for the reply to a command, handling any event that arrives first. */
static bool expect_ok(struct esl_conn *c, struct session *s, const char *what,
                      enum end_reason *reason)
{
    int64_t deadline = clock_mono_ms() + c->node->connect_timeout_ms;
    for (;;) {
        struct esl_frame *f = next_frame(c, s, deadline, what, reason);
        if (!f)
            return false;
        if (is_type(f, "command/reply") || is_type(f, "api/response")) {
            const char *reply = esl_frame_get(f, "Reply-Text");
            if (!reply)
                reply = f->body ? f->body : "";
            bool ok = strncmp(reply, "+OK", 3) == 0;
            if (!ok) {
                bool auth = strcmp(what, "authenticating") == 0;
                fail(c, auth ? ESL_STATE_AUTH_FAILED : ESL_STATE_DISCONNECTED, LOG_LEVEL_ERROR,
                     "%s failed: %.100s%s", what, reply, auth ? " (wrong esl password?)" : "");
            }
            esl_frame_free(f);
            return ok;
        }
        bool go_on = handle_frame(c, f);
        esl_frame_free(f);
        if (!go_on)
            return false;
    }
}

/* The subscription commands: "event plain A B C", filters, log level. */
static bool subscribe(struct esl_conn *c, struct session *s, enum end_reason *reason)
{
    const struct esl_node *node = c->node;
    size_t cap = 80;
    for (size_t i = 0; i < node->event_count; i++)
        cap += strlen(node->events[i]) + 1;
    char *cmd = malloc(cap);
    if (!cmd)
        return false;
    size_t o =
        (size_t)snprintf(cmd, cap, "event %s", node->format == ESL_FORMAT_JSON ? "json" : "plain");
    /* mod_event_socket reads every word after CUSTOM as a subclass: plain names go
     * first, then one CUSTOM followed by all subclasses. */
    bool custom = false;
    for (size_t i = 0; i < node->event_count; i++) {
        if (strncmp(node->events[i], "CUSTOM", 6) == 0)
            custom = true;
        else
            o += (size_t)snprintf(cmd + o, cap - o, " %s", node->events[i]);
    }
    if (custom) {
        o += (size_t)snprintf(cmd + o, cap - o, " CUSTOM");
        for (size_t i = 0; i < node->event_count; i++)
            if (strncmp(node->events[i], "CUSTOM ", 7) == 0)
                o += (size_t)snprintf(cmd + o, cap - o, " %s", node->events[i] + 7);
    }
    snprintf(cmd + o, cap - o, "\n\n");
    bool ok = send_command(c, s->fd, cmd, "the event subscription") &&
              expect_ok(c, s, "subscribing to events", reason);
    free(cmd);
    for (size_t i = 0; ok && i < node->filter_count; i++) {
        char line[1100];
        snprintf(line, sizeof line, "filter %s\n\n", node->filters[i]);
        ok = send_command(c, s->fd, line, "a filter") && expect_ok(c, s, "adding a filter", reason);
    }
    if (ok && node->logs) {
        char line[64];
        snprintf(line, sizeof line, "log %s\n\n", node->logs);
        ok = send_command(c, s->fd, line, "the log level") &&
             expect_ok(c, s, "enabling logs", reason);
    }
    return ok;
}

/* One connection: handshake, then frames until it ends. */
static enum end_reason run_session(struct esl_conn *c, int fd, bool *subscribed)
{
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return END_RETRY;
    s->fd = fd;
    heartbeat_start(&s->heartbeat, c->node->heartbeat_timeout_ms);
    enum end_reason reason = END_RETRY;
    esl_parser_reset(c->parser);

    set_state(c, ESL_STATE_AUTHENTICATING);
    struct esl_frame *f = next_frame(c, s, clock_mono_ms() + c->node->connect_timeout_ms,
                                     "waiting for the auth challenge", &reason);
    if (!f)
        goto out;
    bool challenged = is_type(f, "auth/request");
    if (!challenged) {
        handle_frame(c, f); /* a rude rejection arrives instead of the challenge */
        if (!is_type(f, "text/rude-rejection"))
            fail(c, ESL_STATE_DISCONNECTED, LOG_LEVEL_ERROR, "expected auth/request, got %.60s",
                 f->content_type);
    }
    esl_frame_free(f);
    if (!challenged)
        goto out;

    char auth[600];
    snprintf(auth, sizeof auth, "auth %s\n\n", c->node->password);
    if (!send_command(c, fd, auth, "auth") || !expect_ok(c, s, "authenticating", &reason))
        goto out;
    set_state(c, ESL_STATE_SUBSCRIBING);
    if (!subscribe(c, s, &reason))
        goto out;

    set_state(c, ESL_STATE_CONNECTED);
    *subscribed = true;
    log_info("esl", "node %s: connected to %s:%d and subscribed (%zu event names)", c->node->name,
             c->node->host, c->node->port, c->node->event_count);
    for (;;) {
        f = next_frame(c, s, heartbeat_deadline_ms(&s->heartbeat),
                       "waiting for events (heartbeat timeout: dead peer?)", &reason);
        if (!f)
            break;
        bool go_on = handle_frame(c, f);
        esl_frame_free(f);
        if (!go_on)
            break;
    }
out:
    free(s);
    return reason;
}

static void *conn_main(void *arg)
{
    struct esl_conn *c = arg;
    struct reconnect backoff;
    reconnect_init(&backoff, c->node->reconnect_initial_ms, c->node->reconnect_max_ms);
    for (;;) {
        set_state(c, ESL_STATE_CONNECTING);
        int fd = connect_to(c);
        enum end_reason reason = END_RETRY;
        if (fd >= 0) {
            bool subscribed = false;
            reason = run_session(c, fd, &subscribed);
            close(fd);
            if (subscribed) /* it got all the way: start the next backoff afresh */
                reconnect_succeeded(&backoff);
        }
        if (reason == END_STOP || stop_requested(c))
            break;
        pthread_mutex_lock(&c->lock);
        if (c->stats.state == ESL_STATE_CONNECTED)
            c->stats.state = ESL_STATE_DISCONNECTED;
        pthread_mutex_unlock(&c->lock);
        count(c, &c->stats.reconnects);

        if (reconnect_wait(reconnect_next_delay_ms(&backoff), c->stop_pipe[0], IDLE_TICK_MS,
                           c->handlers.on_idle, c->handlers.closure))
            break;
    }
    set_state(c, ESL_STATE_STOPPED);
    return NULL;
}

struct esl_conn *esl_conn_start(const struct esl_node *node,
                                const struct esl_conn_handlers *handlers)
{
    struct esl_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->node = node;
    c->handlers = *handlers;
    c->stop_pipe[0] = c->stop_pipe[1] = -1;
    pthread_mutex_init(&c->lock, NULL);
    c->parser = esl_parser_new(node->max_frame_bytes);
    if (!c->parser || pipe2(c->stop_pipe, O_CLOEXEC) != 0 ||
        pthread_create(&c->thread, NULL, conn_main, c) != 0) {
        log_error("esl", "node %s: cannot start its thread", node->name);
        if (c->stop_pipe[0] >= 0) {
            close(c->stop_pipe[0]);
            close(c->stop_pipe[1]);
        }
        esl_parser_free(c->parser);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    c->running = true;
    return c;
}

void esl_conn_stop(struct esl_conn *c)
{
    if (!c || !c->running)
        return;
    ssize_t n = write(c->stop_pipe[1], "x", 1);
    (void)n;
    pthread_join(c->thread, NULL);
    c->running = false;
}

void esl_conn_free(struct esl_conn *c)
{
    if (!c)
        return;
    esl_conn_stop(c);
    close(c->stop_pipe[0]);
    close(c->stop_pipe[1]);
    esl_parser_free(c->parser);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void esl_conn_get_stats(struct esl_conn *c, struct esl_conn_stats *out)
{
    if (!c) { /* not started (or its start failed) */
        *out = (struct esl_conn_stats){.state = ESL_STATE_STOPPED};
        return;
    }
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}
