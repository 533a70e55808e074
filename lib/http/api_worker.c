/*
 * api_worker — see api_worker.h. One mutex guards the lanes (a ring each) and the
 * running counts; the workers sleep on one condition variable (monotonic clock), with
 * a timeout when a queued job is blocked by its lane's cap, so that its queue deadline
 * is kept. api_sched decides what a free worker takes. Jobs run without the lock.
 *
 * When every worker is busy nobody is there to notice a deadline, so one more thread,
 * the reaper, does only that: it sleeps (on a condition variable of its own, so it
 * never swallows a wake-up meant for a worker) until the oldest queued job's deadline
 * and answers 503 for the jobs that reached it. So no job waits longer than
 * queue_timeout_ms for a worker, whatever the others are doing.
 */
#include "http/api_worker.h"

#include "http/api_sched.h"
#include "core/clock.h"
#include "http/http_server.h"
#include "core/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct api_job {
    api_job_fn fn;
    void *job;
    struct http_request *req;
    int64_t queued_ms;
};

struct lane {
    struct api_job *ring;
    size_t cap, head, count;
    unsigned running, max_running;
};

struct api_worker {
    pthread_t *threads;
    unsigned thread_count; /* started */
    pthread_t reaper;
    bool reaper_started;
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* the workers */
    pthread_cond_t reap_wake; /* the reaper */
    bool stopping;            /* no new jobs; workers exit once the queues are empty */
    bool reaper_stop;         /* set once the workers have exited */
    int64_t queue_timeout_ms;
    struct lane lanes[API_LANE_COUNT];
};

static const char *const lane_names[API_LANE_COUNT] = {"light", "scan", "dead-letter"};

static void answer_busy(enum api_lane lane, struct http_request *req, bool timed_out)
{
    static struct log_ratelimit rl;
    int suppressed = 0;
    if (log_ratelimit_ok(&rl, 5, 10000, &suppressed))
        log_warn("api", "%s request answered 503: %s (%d similar suppressed)", lane_names[lane],
                 timed_out ? "no worker within api.queue_timeout" : "its queue is full",
                 suppressed);
    const char *detail =
        lane == API_LANE_SCAN  ? "too many scans in progress; retry shortly (or narrow the scan)"
        : lane == API_LANE_DLQ ? "the dead-letter stream is busy with other requests; retry shortly"
                               : "too many API requests in progress; retry shortly";
    if (timed_out)
        http_request_complete_error(req, 503, "busy", detail);
    else
        http_respond_error(req, 503, "busy", detail);
}

/* Lock held on entry. `expire_only`: as if no lane could run (the reaper's view). */
static struct api_sched_pick pick(const struct api_worker *w, int64_t now, bool expire_only)
{
    struct api_sched_lane s[API_LANE_COUNT];
    for (int i = 0; i < API_LANE_COUNT; i++) {
        const struct lane *l = &w->lanes[i];
        s[i] = (struct api_sched_lane){.queued = l->count,
                                       .running = l->running,
                                       .max_running = expire_only ? 0 : l->max_running,
                                       .head_since_ms = l->count ? l->ring[l->head].queued_ms : 0};
    }
    return api_sched_pick(s, API_LANE_COUNT, now, w->queue_timeout_ms);
}

static bool all_empty(const struct api_worker *w)
{
    for (int i = 0; i < API_LANE_COUNT; i++)
        if (w->lanes[i].count)
            return false;
    return true;
}

/* Lock held on entry; waits on `cond` for a signal or until `wake_ms` (monotonic;
 * 0 = no deadline). */
static void sleep_until(struct api_worker *w, pthread_cond_t *cond, int64_t wake_ms)
{
    if (wake_ms <= 0) {
        pthread_cond_wait(cond, &w->lock);
        return;
    }
    struct timespec ts = {.tv_sec = (time_t)(wake_ms / 1000),
                          .tv_nsec = (long)(wake_ms % 1000) * 1000000L};
    int rc = pthread_cond_timedwait(cond, &w->lock, &ts);
    (void)rc; /* ETIMEDOUT or a wake-up: either way, look again */
}

/* Lock held on entry: takes the head of `lane` off its queue. */
static struct api_job pop(struct lane *l)
{
    struct api_job j = l->ring[l->head];
    l->head = (l->head + 1) % l->cap;
    l->count--;
    return j;
}

