/*
 * metrics_text — the Prometheus text exposition format (version 0.0.4) and the one
 * metric shape that needs more than a counter: a fixed-bucket latency histogram.
 *
 * Writing: a family opens with "# HELP name text" and "# TYPE name type"; each sample
 * is `name{label="value",...} value`. Label values escape backslash, double quote and
 * newline (\\, \", \n); HELP text escapes backslash and newline. Output goes to a
 * stdio stream (the caller's open_memstream), so nothing here allocates.
 *
 * Histograms: counts per bucket (not cumulative) and the sum in microseconds, each
 * a relaxed atomic: metrics_histogram_observe() is lock-free and any thread may call
 * it. The writer cumulates the buckets and derives _count from them, so _count always
 * equals the +Inf bucket even while observations race with a scrape (_sum may lag or
 * lead by the observations in flight).
 */
#ifndef EVENTHUB_METRICS_TEXT_H
#define EVENTHUB_METRICS_TEXT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Upper bounds (le) of the latency buckets, in microseconds: 0.5 ms .. 5 min. */
#define METRICS_BUCKETS 17
extern const int64_t metrics_bucket_bounds_us[METRICS_BUCKETS];

struct metrics_histogram {
    _Atomic uint64_t buckets[METRICS_BUCKETS + 1]; /* the last one is +Inf */
    _Atomic uint64_t sum_us;
};

/* Records one observation; negative values count as 0. Any thread. */
void metrics_histogram_observe(struct metrics_histogram *h, int64_t us);
/* Observations so far (the sum of the buckets). */
uint64_t metrics_histogram_count(const struct metrics_histogram *h);

struct metrics_label {
    const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]* (ours are literals) */
    const char *value; /* any UTF-8; escaped on output; NULL is written as "" */
};

/* "# HELP name help\n# TYPE name type\n"; type is "counter", "gauge" or "histogram". */
void metrics_text_family(FILE *f, const char *name, const char *type, const char *help);
/* A label value with \\, \" and \n escaped (no surrounding quotes). */
void metrics_text_label_value(FILE *f, const char *value);
/* name{labels} value, for integer samples (counters, integer gauges). */
void metrics_text_sample(FILE *f, const char *name, const struct metrics_label *labels,
                         size_t label_count, uint64_t value);
void metrics_text_sample_signed(FILE *f, const char *name, const struct metrics_label *labels,
                                size_t label_count, int64_t value);
/* name_bucket{labels,le="..."} for every bucket and +Inf, then name_sum (seconds) and
 * name_count. */
void metrics_text_histogram(FILE *f, const char *name, const struct metrics_label *labels,
                            size_t label_count, const struct metrics_histogram *h);

#endif
