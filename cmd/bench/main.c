/*
 * bench — load generator and webhook sink for eventhub in one process, so the
 * send time and the receipt time come from one monotonic clock.
 *
 * main owns the run: parse options, start the RSS sampler thread (and, for the
 * noisy-neighbour scenario, the bad sink and its backlog), build the tracker and
 * the sinks (one libmicrohttpd thread each), run the load generator on this
 * thread, drain, stop everything, report. Signals only set
 * a volatile sig_atomic_t flag that the load loop and the drain poll read.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bclock.h"
#include "loadgen.h"
#include "noisy.h"
#include "opts.h"
#include "report.h"
#include "rss.h"
#include "sink.h"
#include "tracker.h"

#define DRAIN_POLL_US 5000

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* 8 hex digits, random so that runs never collide in eventhub's duplicate window. */
static void make_runid(char *out, size_t cap)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
        v = (uint32_t)bclock_now_us() ^ (uint32_t)getpid() << 16;
    snprintf(out, cap, "%08x", v);
}

static void sleep_until(int64_t at_us)
{
    struct timespec ts = bclock_us_to_ts(at_us);
    while (!g_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void destroy_sinks(struct sink **sinks, int n)
{
    for (int i = n - 1; i >= 0; i--)
        sink_destroy(sinks[i]);
    free(sinks);
}

static struct sink **start_sinks(const struct bench_opts *o, struct tracker *t, const char *prefix)
{
    struct sink **sinks = calloc((size_t)o->sinks + 1, sizeof(*sinks));
    if (sinks == NULL)
        return NULL;
    for (int i = 0; i < o->sinks; i++) {
        sinks[i] = sink_new(i, o->sink_port + i, t, prefix);
        if (sinks[i] == NULL) {
            destroy_sinks(sinks, i);
            return NULL;
        }
    }
    return sinks;
}

static int run_sink_only(const struct bench_opts *o)
{
    struct sink **sinks = start_sinks(o, NULL, "");
    if (sinks == NULL)
        return 1;
    fprintf(stderr, "bench: %d sink(s) on 127.0.0.1:%d..%d/webhook; SIGINT or SIGTERM stops\n",
            o->sinks, o->sink_port, o->sink_port + o->sinks - 1);
    uint64_t *prev = calloc((size_t)o->sinks, sizeof(*prev));
    uint64_t total = 0;
    int64_t t0 = bclock_now_us();
    for (int sec = 1; prev != NULL && !g_stop; sec++) {
        sleep_until(t0 + (int64_t)sec * 1000000);
        if (g_stop)
            break;
        uint64_t this_sec = 0;
        printf("t=%ds", sec);
        for (int i = 0; i < o->sinks; i++) {
            uint64_t now = sink_requests(sinks[i]);
            printf(" %d:%llu", sink_port(sinks[i]), (unsigned long long)(now - prev[i]));
            this_sec += now - prev[i];
            prev[i] = now;
        }
        total += this_sec;
        printf(" total %llu/s, cumulative %llu\n", (unsigned long long)this_sec,
               (unsigned long long)total);
        fflush(stdout);
    }
    free(prev);
    destroy_sinks(sinks, o->sinks);
    return 0;
}

/* --sink-only --expect N: waits until every sink answered N requests, then reports
 * the drain from the first request at any sink to the latest at any sink. */
static int run_sink_expect(const struct bench_opts *o)
{
    struct sink **sinks = start_sinks(o, NULL, "");
    if (sinks == NULL)
        return 1;
    fprintf(stderr, "bench: %d sink(s) on 127.0.0.1:%d..%d/webhook; waiting for %llu each\n",
            o->sinks, o->sink_port, o->sink_port + o->sinks - 1,
            (unsigned long long)o->sink_expect);
    int64_t deadline = bclock_now_us() + (int64_t)(o->drain_timeout_s * 1e6);
    bool done = false;
    while (!done && !g_stop && bclock_now_us() < deadline) {
        sleep_until(bclock_now_us() + 1000);
        done = true;
        for (int i = 0; i < o->sinks && done; i++)
            done = sink_requests(sinks[i]) >= o->sink_expect;
    }
    int64_t first = 0, last = 0;
    uint64_t least = UINT64_MAX;
    for (int i = 0; i < o->sinks; i++) {
        int64_t f = sink_first_us(sinks[i]), l = sink_last_us(sinks[i]);
        uint64_t n = sink_requests(sinks[i]);
        if (f > 0 && (first == 0 || f < first))
            first = f;
        if (l > last)
            last = l;
        if (n < least)
            least = n;
    }
    double span = first > 0 ? (double)(last - first) / 1e6 : 0;
    uint64_t delivered = least < o->sink_expect ? least : o->sink_expect;
    double rate = span > 0 ? (double)delivered / span : 0;
    fprintf(o->json ? stderr : stdout,
            "bench: %s: %llu of %llu events at every one of %d sink(s) in %.3f s (first to "
            "last request): %.1f delivered events/s\n",
            done ? "drained" : "NOT drained", (unsigned long long)delivered,
            (unsigned long long)o->sink_expect, o->sinks, span, rate);
    if (o->json)
        printf("{\"expect\":%llu,\"sinks\":%d,\"drained\":%s,\"delivered\":%llu,"
               "\"drain_s\":%.6f,\"delivered_per_s\":%.1f}\n",
               (unsigned long long)o->sink_expect, o->sinks, done ? "true" : "false",
               (unsigned long long)delivered, span, rate);
    destroy_sinks(sinks, o->sinks);
    return done ? 0 : 1;
}

static uint32_t capacity_for(const struct bench_opts *o)
{
    if (o->count > 0)
        return (uint32_t)o->count;
    if (o->rate > 0) {
        double n = ceil(o->rate * o->duration_s) + 1;
        return n < TRACKER_MAX_EVENTS ? (uint32_t)n : TRACKER_MAX_EVENTS;
    }
    return TRACKER_MAX_EVENTS;
}

/* Poll (with a deadline) until every accepted event reached every sink. */
static void drain(const struct bench_opts *o, const struct tracker *t,
                  const struct loadgen_result *lg, struct bench_report *rep)
{
    int64_t start = bclock_now_us();
    int64_t deadline = lg->end_us + (int64_t)(o->drain_timeout_s * 1e6);
    while (tracker_accepted_delivered(t) < lg->accepted && !g_stop) {
        int64_t now = bclock_now_us();
        if (now >= deadline) {
            rep->drain_timed_out = true;
            break;
        }
        int64_t next = now + DRAIN_POLL_US;
        sleep_until(next < deadline ? next : deadline);
    }
    rep->drain_s = (double)(bclock_now_us() - start) / 1e6;
}

static void collect_delivery(const struct bench_opts *o, struct sink **sinks,
                             const struct tracker *t, struct bench_report *rep)
{
    hist_init(&rep->e2e);
    for (int i = 0; i < o->sinks; i++) {
        const struct sink_stats *st = sink_stats(sinks[i]);
        hist_merge(&rep->e2e, &st->e2e);
        if (st->last_complete_us > rep->last_complete_us)
            rep->last_complete_us = st->last_complete_us;
    }
    rep->delivered_all = tracker_accepted_delivered(t);
    tracker_scan(t, &rep->lost, &rep->unaccepted_delivered);
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* bench's own CPU use between two getrusage() snapshots. */
static void account_cpu(const struct rusage *before, int64_t since_us, struct bench_report *rep)
{
    struct rusage after;
    getrusage(RUSAGE_SELF, &after);
    rep->cpu_user_s = tv_s(after.ru_utime) - tv_s(before->ru_utime);
    rep->cpu_sys_s = tv_s(after.ru_stime) - tv_s(before->ru_stime);
    rep->wall_s = (double)(bclock_now_us() - since_us) / 1e6;
}

static int run_bench(const struct bench_opts *o)
{
    int status = 1;
    char runid[16], prefix[32];
    make_runid(runid, sizeof(runid));
    snprintf(prefix, sizeof(prefix), "bench-%s-", runid);
    struct loadgen_result *lg = calloc(1, sizeof(*lg));
    struct bench_report *rep = calloc(1, sizeof(*rep));
    struct tracker *t = NULL;
    struct sink **sinks = NULL;
    struct noisy *noisy = NULL;
    struct rss_sampler *rss = NULL;
    struct rss_result rss_unused;
    if (lg == NULL || rep == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        goto out;
    }
    if (opts_noisy(o) && (noisy = noisy_new(o, runid)) == NULL)
        goto out;
    if (o->pid > 0 && (rss = rss_start(o->pid)) == NULL)
        goto out;
    struct rusage ru_start;
    getrusage(RUSAGE_SELF, &ru_start);
    int64_t run_start = bclock_now_us();
    if (noisy != NULL && noisy_post_backlog(noisy, &g_stop) != 0)
        goto out;
    /* The tracker's time origin is the timed phase, whatever the backlog took. */
    if ((t = tracker_new(capacity_for(o), o->sinks, bclock_now_us())) == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        goto out;
    }
    if ((sinks = start_sinks(o, t, prefix)) == NULL)
        goto out;
    const char *domain_slot;
    struct loadgen_plan plan = noisy != NULL ? noisy_healthy_plan(noisy, runid)
                                             : loadgen_plan_from_opts(o, runid, &domain_slot);
    if (noisy != NULL)
        noisy_healthy_begin(noisy);
    if (loadgen_run(o, &plan, t, &g_stop, lg) != 0)
        goto out;
    *rep = (struct bench_report){.o = o, .runid = runid, .lg = lg, .sinks = sinks};
    if (o->sinks > 0)
        drain(o, t, lg, rep);
    if (noisy != NULL) {
        noisy_healthy_end(noisy);
        rep->noisy = noisy_result(noisy);
    }
    for (int i = 0; i < o->sinks; i++)
        sink_stop(sinks[i]);
    account_cpu(&ru_start, run_start, rep);
    if (rss != NULL) {
        rss_stop(rss, &rep->rss);
        rss = NULL;
        rep->have_rss = true;
    }
    if (o->sinks > 0)
        collect_delivery(o, sinks, t, rep);
    report_print_human(rep, o->json ? stderr : stdout);
    if (o->json && report_print_json(rep, stdout) != 0) {
        fprintf(stderr, "bench: cannot build the JSON result\n");
        goto out;
    }
    status = lg->accepted > 0 && rep->lost == 0 ? 0 : 1;
out:
    rss_stop(rss, &rss_unused);
    if (sinks != NULL)
        destroy_sinks(sinks, o->sinks);
    noisy_destroy(noisy);
    tracker_destroy(t);
    free(rep);
    free(lg);
    return status;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    switch (opts_parse(argc, argv, &o)) {
    case OPTS_HELP:
        return 0;
    case OPTS_USAGE:
        return 2;
    case OPTS_RUN:
        break;
    }
    install_signals();
    if (o.sink_only)
        return o.sink_expect > 0 ? run_sink_expect(&o) : run_sink_only(&o);
    return run_bench(&o);
}
