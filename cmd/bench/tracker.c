/*
 * tracker — see tracker.h for ownership and threads.
 *
 * Counting "accepted and delivered to all" without a lock: both sides update
 * the state byte with one atomic read-modify-write and look at the old value.
 * Exactly one of them observes the other's half already done (accepted bit set
 * with all sinks counted), and that one bumps the counter, whichever order the
 * 202 and the last webhook arrive in.
 */
#include "tracker.h"

#include <stdatomic.h>
#include <stdlib.h>

#define STATE_ACCEPTED 0x80u
#define STATE_COUNT_MASK 0x7fu

struct tracker {
    uint32_t capacity;
    int nsinks;
    int64_t base_us;
    _Atomic uint32_t issued;
    _Atomic uint64_t accepted_delivered;
    _Atomic uint32_t *sched; /* microseconds since base_us */
    _Atomic uint8_t *state;
};

struct tracker *tracker_new(uint32_t capacity, int nsinks, int64_t base_us)
{
    if (capacity == 0 || capacity > TRACKER_MAX_EVENTS || nsinks < 0 || nsinks > TRACKER_MAX_SINKS)
        return NULL;
    struct tracker *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->capacity = capacity;
    t->nsinks = nsinks;
    t->base_us = base_us;
    atomic_init(&t->issued, 0);
    atomic_init(&t->accepted_delivered, 0);
    /* calloc of this size is backed by fresh zero pages: RSS grows with use. */
    t->sched = calloc(capacity, sizeof(*t->sched));
    t->state = calloc(capacity, sizeof(*t->state));
    if (t->sched == NULL || t->state == NULL) {
        tracker_destroy(t);
        return NULL;
    }
    return t;
}

void tracker_destroy(struct tracker *t)
{
    if (t == NULL)
        return;
    free(t->sched);
    free(t->state);
    free(t);
}

uint32_t tracker_capacity(const struct tracker *t)
{
    return t->capacity;
}

int tracker_sinks(const struct tracker *t)
{
    return t->nsinks;
}

int64_t tracker_base_us(const struct tracker *t)
{
    return t->base_us;
}

void tracker_issue(struct tracker *t, uint32_t seq, int64_t sched_us)
{
    int64_t rel = sched_us - t->base_us;
    if (rel < 0)
        rel = 0;
    if (rel > UINT32_MAX)
        rel = UINT32_MAX;
    atomic_store_explicit(&t->sched[seq], (uint32_t)rel, memory_order_relaxed);
    atomic_store_explicit(&t->issued, seq + 1, memory_order_release);
}

uint32_t tracker_issued(const struct tracker *t)
{
    return atomic_load_explicit(&t->issued, memory_order_acquire);
}

int64_t tracker_sched_us(const struct tracker *t, uint32_t seq)
{
    return t->base_us + atomic_load_explicit(&t->sched[seq], memory_order_relaxed);
}

bool tracker_mark_accepted(struct tracker *t, uint32_t seq)
{
    unsigned old = atomic_fetch_or_explicit(&t->state[seq], STATE_ACCEPTED, memory_order_relaxed);
    if (old & STATE_ACCEPTED)
        return false;
    if (t->nsinks > 0 && (old & STATE_COUNT_MASK) == (unsigned)t->nsinks)
        atomic_fetch_add_explicit(&t->accepted_delivered, 1, memory_order_relaxed);
    return true;
}

enum tracker_receipt tracker_mark_received(struct tracker *t, uint32_t seq)
{
    unsigned old = atomic_fetch_add_explicit(&t->state[seq], 1, memory_order_relaxed);
    if ((old & STATE_COUNT_MASK) + 1 != (unsigned)t->nsinks)
        return TRACKER_RECEIPT_PARTIAL;
    if (old & STATE_ACCEPTED)
        atomic_fetch_add_explicit(&t->accepted_delivered, 1, memory_order_relaxed);
    return TRACKER_RECEIPT_COMPLETE;
}

uint64_t tracker_accepted_delivered(const struct tracker *t)
{
    return atomic_load_explicit(&t->accepted_delivered, memory_order_relaxed);
}

void tracker_scan(const struct tracker *t, uint64_t *lost, uint64_t *unaccepted_delivered)
{
    uint32_t issued = tracker_issued(t);
    uint64_t nlost = 0, nextra = 0;
    for (uint32_t i = 0; i < issued; i++) {
        unsigned s = atomic_load_explicit(&t->state[i], memory_order_relaxed);
        bool all = (s & STATE_COUNT_MASK) == (unsigned)t->nsinks;
        if ((s & STATE_ACCEPTED) && !all)
            nlost++;
        else if (!(s & STATE_ACCEPTED) && all && t->nsinks > 0)
            nextra++;
    }
    *lost = nlost;
    *unaccepted_delivered = nextra;
}
