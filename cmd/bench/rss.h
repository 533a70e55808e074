/*
 * rss — samples VmRSS of another process (/proc/PID/status) every 100 ms on
 * its own thread, keeping the maximum and the last value, and the CPU time the
 * process used between rss_start() and rss_stop() (/proc/PID/stat utime, stime).
 *
 * rss_start() starts the thread; rss_stop() wakes it, joins it and hands back
 * the figures; the sampler owns nothing else.
 */
#ifndef BENCH_RSS_H
#define BENCH_RSS_H

#include <stdbool.h>
#include <stdint.h>

struct rss_sampler;

struct rss_result {
    uint64_t samples;
    uint64_t max_kb;
    uint64_t final_kb;
    bool vanished; /* the process went away during the run */
    bool have_cpu; /* cpu_*_s were read at start and stop */
    double cpu_user_s, cpu_sys_s;
};

/* Returns NULL (message on stderr) if the process cannot be read or the thread
 * cannot start. */
struct rss_sampler *rss_start(long pid);
/* Joins the thread, fills *out, frees the sampler. Accepts NULL. */
void rss_stop(struct rss_sampler *s, struct rss_result *out);

#endif
