/*
 * loadgen — see loadgen.h. Main thread only.
 *
 * Slots: one per connection. A slot is FREE, BUSY (its easy handle is in the
 * multi handle) or PARKED (its event waits for a retry after a 503 or a
 * transport error; the body stays in the slot so the retry is byte-identical).
 * At most `connections` events are in flight or parked, so memory is fixed.
 *
 * Timing: at a set rate, event n is scheduled at start + n / rate and its
 * latency counts from that time, not from when a slot became free — a slow
 * server then shows up as latency instead of silently lowering the offered
 * load (coordinated omission). A timerfd armed for the next scheduled send or
 * retry is passed to curl_multi_poll, so the loop wakes on time without
 * spinning and without millisecond rounding.
 */
#include "loadgen.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "bclock.h"
#include "payload.h"

#define REQUEST_TIMEOUT_MS 10000L
#define CONNECT_TIMEOUT_MS 3000L
#define POLL_MAX_MS 100 /* upper bound on one wait, so *stop is seen quickly */
#define RESP_CAP 256    /* response body bytes kept per slot */
#define BACKOFF_FIRST_US 50000
#define BACKOFF_MAX_US 1000000

enum slot_state { SLOT_FREE, SLOT_BUSY, SLOT_PARKED };

struct slot {
    CURL *easy;
    enum slot_state state;
    uint32_t seq;
    int attempt;
    int64_t due_us; /* PARKED: when to retry */
    size_t body_len;
    char *body;
    size_t resp_len;
    char resp[RESP_CAP];
};

struct loadgen {
    const struct bench_opts *o;
    struct tracker *t;
    struct loadgen_result *r;
    const char *runid;
    CURLM *multi;
    struct curl_slist *headers;
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
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct slot *s = userdata;
    size_t n = size * nmemb;
    size_t room = RESP_CAP - 1 - s->resp_len;
    size_t take = n < room ? n : room;
    memcpy(s->resp + s->resp_len, data, take);
    s->resp_len += take;
    s->resp[s->resp_len] = '\0';
    return n;
}

static int slot_setup(struct loadgen *lg, struct slot *s)
{
    s->body = malloc(lg->body_cap);
    s->easy = curl_easy_init();
    if (s->body == NULL || s->easy == NULL)
        return -1;
    CURL *e = s->easy;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_URL, lg->o->url) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, lg->headers) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, s) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, s) != CURLE_OK;
    return bad ? -1 : 0;
}

static void loadgen_cleanup(struct loadgen *lg)
{
    for (int i = 0; lg->slots != NULL && i < lg->nslots; i++) {
        struct slot *s = &lg->slots[i];
        if (s->easy != NULL) {
            if (s->state == SLOT_BUSY)
                curl_multi_remove_handle(lg->multi, s->easy);
            curl_easy_cleanup(s->easy);
        }
        free(s->body);
    }
    free(lg->slots);
    free(lg->free_idx);
    if (lg->multi != NULL)
        curl_multi_cleanup(lg->multi);
    curl_slist_free_all(lg->headers);
    if (lg->timer_fd >= 0)
        close(lg->timer_fd);
}

static int loadgen_init(struct loadgen *lg)
{
    int n = lg->o->connections;
    lg->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    lg->multi = curl_multi_init();
    /* No "Expect: 100-continue" round trip and no default Accept header. */
    static const char *const hdrs[] = {"Content-Type: application/json", "Expect:", "Accept:"};
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        struct curl_slist *h = curl_slist_append(lg->headers, hdrs[i]);
        if (h == NULL)
            return -1;
        lg->headers = h;
    }
    lg->slots = calloc((size_t)n, sizeof(*lg->slots));
    lg->free_idx = calloc((size_t)n, sizeof(*lg->free_idx));
    if (lg->timer_fd < 0 || lg->multi == NULL || lg->slots == NULL || lg->free_idx == NULL)
        return -1;
    lg->nslots = n;
    size_t target = lg->o->payload_bytes + 1;
    lg->body_cap = target > PAYLOAD_MIN_CAP ? target : PAYLOAD_MIN_CAP;
    for (int i = 0; i < n; i++) {
        if (slot_setup(lg, &lg->slots[i]) != 0)
            return -1;
        lg->free_idx[lg->nfree++] = n - 1 - i;
    }
    int bad = 0;
    bad |= curl_multi_setopt(lg->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)n) != CURLM_OK;
    bad |= curl_multi_setopt(lg->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)n) != CURLM_OK;
    bad |= curl_multi_setopt(lg->multi, CURLMOPT_MAXCONNECTS, (long)n) != CURLM_OK;
    return bad ? -1 : 0;
}

static int64_t sched_of(const struct loadgen *lg, uint32_t seq)
{
    return lg->start_us + (int64_t)((double)seq * 1e6 / lg->o->rate);
}