static void *reaper_main(void *arg)
{
    struct api_worker *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->reaper_stop) {
        struct api_sched_pick p = pick(w, clock_mono_ms(), true);
        if (p.lane < 0) {
            sleep_until(w, &w->reap_wake, p.wake_ms);
            continue;
        }
        struct api_job j = pop(&w->lanes[p.lane]);
        pthread_mutex_unlock(&w->lock);
        j.fn(j.job, NULL);
        answer_busy((enum api_lane)p.lane, j.req, true);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void *worker_main(void *arg)
{
    struct api_worker *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        struct api_sched_pick p = pick(w, clock_mono_ms(), false);
        if (p.lane < 0) {
            if (w->stopping && all_empty(w))
                break;
            sleep_until(w, &w->wake, p.wake_ms);
            continue;
        }
        struct lane *l = &w->lanes[p.lane];
        struct api_job j = pop(l);
        if (!p.expire)
            l->running++;
        /* Someone else looks at what is left (or sleeps until its deadline): this
         * worker may be busy for a while. */
        if (!all_empty(w))
            pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        if (p.expire) {
            j.fn(j.job, NULL);
            answer_busy((enum api_lane)p.lane, j.req, true);
        } else {
            j.fn(j.job, j.req);
        }
        pthread_mutex_lock(&w->lock);
        if (!p.expire)
            l->running--;
    }
    pthread_cond_broadcast(&w->wake); /* the others may be waiting for the same end */
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct api_worker *api_worker_new(const struct api_worker_options *opts)
{
    if (opts->max_scans < 1 || opts->workers < opts->max_scans + 2 || opts->queue_timeout_ms <= 0) {
        log_error("api",
                  "worker pool: %u workers cannot hold %u scans, the dead-letter lane "
                  "and a light request",
                  opts->workers, opts->max_scans);
        return NULL;
    }
    struct api_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->queue_timeout_ms = opts->queue_timeout_ms;
    const size_t caps[API_LANE_COUNT] = {API_WORKER_LIGHT_QUEUE, API_WORKER_SCAN_QUEUE,
                                         API_WORKER_DLQ_QUEUE};
    const unsigned running[API_LANE_COUNT] = {opts->workers, opts->max_scans, 1};
    bool ok = true;
    for (int i = 0; i < API_LANE_COUNT; i++) {
        w->lanes[i].cap = caps[i];
        w->lanes[i].max_running = running[i];
        w->lanes[i].ring = calloc(caps[i], sizeof *w->lanes[i].ring);
        ok = ok && w->lanes[i].ring;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* clock_mono_ms() deadlines */
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, &ca);
    pthread_cond_init(&w->reap_wake, &ca);
    pthread_condattr_destroy(&ca);
    w->threads = ok ? calloc(opts->workers, sizeof *w->threads) : NULL;
    for (unsigned i = 0; w->threads && i < opts->workers; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0)
            break;
        w->thread_count++;
    }
    if (w->thread_count == opts->workers)
        w->reaper_started = pthread_create(&w->reaper, NULL, reaper_main, w) == 0;
    if (!w->reaper_started) {
        log_error("api", "could not start the API workers");
        api_worker_free(w);
        return NULL;
    }
    return w;
}

void api_worker_free(struct api_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    for (unsigned i = 0; i < w->thread_count; i++)
        pthread_join(w->threads[i], NULL);
    /* The workers left the queues empty (and nothing can be queued any more). */
    pthread_mutex_lock(&w->lock);
    w->reaper_stop = true;
    pthread_cond_signal(&w->reap_wake);
    pthread_mutex_unlock(&w->lock);
    if (w->reaper_started)
        pthread_join(w->reaper, NULL);
    pthread_cond_destroy(&w->reap_wake);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    for (int i = 0; i < API_LANE_COUNT; i++)
        free(w->lanes[i].ring);
    free(w->threads);
    free(w);
}

void api_worker_submit(struct api_worker *w, enum api_lane lane, struct http_request *req,
                       api_job_fn fn, void *job)
{
    struct lane *l = &w->lanes[lane];
    pthread_mutex_lock(&w->lock);
    bool ok = !w->stopping && l->count < l->cap;
    if (ok) {
        l->ring[(l->head + l->count) % l->cap] = (struct api_job){fn, job, req, clock_mono_ms()};
        l->count++;
        http_request_suspend(req);
        pthread_cond_signal(&w->wake);
        if (l->count == 1) /* a new head: the reaper's next deadline may be this one */
            pthread_cond_signal(&w->reap_wake);
    }
    pthread_mutex_unlock(&w->lock);
    if (!ok) {
        fn(job, NULL);
        answer_busy(lane, req, false);
    }
}
