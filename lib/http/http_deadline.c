/*
 * http_deadline — see http_deadline.h.
 *
 * The connections form a doubly linked list under `lock`. Each holds one atomic word,
 * `due`: the deadline in monotonic milliseconds times 4 plus the phase it belongs to
 * (head or body: for the counters and the log), or 0 when exempt. One word, so the HTTP
 * thread can move a connection between phases without the lock and the reaper never
 * sees one phase's deadline with the other's name; the entry itself is only added and
 * removed under the lock.
 */
#include "http/http_deadline.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/stats.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define REAPER_MAX_SLEEP_MS 1000

enum conn_phase { PHASE_NONE, PHASE_HEAD, PHASE_BODY };

struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    bool shut; /* under lock: shut down once */
    _Atomic int64_t due;
    char peer[64];
};

struct http_deadlines {
    struct http_deadline_options o;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct http_conn *head; /* under lock */
    bool stop;              /* under lock */
    bool running;           /* the reaper thread exists */
    pthread_t thread;
};

static void arm(struct http_conn *c, enum conn_phase phase, int64_t timeout_ms)
{
    int64_t due = timeout_ms > 0 ? (clock_mono_ms() + timeout_ms) * 4 + phase : 0;
    atomic_store_explicit(&c->due, due, memory_order_relaxed);
}

static void log_closed(const struct http_deadlines *d, const struct http_conn *c, int phase)
{
    static struct log_ratelimit rl; /* the reaper thread only */
    int suppressed = 0;
    if (!log_ratelimit_ok(&rl, 5, 60000, &suppressed))
        return;
    char limit[32];
    int64_t ms = phase == PHASE_BODY ? d->o.body_timeout_ms : d->o.head_timeout_ms;
    snprintf(limit, sizeof limit, "%lld ms", (long long)ms);
    log_warn("http",
             "closed a connection from %s: its request %s did not arrive in time "
             "(server.request_%s_timeout %s; %d similar suppressed)",
             c->peer, phase == PHASE_BODY ? "body" : "head", phase == PHASE_BODY ? "body" : "head",
             limit, suppressed);
}

/* With the lock held: shuts down what is past due; returns the earliest future deadline
 * (0 = none). */
static int64_t reap(struct http_deadlines *d, int64_t now)
{
    int64_t next = 0;
    for (struct http_conn *c = d->head; c; c = c->next) {
        int64_t word = atomic_load_explicit(&c->due, memory_order_relaxed);
        if (word == 0 || c->shut)
            continue;
        int64_t due = word / 4;
        int phase = (int)(word % 4);
        if (due > now) {
            if (next == 0 || due < next)
                next = due;
            continue;
        }
        c->shut = true;
        if (shutdown(c->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
            log_debug("http", "shutdown of a slow connection: %s", strerror(errno));
        stats_inc(phase == PHASE_BODY ? STAT_HTTP_SLOW_BODY : STAT_HTTP_SLOW_HEAD);
        log_closed(d, c, phase);
    }
    return next;
}

static void *reaper_main(void *arg)
{
    struct http_deadlines *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!d->stop) {
        int64_t now = clock_mono_ms();
        int64_t next = reap(d, now);
        int64_t wake = now + REAPER_MAX_SLEEP_MS;
        if (next && next < wake)
            wake = next;
        struct timespec ts = {.tv_sec = (time_t)(wake / 1000),
                              .tv_nsec = (long)(wake % 1000) * 1000000L};
        pthread_cond_timedwait(&d->wake, &d->lock, &ts);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

struct http_deadlines *http_deadlines_new(const struct http_deadline_options *o)
{
    struct http_deadlines *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->o = *o;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* clock_mono_ms() is CLOCK_MONOTONIC */
    pthread_cond_init(&d->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&d->lock, NULL);
    if (o->head_timeout_ms <= 0 && o->body_timeout_ms <= 0)
        return d;
    if (pthread_create(&d->thread, NULL, reaper_main, d) != 0) {
        log_error("http", "cannot start the slow-request reaper thread");
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
    }
    d->running = true;
    return d;
}

void http_deadlines_free(struct http_deadlines *d)
{
    if (!d)
        return;
    if (d->running) {
        pthread_mutex_lock(&d->lock);
        d->stop = true;
        pthread_cond_signal(&d->wake);
        pthread_mutex_unlock(&d->lock);
        pthread_join(d->thread, NULL);
    }
    /* Connections still listed (none after MHD_stop_daemon) are not ours to close. */
    while (d->head) {
        struct http_conn *c = d->head;
        d->head = c->next;
        free(c);
    }
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

struct http_conn *http_deadlines_open(struct http_deadlines *d, int fd, const char *peer)
{
    if (!d)
        return NULL;
    struct http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "?");
    atomic_init(&c->due, 0);
    arm(c, PHASE_HEAD, d->o.head_timeout_ms);
    pthread_mutex_lock(&d->lock);
    c->next = d->head;
    if (d->head)
        d->head->prev = c;
    d->head = c;
    pthread_mutex_unlock(&d->lock);
    return c;
}

void http_deadlines_close(struct http_deadlines *d, struct http_conn *c)
{
    if (!d || !c)
        return;
    pthread_mutex_lock(&d->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        d->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&d->lock);
    free(c);
}

void http_deadlines_head_done(struct http_deadlines *d, struct http_conn *c, bool body_follows)
{
    if (!d || !c)
        return;
    arm(c, PHASE_BODY, body_follows ? d->o.body_timeout_ms : 0);
}

void http_deadlines_body_done(struct http_conn *c)
{
    if (c)
        atomic_store_explicit(&c->due, 0, memory_order_relaxed);
}

void http_deadlines_request_done(struct http_deadlines *d, struct http_conn *c)
{
    if (!d || !c)
        return;
    int64_t t = d->o.head_timeout_ms;
    if (t > 0 && d->o.idle_timeout_ms > t)
        t = d->o.idle_timeout_ms;
    arm(c, PHASE_HEAD, t);
}