static int slot_submit(struct loadgen *lg, struct slot *s)
{
    s->resp_len = 0;
    s->resp[0] = '\0';
    s->attempt++;
    lg->r->attempts++;
    if (s->attempt > 1)
        lg->r->retries++;
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)s->body_len);
    if (curl_multi_add_handle(lg->multi, s->easy) != CURLM_OK)
        return -1;
    s->state = SLOT_BUSY;
    return 0;
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
    while (lg->nfree > 0 && lg->next_seq < lg->limit) {
        uint32_t seq = lg->next_seq;
        int64_t sched = now;
        if (lg->o->rate > 0) {
            sched = sched_of(lg, seq);
            if (sched > now || sched >= lg->stop_send_us)
                break;
        }
        struct slot *s = &lg->slots[lg->free_idx[--lg->nfree]];
        s->seq = seq;
        s->attempt = 0;
        s->body_len = payload_format(s->body, lg->body_cap, lg->runid, lg->o->domain, seq,
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
        if (slot_submit(lg, s) != 0) {
            fprintf(stderr, "bench: curl_multi_add_handle failed\n");
            return -1;
        }
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

static void complete(struct loadgen *lg, struct slot *s, CURLcode res, int64_t now)
{
    struct loadgen_result *r = lg->r;
    curl_multi_remove_handle(lg->multi, s->easy);
    if (res != CURLE_OK) {
        r->conn_errors++;
        if (res == CURLE_OPERATION_TIMEDOUT)
            r->timeouts++;
        snprintf(r->last_error, sizeof(r->last_error), "%s", curl_easy_strerror(res));
        park_or_fail(lg, s, now);
        return;
    }
    long status = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status > 0 && status < LOADGEN_STATUS_MAX)
        r->status[status]++;
    if (status == 202) {
        if (tracker_mark_accepted(lg->t, s->seq)) {
            r->accepted++;
            hist_record(&r->ingress, now - tracker_sched_us(lg->t, s->seq));
        }
        if (strstr(s->resp, "\"duplicate\":true") != NULL)
            r->duplicate_acks++;
        slot_release(lg, s);
        return;
    }
    if (status >= 500) {
        r->rejected_5xx++;
        snprintf(r->last_error, sizeof(r->last_error), "HTTP %ld %.120s", status, s->resp);
    } else if (status >= 400) {
        r->rejected_4xx++;
    } else {
        r->other_status++;
    }
    if (status == 503)
        park_or_fail(lg, s, now);
    else {
        r->failed++;
        slot_release(lg, s);
    }
}

static void read_completions(struct loadgen *lg)
{
    CURLMsg *msg;
    int left = 0;
    int64_t now = bclock_now_us();
    while ((msg = curl_multi_info_read(lg->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        complete(lg, (struct slot *)(void *)priv, msg->data.result, now);
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
            if (slot_submit(lg, s) != 0) {
                lg->r->failed++;
                slot_release(lg, s);
            }
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
    lg->r->capacity_reached = lg->o->count == 0 && lg->next_seq >= tracker_capacity(lg->t);
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

static int run_loop(struct loadgen *lg, const volatile sig_atomic_t *stop)
{
    for (;;) {
        int64_t now = bclock_now_us();
        update_sending(lg, now, *stop != 0);
        int64_t wake = unpark(lg, now);
        if (!lg->sending_done && start_new(lg, now) != 0)
            return -1;
        int running = 0;
        if (curl_multi_perform(lg->multi, &running) != CURLM_OK)
            return -1;
        read_completions(lg);
        int busy = lg->nslots - lg->nfree - lg->nparked;
        if (lg->sending_done && busy == 0 && lg->nparked == 0)
            return 0;
        if (*stop)
            return 0; /* abandon what is in flight; cleanup removes the handles */
        if (!lg->sending_done) {
            if (lg->nfree > 0 && lg->o->rate > 0 && lg->next_seq < lg->limit) {
                int64_t due = sched_of(lg, lg->next_seq);
                wake = due < wake ? due : wake;
            }
            wake = lg->stop_send_us < wake ? lg->stop_send_us : wake;
        } else if (lg->nparked > 0 && lg->retry_end_us < wake) {
            wake = lg->retry_end_us;
        }
        arm_timer(lg, wake);
        struct curl_waitfd tfd = {.fd = lg->timer_fd, .events = CURL_WAIT_POLLIN};
        /* Unthrottled with free slots: new transfers are already due, don't wait. */
        int wait_ms = (lg->nfree > 0 && lg->o->rate == 0 && !lg->sending_done) ? 0 : POLL_MAX_MS;
        if (curl_multi_poll(lg->multi, &tfd, 1, wait_ms, NULL) != CURLM_OK)
            return -1;
        if (tfd.revents != 0) {
            uint64_t expirations;
            ssize_t ignored = read(lg->timer_fd, &expirations, sizeof(expirations));
            (void)ignored;
        }
    }
}

int loadgen_run(const struct bench_opts *o, struct tracker *t, const char *runid,
                const volatile sig_atomic_t *stop, struct loadgen_result *r)
{
    memset(r, 0, sizeof(*r));
    hist_init(&r->ingress);
    struct loadgen lg = {.o = o, .t = t, .r = r, .runid = runid, .timer_fd = -1};
    int result = -1;
    if (loadgen_init(&lg) != 0) {
        fprintf(stderr, "bench: cannot set up libcurl (out of memory?)\n");
        goto out;
    }
    lg.limit = o->count > 0 ? o->count : tracker_capacity(t);
    if (lg.limit > tracker_capacity(t))
        lg.limit = tracker_capacity(t);
    lg.start_us = bclock_now_us(); /* the schedule starts now, not at set-up */
    lg.stop_send_us = o->duration_s > 0 ? lg.start_us + (int64_t)(o->duration_s * 1e6) : INT64_MAX;
    lg.retry_end_us = INT64_MAX;
    result = run_loop(&lg, stop);
    if (result != 0)
        fprintf(stderr, "bench: libcurl multi loop failed\n");
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
