/*
 * sink — one webhook receiver: a libmicrohttpd daemon on 127.0.0.1:port that
 * answers POST /webhook with 200 {} at once and attributes each receipt to the
 * event's bench_seq.
 *
 * Threads: everything below the API runs on the daemon's single internal epoll
 * thread, which owns the duplicate bitmap and the statistics. The only value
 * read while it runs is the request counter (atomic); the rest is read after
 * sink_stop(), whose thread join orders it. With a NULL tracker (--sink-only)
 * a sink only counts requests.
 */
#ifndef BENCH_SINK_H
#define BENCH_SINK_H

#include <stdint.h>

#include "hist.h"
#include "tracker.h"

struct sink;

struct sink_stats {
    uint64_t requests;        /* answered 200, sent completely */
    uint64_t receipts;        /* first receipt of a known event */
    uint64_t duplicates;      /* receipts beyond the first of a known event */
    uint64_t foreign;         /* another run's event, or a seq never sent */
    uint64_t unparsed;        /* no bench_seq in the body nor in X-Event-Id */
    uint64_t completed;       /* receipts that made an event complete at all sinks */
    int64_t last_complete_us; /* monotonic; 0 if none */
    struct hist e2e;          /* scheduled send -> receipt at the last sink */
};

/* Starts the daemon. id_prefix ("bench-<runid>-") is copied; tracker is
 * borrowed and may be NULL. Returns NULL with a message on stderr. */
struct sink *sink_new(int index, int port, struct tracker *tracker, const char *id_prefix);
/* Stops the daemon and joins its thread; idempotent. */
void sink_stop(struct sink *s);
void sink_destroy(struct sink *s);

/* Any thread. */
uint64_t sink_requests(const struct sink *s);
/* Monotonic times of the first and the latest request answered; 0 if none. */
int64_t sink_first_us(const struct sink *s);
int64_t sink_last_us(const struct sink *s);
int sink_port(const struct sink *s);
/* After sink_stop(). */
const struct sink_stats *sink_stats(const struct sink *s);

#endif
