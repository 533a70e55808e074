/*
 * tracker — per-event state shared by the load generator and the sinks.
 *
 * Owns three arrays indexed by bench_seq, sized once at creation (at most
 * TRACKER_MAX_EVENTS): the scheduled send time (microseconds since the run's
 * base time) and one state byte (bit 7 = accepted with 202, bits 0..6 = number
 * of sinks that have received the event at least once). Pages are touched only
 * as sequence numbers are used, so a large capacity costs address space, not RSS.
 *
 * Threads: the load generator thread issues sequence numbers and marks
 * acceptance; each sink thread marks receipts; the main thread reads the
 * counters while draining and scans the array at the end. All cross-thread
 * fields are C11 atomics. Invariant: a sequence number is published (issued)
 * only after its send time is stored, so a sink that sees seq < issued reads a
 * valid send time.
 */
#ifndef BENCH_TRACKER_H
#define BENCH_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#define TRACKER_MAX_EVENTS 10000000u /* 10M events: ~50 MB at worst */
#define TRACKER_MAX_SINKS 100

struct tracker;

/* The outcome of a receipt, as seen by the sink that recorded it. */
enum tracker_receipt {
    TRACKER_RECEIPT_PARTIAL,  /* some sinks still lack the event */
    TRACKER_RECEIPT_COMPLETE, /* this receipt was the last sink's first one */
};

/* Returns NULL on allocation failure. base_us is the run's time origin. */
struct tracker *tracker_new(uint32_t capacity, int nsinks, int64_t base_us);
void tracker_destroy(struct tracker *t);

uint32_t tracker_capacity(const struct tracker *t);
int tracker_sinks(const struct tracker *t);
int64_t tracker_base_us(const struct tracker *t);

/* Load generator thread: record the send time of `seq` (== number issued so
 * far) and publish it. */
void tracker_issue(struct tracker *t, uint32_t seq, int64_t sched_us);
uint32_t tracker_issued(const struct tracker *t);
int64_t tracker_sched_us(const struct tracker *t, uint32_t seq);

/* Load generator thread: first 202 for `seq`. Returns false if it was already
 * accepted (a retried event answered twice). */
bool tracker_mark_accepted(struct tracker *t, uint32_t seq);

/* Sink thread: first receipt of `seq` at one sink (the sink filters its own
 * duplicates). seq must be < tracker_issued(). */
enum tracker_receipt tracker_mark_received(struct tracker *t, uint32_t seq);

/* Any thread: accepted events that every sink has received so far. */
uint64_t tracker_accepted_delivered(const struct tracker *t);

/* Main thread, after all producers stopped: accepted events some sink lacks,
 * and events every sink received that were never accepted. */
void tracker_scan(const struct tracker *t, uint64_t *lost, uint64_t *unaccepted_delivered);

#endif
