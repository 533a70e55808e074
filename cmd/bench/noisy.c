/*
 * noisy — see noisy.h. Main thread.
 *
 * The backlog's events carry the id "bench-<runid>b-<seq>": the healthy sinks
 * match ids against "bench-<runid>-", so a backlog event that reached them would
 * count as foreign, never as a healthy delivery. The backlog has a tracker of
 * its own (no sinks) so the timed phase's sequence numbers start at 0.
 */
#include "noisy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "badsink.h"
#include "bclock.h"
#include "tracker.h"

#define NAME_CAP 48

struct noisy {
    const struct bench_opts *o;
    char backlog_runid[24];
    char (*names)[NAME_CAP]; /* healthy names, then bad names */
    const char **healthy;
    int nhealthy;
    const char **bad;
    struct badsink *sink;
    uint64_t calls_at_begin;
    int64_t begin_us;
    struct noisy_result r;
};

static uint64_t bad_calls(const struct noisy *n)
{
    return n->sink != NULL ? badsink_calls(n->sink) : 0;
}

static int build_names(struct noisy *n)
{
    const struct bench_opts *o = n->o;
    size_t total = (size_t)o->healthy_domains + (size_t)o->bad_domains;
    n->names = calloc(total + 1, sizeof(*n->names));
    n->healthy = calloc((size_t)o->healthy_domains + 1, sizeof(*n->healthy));
    n->bad = calloc((size_t)o->bad_domains + 1, sizeof(*n->bad));
    if (n->names == NULL || n->healthy == NULL || n->bad == NULL)
        return -1;
    for (int i = 0; i < o->healthy_domains; i++) {
        snprintf(n->names[i], NAME_CAP, "healthy-%d.bench.example", i);
        n->healthy[i] = n->names[i];
    }
    for (int i = 0; i < o->bad_domains; i++) {
        char *name = n->names[o->healthy_domains + i];
        snprintf(name, NAME_CAP, "bad-%d.bench.example", i);
        n->bad[i] = name;
    }
    n->nhealthy = o->healthy_domains;
    if (n->nhealthy == 0) {
        n->healthy[0] = o->domain;
        n->nhealthy = 1;
    }
    return 0;
}

static enum badsink_mode sink_mode(enum bad_mode m)
{
    return m == BAD_MODE_SLOW ? BADSINK_SLOW : m == BAD_MODE_HANG ? BADSINK_HANG : BADSINK_FAIL;
}

struct noisy *noisy_new(const struct bench_opts *o, const char *runid)
{
    struct noisy *n = calloc(1, sizeof(*n));
    if (n != NULL)
        n->o = o;
    if (n == NULL || build_names(n) != 0) {
        fprintf(stderr, "bench: out of memory\n");
        noisy_destroy(n);
        return NULL;
    }
    snprintf(n->backlog_runid, sizeof(n->backlog_runid), "%sb", runid);
    n->r = (struct noisy_result){.healthy_domains = o->healthy_domains,
                                 .bad_domains = o->bad_domains,
                                 .mode = o->bad_mode,
                                 .bad_delay_ms = o->bad_delay_ms};
    if (o->bad_domains > 0 && o->bad_mode != BAD_MODE_REFUSE) {
        n->sink = badsink_new(o->bad_sink_port, sink_mode(o->bad_mode), o->bad_delay_ms);
        if (n->sink == NULL) {
            noisy_destroy(n);
            return NULL;
        }
        n->r.bad_sink_port = badsink_port(n->sink);
        if (o->bad_sink_port == 0)
            fprintf(stderr, "bench: bad sink on 127.0.0.1:%d/webhook\n", n->r.bad_sink_port);
    }
    return n;
}

void noisy_destroy(struct noisy *n)
{
    if (n == NULL)
        return;
    badsink_destroy(n->sink);
    free(n->names);
    free(n->healthy);
    free(n->bad);
    free(n);
}

int noisy_post_backlog(struct noisy *n, const volatile sig_atomic_t *stop)
{
    const struct bench_opts *o = n->o;
    if (o->bad_backlog == 0)
        return 0;
    struct loadgen_plan plan = {.runid = n->backlog_runid,
                                .domains = n->bad,
                                .ndomains = o->bad_domains,
                                .count = o->bad_backlog};
    struct loadgen_result *lg = calloc(1, sizeof(*lg));
    struct tracker *t = tracker_new((uint32_t)o->bad_backlog, 0, bclock_now_us());
    int rc = -1;
    if (lg == NULL || t == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        goto out;
    }
    fprintf(stderr, "bench: posting a backlog of %llu events to %d bad domain(s)\n",
            (unsigned long long)o->bad_backlog, o->bad_domains);
    if (loadgen_run(o, &plan, t, stop, lg) != 0)
        goto out;
    n->r.backlog_posted = lg->sent;
    n->r.backlog_accepted = lg->accepted;
    n->r.backlog_s = lg->first_send_us > 0 ? (double)(lg->end_us - lg->first_send_us) / 1e6 : 0;
    fprintf(stderr,
            "bench: backlog: %llu of %llu accepted in %.2f s; the bad sink has %llu calls\n",
            (unsigned long long)lg->accepted, (unsigned long long)lg->sent, n->r.backlog_s,
            (unsigned long long)bad_calls(n));
    rc = 0;
out:
    tracker_destroy(t);
    free(lg);
    return rc;
}

struct loadgen_plan noisy_healthy_plan(const struct noisy *n, const char *runid)
{
    const struct bench_opts *o = n->o;
    return (struct loadgen_plan){.runid = runid,
                                 .domains = n->healthy,
                                 .ndomains = n->nhealthy,
                                 .count = o->count,
                                 .rate = o->rate,
                                 .duration_s = o->duration_s};
}

void noisy_healthy_begin(struct noisy *n)
{
    n->begin_us = bclock_now_us();
    n->calls_at_begin = bad_calls(n);
}

void noisy_healthy_end(struct noisy *n)
{
    int64_t now = bclock_now_us();
    uint64_t calls = bad_calls(n);
    n->r.healthy_phase_s = (double)(now - n->begin_us) / 1e6;
    n->r.bad_calls = calls - n->calls_at_begin;
    n->r.bad_calls_per_s =
        n->r.healthy_phase_s > 0 ? (double)n->r.bad_calls / n->r.healthy_phase_s : 0;
    n->r.bad_calls_total = calls;
    if (n->sink != NULL) {
        n->r.bad_answered = badsink_answered(n->sink);
        n->r.bad_connections = badsink_connections(n->sink);
    }
}

const struct noisy_result *noisy_result(const struct noisy *n)
{
    return &n->r;
}
