/*
 * hist — fixed-size log-linear latency histogram (HDR style), values in microseconds.
 *
 * Owns nothing on the heap: a struct of 3,776 counters (~30 KiB), so memory is
 * bounded however many values are recorded. Each power of two is split into 64
 * linear sub-buckets: relative error below 1/64 (~1.6%); the exact minimum and
 * maximum are kept on the side. Not thread-safe: each thread records into its own
 * histogram and the owner merges them once the threads have stopped.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7                                      /* values below 128 are exact */
#define HIST_HALF (1 << (HIST_SUB_BITS - 1))                 /* 64 sub-buckets per octave */
#define HIST_BUCKETS ((1 << HIST_SUB_BITS) + 57 * HIST_HALF) /* covers all of int64 */

struct hist {
    uint64_t count;
    int64_t min;
    int64_t max;
    uint64_t buckets[HIST_BUCKETS];
};

void hist_init(struct hist *h);
/* Negative values are recorded as 0. */
void hist_record(struct hist *h, int64_t value_us);
void hist_merge(struct hist *into, const struct hist *from);
/* Value at percentile p (0 < p <= 100): the midpoint of the bucket holding the
 * ceil(p% * count)-th value, clamped to [min, max]; 0 when empty. */
int64_t hist_percentile(const struct hist *h, double p);

#endif
