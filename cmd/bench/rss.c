/*
 * rss — see rss.h. The sampler thread sleeps on a condition variable with an
 * absolute 100 ms deadline, so rss_stop() ends it at once instead of waiting
 * for the next tick. Lock: `mu` guards `stopping` only; the result fields are
 * written by the sampler thread and read after the join.
 */
#include "rss.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_NS 100000000L

struct rss_sampler {
    char path[64];
    char stat_path[64];
    bool have_cpu_start;
    unsigned long long utime_start, stime_start;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stopping;
    struct rss_result res;
};

/* VmRSS in kB, or -1 if the file cannot be read. */
static long long read_rss_kb(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char line[256];
    long long kb = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoll(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

/* utime and stime (clock ticks) from /proc/PID/stat; false if unreadable. The command
 * name (field 2) may hold spaces and parentheses, so fields are counted after the
 * last ')'. */
static bool read_cpu_ticks(const char *path, unsigned long long *utime, unsigned long long *stime)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    char line[1024];
    bool ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    const char *p = ok ? strrchr(line, ')') : NULL;
    /* after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
     * cmajflt utime(14) stime(15) */
    return p != NULL && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                               utime, stime) == 2;
}

static bool sample(struct rss_sampler *s)
{
    long long kb = read_rss_kb(s->path);
    if (kb < 0) {
        s->res.vanished = true;
        return false;
    }
    s->res.samples++;
    s->res.final_kb = (uint64_t)kb;
    if ((uint64_t)kb > s->res.max_kb)
        s->res.max_kb = (uint64_t)kb;
    return true;
}

static void *sampler_main(void *arg)
{
    struct rss_sampler *s = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->mu);
        bool alive = sample(s);
        pthread_mutex_lock(&s->mu);
        if (!alive)
            break;
        next.tv_nsec += PERIOD_NS;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (!s->stopping && pthread_cond_timedwait(&s->cond, &s->mu, &next) == 0) {
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (!s->res.vanished)
        sample(s); /* the final value, at stop time */
    return NULL;
}

struct rss_sampler *rss_start(long pid)
{
    struct rss_sampler *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    snprintf(s->path, sizeof(s->path), "/proc/%ld/status", pid);
    snprintf(s->stat_path, sizeof(s->stat_path), "/proc/%ld/stat", pid);
    s->have_cpu_start = read_cpu_ticks(s->stat_path, &s->utime_start, &s->stime_start);
    if (read_rss_kb(s->path) < 0) {
        fprintf(stderr, "bench: --pid %ld: cannot read VmRSS from %s\n", pid, s->path);
        free(s);
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->mu, NULL);
    if (pthread_create(&s->thread, NULL, sampler_main, s) != 0) {
        fprintf(stderr, "bench: cannot start the RSS sampler thread\n");
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

void rss_stop(struct rss_sampler *s, struct rss_result *out)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    unsigned long long utime, stime;
    long hz = sysconf(_SC_CLK_TCK);
    if (s->have_cpu_start && hz > 0 && read_cpu_ticks(s->stat_path, &utime, &stime)) {
        s->res.have_cpu = true;
        s->res.cpu_user_s = (double)(utime - s->utime_start) / (double)hz;
        s->res.cpu_sys_s = (double)(stime - s->stime_start) / (double)hz;
    }
    *out = s->res;
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
