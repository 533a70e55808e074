/*
 * noisy — the noisy-neighbour scenario around an ordinary run: the healthy and
 * bad domain names, the bad sink, the backlog posted to the bad domains before
 * the timed phase, and what the bad sink received during the timed phase.
 *
 * Main thread only (the bad sink has a thread of its own, see badsink.h). Owns
 * the domain names, the bad sink, and the backlog's tracker and load figures.
 */
#ifndef BENCH_NOISY_H
#define BENCH_NOISY_H

#include <signal.h>
#include <stdint.h>

#include "loadgen.h"
#include "opts.h"

struct noisy_result {
    int healthy_domains; /* 0: the timed phase used --domain */
    int bad_domains;
    enum bad_mode mode;
    int bad_delay_ms;
    int bad_sink_port;         /* 0 with refuse: no bad sink runs */
    uint64_t backlog_posted;   /* backlog events sent */
    uint64_t backlog_accepted; /* of those, answered 202 */
    double backlog_s;          /* time it took to post them */
    double healthy_phase_s;    /* start of the timed phase -> end of the drain */
    uint64_t bad_calls;        /* calls the bad sink received in that window */
    double bad_calls_per_s;    /* bad_calls / healthy_phase_s */
    uint64_t bad_calls_total;  /* from the start of the backlog on */
    uint64_t bad_answered;     /* answers the bad sink sent whole, in all */
    uint64_t bad_connections;  /* connections it accepted, in all */
};

struct noisy;

/* Builds the domain lists and starts the bad sink (not with refuse). runid is
 * the run's id; the backlog uses a derived one that the sinks see as foreign.
 * Borrows o. Returns NULL with a message on stderr. */
struct noisy *noisy_new(const struct bench_opts *o, const char *runid);
void noisy_destroy(struct noisy *n); /* accepts NULL */

/* Posts the backlog round robin over the bad domains, as fast as possible,
 * and waits for every answer. Returns -1 if the load generator failed. */
int noisy_post_backlog(struct noisy *n, const volatile sig_atomic_t *stop);

/* The timed phase: o's count, rate and duration, round robin over the healthy
 * domains (or all to --domain). Borrows n (the domain names) and runid. */
struct loadgen_plan noisy_healthy_plan(const struct noisy *n, const char *runid);

/* Mark the timed phase's start (before the load generator) and end (after
 * the drain): the bad sink's calls in between make the attempt rate. */
void noisy_healthy_begin(struct noisy *n);
void noisy_healthy_end(struct noisy *n);

const struct noisy_result *noisy_result(const struct noisy *n);

#endif
