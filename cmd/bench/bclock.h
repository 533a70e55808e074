/*
 * bclock — monotonic microsecond clock shared by every bench thread.
 *
 * One clock (CLOCK_MONOTONIC) for send times in the load generator and
 * receipt times in the sinks, so end-to-end latency is a plain subtraction.
 * Pure functions, any thread.
 */
#ifndef BENCH_BCLOCK_H
#define BENCH_BCLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t bclock_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline struct timespec bclock_us_to_ts(int64_t us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
    return ts;
}

#endif
