/*
 * report — turns the figures of one run into the human table and/or one JSON
 * object. Main thread, after every other thread has stopped; borrows all inputs.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"
#include "loadgen.h"
#include "noisy.h"
#include "opts.h"
#include "rss.h"
#include "sink.h"

struct bench_report {
    const struct bench_opts *o;
    const char *runid;
    const struct loadgen_result *lg;
    /* Delivery, when o->sinks > 0. */
    struct sink *const *sinks;
    struct hist e2e;               /* merged over the sinks */
    uint64_t delivered_all;        /* accepted events every sink received */
    uint64_t lost;                 /* accepted events some sink lacks */
    uint64_t unaccepted_delivered; /* delivered everywhere but never answered 202 */
    int64_t last_complete_us;
    double drain_s;
    bool drain_timed_out;
    /* bench's own CPU time over the run (it shares the cores with eventhub). */
    double cpu_user_s;
    double cpu_sys_s;
    double wall_s;
    /* Noisy-neighbour figures, or NULL; the sinks' figures above are then the
     * healthy domains' ones. */
    const struct noisy_result *noisy;
    /* RSS, when o->pid. */
    bool have_rss;
    struct rss_result rss;
};

void report_print_human(const struct bench_report *r, FILE *out);
/* Returns -1 if the JSON could not be built. */
int report_print_json(const struct bench_report *r, FILE *out);

#endif
