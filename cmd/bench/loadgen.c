/*
 * loadgen — see loadgen.h. Main thread only.
 *
 * Transport: plain non-blocking sockets and epoll (httpc + http1), chosen over
 * libcurl multi after measuring both against eventhub on the 2-core target:
 * curl spent 14-18 us of CPU per request (~0.5 core at 26k requests/s, taken
 * from the server being measured); the raw client spends a fraction of that.
 *
 * Slots: one per connection; a slot owns its connection. A slot is FREE, BUSY
 * (a request is in flight on its connection) or PARKED (its event waits for a retry after a 503 or
 * a transport error; the body stays in the slot so the retry is byte-identical). At most
 * `connections` events are in flight or parked, so memory is fixed.
 *
 * Timing: at a set rate, event n is scheduled at start + n / rate and its
 * latency counts from that time, not from when a slot became free — a slow
 * server then shows up as latency instead of silently lowering the offered
 * load (coordinated omission). Rather than one timer wake-up per event, the
 * loop sends every event due within the next EARLY_US in one go; an event
 * sent early counts from its actual send time, so early sends bias no figure:
 * the latency origin is min(scheduled, sent). A timerfd armed EARLY_US before the next scheduled
 * send (or at the next retry) sits in the epoll set, so the loop wakes on time
 * without spinning and without millisecond rounding.
 */
#include "loadgen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "bclock.h"
#include "httpc.h"
#include "payload.h"

#define REQUEST_TIMEOUT_US 10000000 /* connect + send + answer */
#define POLL_MAX_MS 100             /* upper bound on one wait, so *stop is seen quickly */
#define TIMEOUT_SCAN_US 10000       /* how often in-flight deadlines are checked */
#define MAX_EVENTS 256
#define EARLY_US 1000 /* send events due this soon in the same wake-up */
#define BACKOFF_FIRST_US 50000
#define BACKOFF_MAX_US 1000000

enum slot_state { SLOT_FREE, SLOT_BUSY, SLOT_PARKED };

struct slot {
    enum slot_state state;
    uint32_t seq;
    int attempt;
    int64_t due_us; /* PARKED: when to retry; BUSY: request deadline */
    size_t body_len;
    char *body;
    struct httpc_conn conn;
};

struct loadgen {
    const struct bench_opts *o;
    const struct loadgen_plan *p;
    struct tracker *t;
    struct loadgen_result *r;
    struct httpc_target target;
    int epfd;
    struct slot *slots;
    int nslots;
    int *free_idx; /* stack of FREE slot indexes */
    int nfree;
    int nparked;
    size_t body_cap;
    uint32_t next_seq;
    uint64_t limit;       /* events that may be issued */
    int64_t start_us;     /* schedule origin */
    int64_t stop_send_us; /* no new event at or after this time */
    int64_t retry_end_us; /* parked events give up after this */
    bool sending_done;
    int timer_fd;
    int64_t next_timeout_scan;
};

static void loadgen_cleanup(struct loadgen *lg)
{
    for (int i = 0; lg->slots != NULL && i < lg->nslots; i++) {
        struct slot *s = &lg->slots[i];
        lg->r->connects += s->conn.connects;
        httpc_close(&s->conn);
        free(s->body);
    }
    free(lg->slots);
    free(lg->free_idx);
    if (lg->timer_fd >= 0)
        close(lg->timer_fd);
    if (lg->epfd >= 0)
        close(lg->epfd);
}

