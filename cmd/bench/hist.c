/*
 * hist — log-linear histogram; see hist.h. Pure data structure, caller's thread.
 *
 * Index layout: values 0..127 map to themselves. A larger value with highest bit
 * m is shifted right by s = m - 6 so it lands in [64, 127]; its index is
 * 128 + (s - 1) * 64 + (v >> s) - 64. s is at most 57 for a uint64, so 57 octaves after the exact
 * range.
 */
#include "hist.h"

#include <string.h>

static int bucket_index(uint64_t v)
{
    if (v < (1u << HIST_SUB_BITS))
        return (int)v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - (HIST_SUB_BITS - 1);
    return (1 << HIST_SUB_BITS) + (shift - 1) * HIST_HALF + (int)(v >> shift) - HIST_HALF;
}

/* Midpoint of the values that map to bucket `idx`. */
static int64_t bucket_value(int idx)
{
    if (idx < (1 << HIST_SUB_BITS))
        return idx;
    int rel = idx - (1 << HIST_SUB_BITS);
    int shift = rel / HIST_HALF + 1;
    uint64_t low = (uint64_t)(rel % HIST_HALF + HIST_HALF) << shift;
    return (int64_t)(low + ((1ull << shift) >> 1));
}

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = INT64_MAX;
}

void hist_record(struct hist *h, int64_t value_us)
{
    if (value_us < 0)
        value_us = 0;
    h->buckets[bucket_index((uint64_t)value_us)]++;
    h->count++;
    if (value_us < h->min)
        h->min = value_us;
    if (value_us > h->max)
        h->max = value_us;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    if (from->count == 0)
        return;
    for (int i = 0; i < HIST_BUCKETS; i++)
        into->buckets[i] += from->buckets[i];
    into->count += from->count;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
}

int64_t hist_percentile(const struct hist *h, double p)
{
    if (h->count == 0)
        return 0;
    if (p >= 100.0)
        return h->max;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->count + 0.999999);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            int64_t v = bucket_value(i);
            if (v < h->min)
                v = h->min;
            if (v > h->max)
                v = h->max;
            return v;
        }
    }
    return h->max;
}