static int loadgen_init(struct loadgen *lg)
{
    int n = lg->o->connections;
    if (httpc_target_parse(lg->o->url, &lg->target) != 0)
        return -1;
    lg->epfd = epoll_create1(EPOLL_CLOEXEC);
    lg->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    lg->slots = calloc((size_t)n, sizeof(*lg->slots));
    lg->free_idx = calloc((size_t)n, sizeof(*lg->free_idx));
    if (lg->epfd < 0 || lg->timer_fd < 0 || lg->slots == NULL || lg->free_idx == NULL) {
        fprintf(stderr, "bench: cannot set up the load generator: %s\n", strerror(errno));
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL = the timer */
    if (epoll_ctl(lg->epfd, EPOLL_CTL_ADD, lg->timer_fd, &ev) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        httpc_init(&lg->slots[i].conn, lg->epfd, &lg->target, &lg->slots[i]);
    lg->nslots = n; /* from here on cleanup may close every slot's socket */
    size_t target = lg->o->payload_bytes + 1;
    lg->body_cap = target > PAYLOAD_MIN_CAP ? target : PAYLOAD_MIN_CAP;
    for (int i = 0; i < n; i++) {
        struct slot *s = &lg->slots[i];
        s->body = malloc(lg->body_cap);
        if (s->body == NULL) {
            fprintf(stderr, "bench: out of memory\n");
            return -1;
        }
        lg->free_idx[lg->nfree++] = n - 1 - i;
    }
    return 0;
}

static int64_t sched_of(const struct loadgen *lg, uint32_t seq)
{
    return lg->start_us + (int64_t)((double)seq * 1e6 / lg->p->rate);
}

static void complete(struct loadgen *lg, struct slot *s, enum httpc_result res, int64_t now);

static void slot_submit(struct loadgen *lg, struct slot *s, int64_t now)
{
    s->attempt++;
    lg->r->attempts++;
    if (s->attempt > 1)
        lg->r->retries++;
    s->state = SLOT_BUSY;
    s->due_us = now + REQUEST_TIMEOUT_US;
    enum httpc_result res = httpc_start(&s->conn, s->body, s->body_len);
    if (res != HTTPC_PENDING)
        complete(lg, s, res, now);
}

static void slot_release(struct loadgen *lg, struct slot *s)
{
    s->state = SLOT_FREE;
    lg->free_idx[lg->nfree++] = (int)(s - lg->slots);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Issue new events into free slots: all of them when unthrottled, otherwise
 * those whose scheduled time has come. */
static int start_new(struct loadgen *lg, int64_t now)
{
    /* At most one pass over the slots: a slot that fails at once (connection
     * refused) is free again immediately and must not loop here. */
    for (int budget = lg->nslots; budget > 0 && lg->nfree > 0 && lg->next_seq < lg->limit;
         budget--) {
        uint32_t seq = lg->next_seq;
        int64_t sched = now;
        if (lg->p->rate > 0) {
            sched = sched_of(lg, seq);
            if (sched > now + EARLY_US || sched >= lg->stop_send_us)
                break;
            if (sched > now)
                sched = now; /* sent early: latency counts from now */
        }
        struct slot *s = &lg->slots[lg->free_idx[--lg->nfree]];
        s->seq = seq;
        s->attempt = 0;
        const char *domain = lg->p->domains[seq % (uint32_t)lg->p->ndomains];
        s->body_len = payload_format(s->body, lg->body_cap, lg->p->runid, domain, seq,
                                     lg->o->payload_bytes, wall_ms());
        if (s->body_len == 0) {
            fprintf(stderr, "bench: event body does not fit in %zu bytes\n", lg->body_cap);
            return -1;
        }
        tracker_issue(lg->t, seq, sched);
        lg->next_seq++;
        lg->r->sent++;
        lg->r->body_bytes += s->body_len;
        if (lg->r->first_send_us == 0)
            lg->r->first_send_us = sched;
        slot_submit(lg, s, now);
    }
    return 0;
}

static void park_or_fail(struct loadgen *lg, struct slot *s, int64_t now)
{
    if (lg->o->retry_on_error && now < lg->retry_end_us) {
        int64_t backoff = BACKOFF_FIRST_US << (s->attempt < 6 ? s->attempt - 1 : 5);
        s->due_us = now + (backoff < BACKOFF_MAX_US ? backoff : BACKOFF_MAX_US);
        s->state = SLOT_PARKED;
        lg->nparked++;
        return;
    }
    lg->r->failed++;
    slot_release(lg, s);
}

static void complete(struct loadgen *lg, struct slot *s, enum httpc_result res, int64_t now)
{
    struct loadgen_result *r = lg->r;
    const struct httpc_conn *c = &s->conn;
    if (res == HTTPC_FAILED) {
        r->conn_errors++;
        if (c->error != NULL)
            snprintf(r->last_error, sizeof(r->last_error), "%s", c->error);
        else
            snprintf(r->last_error, sizeof(r->last_error), "%s", strerror(c->err_no));
        park_or_fail(lg, s, now);
        return;
    }
    int status = c->resp.status;
    if (status > 0 && status < LOADGEN_STATUS_MAX)
        r->status[status]++;
    if (status == 202) {
        if (tracker_mark_accepted(lg->t, s->seq)) {
            r->accepted++;
            hist_record(&r->ingress, now - tracker_sched_us(lg->t, s->seq));
        }
        if (strstr(c->resp.body, "\"duplicate\":true") != NULL)
            r->duplicate_acks++;
        slot_release(lg, s);
        return;
    }
    if (status >= 500) {
        r->rejected_5xx++;
        snprintf(r->last_error, sizeof(r->last_error), "HTTP %d %.120s", status, c->resp.body);
    } else if (status >= 400) {
        r->rejected_4xx++;
    } else {
        r->other_status++;
    }
    if (status == 503) {
        park_or_fail(lg, s, now);
    } else {
        r->failed++;
        slot_release(lg, s);
    }
}

/* Requests past their deadline fail as timeouts (checked every 10 ms). */
static void expire(struct loadgen *lg, int64_t now)
{
    if (now < lg->next_timeout_scan)
        return;
    lg->next_timeout_scan = now + TIMEOUT_SCAN_US;
    for (int i = 0; i < lg->nslots; i++) {
        struct slot *s = &lg->slots[i];
        if (s->state == SLOT_BUSY && s->due_us <= now) {
            httpc_close(&s->conn);
            lg->r->timeouts++;
            s->conn.error = "request timed out";
            complete(lg, s, HTTPC_FAILED, now);
        }
    }
}

/* Re-submit parked events whose backoff has passed; give up on all of them
 * once the retry window is over. Returns the earliest remaining due time. */
static int64_t unpark(struct loadgen *lg, int64_t now)
{
    int64_t next = INT64_MAX;
    for (int i = 0; lg->nparked > 0 && i < lg->nslots; i++) {
        struct slot *s = &lg->slots[i];
        if (s->state != SLOT_PARKED)
            continue;
        if (now >= lg->retry_end_us) {
            lg->nparked--;
            lg->r->failed++;
            slot_release(lg, s);
        } else if (s->due_us <= now) {
            lg->nparked--;
            slot_submit(lg, s, now);
        } else if (s->due_us < next) {
            next = s->due_us;
        }
    }
    return next;
}

static void update_sending(struct loadgen *lg, int64_t now, bool stop)
{
    if (lg->sending_done)
        return;
    bool done = stop || now >= lg->stop_send_us || lg->next_seq >= lg->limit;
    if (!done)
        return;
    lg->sending_done = true;
    lg->r->sending_stopped_us = now;
    lg->r->capacity_reached = lg->p->count == 0 && lg->next_seq >= tracker_capacity(lg->t);
    int64_t window = stop ? 0 : (int64_t)(lg->o->drain_timeout_s * 1e6);
    lg->retry_end_us = now + window;
}

static void arm_timer(struct loadgen *lg, int64_t at_us)
{
    struct itimerspec its = {0};
    if (at_us != INT64_MAX)
        its.it_value = bclock_us_to_ts(at_us > 0 ? at_us : 1);
    timerfd_settime(lg->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void dispatch(struct loadgen *lg, const struct epoll_event *ev, int64_t now)
{
    struct slot *s = ev->data.ptr;
    if (s == NULL) {
        uint64_t expirations;
        ssize_t ignored = read(lg->timer_fd, &expirations, sizeof(expirations));
        (void)ignored;
        return;
    }
    bool busy = s->state == SLOT_BUSY;
    enum httpc_result res = httpc_on_event(&s->conn, ev->events);
    if (busy && res != HTTPC_PENDING)
        complete(lg, s, res, now);
}

static int64_t next_wake(const struct loadgen *lg, int64_t parked_due)
{
    int64_t wake = parked_due;
    if (!lg->sending_done) {
        if (lg->nfree > 0 && lg->p->rate > 0 && lg->next_seq < lg->limit) {
            int64_t due = sched_of(lg, lg->next_seq) - EARLY_US;
            wake = due < wake ? due : wake;
        }
        wake = lg->stop_send_us < wake ? lg->stop_send_us : wake;
    } else if (lg->nparked > 0 && lg->retry_end_us < wake) {
        wake = lg->retry_end_us;
    }
    return wake;
}

static int run_loop(struct loadgen *lg, const volatile sig_atomic_t *stop)
{
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int64_t now = bclock_now_us();
        update_sending(lg, now, *stop != 0);
        expire(lg, now);
        int64_t parked_due = unpark(lg, now);
        if (!lg->sending_done && start_new(lg, now) != 0)
            return -1;
        int busy = lg->nslots - lg->nfree - lg->nparked;
        if (lg->sending_done && busy == 0 && lg->nparked == 0)
            return 0;
        if (*stop)
            return 0; /* abandon what is in flight; cleanup closes the sockets */
        arm_timer(lg, next_wake(lg, parked_due));
        /* Unthrottled with free slots: new requests are due at once. */
        int wait_ms = lg->nfree > 0 && lg->p->rate == 0 && !lg->sending_done ? 0 : POLL_MAX_MS;
        int n = epoll_wait(lg->epfd, events, MAX_EVENTS, wait_ms);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "bench: epoll_wait: %s\n", strerror(errno));
            return -1;
        }
        now = bclock_now_us();
        for (int i = 0; i < n; i++)
            dispatch(lg, &events[i], now);
    }
}

struct loadgen_plan loadgen_plan_from_opts(const struct bench_opts *o, const char *runid,
                                           const char **domain_slot)
{
    *domain_slot = o->domain;
    return (struct loadgen_plan){.runid = runid,
                                 .domains = domain_slot,
                                 .ndomains = 1,
                                 .count = o->count,
                                 .rate = o->rate,
                                 .duration_s = o->duration_s};
}

int loadgen_run(const struct bench_opts *o, const struct loadgen_plan *plan, struct tracker *t,
                const volatile sig_atomic_t *stop, struct loadgen_result *r)
{
    memset(r, 0, sizeof(*r));
    hist_init(&r->ingress);
    struct loadgen lg = {.o = o, .p = plan, .t = t, .r = r, .timer_fd = -1, .epfd = -1};
    int result = -1;
    if (loadgen_init(&lg) != 0)
        goto out;
    lg.limit = plan->count > 0 ? plan->count : tracker_capacity(t);
    if (lg.limit > tracker_capacity(t))
        lg.limit = tracker_capacity(t);
    lg.start_us = bclock_now_us(); /* the schedule starts now, not at set-up */
    lg.stop_send_us =
        plan->duration_s > 0 ? lg.start_us + (int64_t)(plan->duration_s * 1e6) : INT64_MAX;
    lg.retry_end_us = INT64_MAX;
    result = run_loop(&lg, stop);
    r->interrupted = *stop != 0;
    if (!lg.sending_done)
        r->sending_stopped_us = bclock_now_us();
    /* Events still in flight or parked when the loop ended never got a 202. */
    r->failed += (uint64_t)(lg.nslots - lg.nfree);
out:
    r->end_us = bclock_now_us();
    loadgen_cleanup(&lg);
    return result;
}
