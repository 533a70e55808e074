/*
 * reconnect — when a connection-based source tries again: exponential backoff with
 * jitter, and a wait that a stop request cuts short.
 *
 * Each failed attempt waits between half and all of the current backoff (half fixed,
 * half random, so many eventhub instances do not reconnect in step), then the backoff
 * doubles up to its maximum; an attempt that got all the way (connected, subscribed)
 * starts the next series afresh. Owned by the source's connection thread (no locks).
 */
#ifndef EVENTHUB_RECONNECT_H
#define EVENTHUB_RECONNECT_H

#include <stdbool.h>
#include <stdint.h>

struct reconnect {
    int64_t initial_ms;
    int64_t max_ms;
    int64_t backoff_ms; /* of the next wait */
};

/* initial_ms ≥ 1, max_ms ≥ initial_ms (the config enforces both). */
void reconnect_init(struct reconnect *r, int64_t initial_ms, int64_t max_ms);
/* The attempt succeeded: the next failure waits about initial_ms again. */
void reconnect_succeeded(struct reconnect *r);
/* The wait before the next attempt, in [backoff/2, backoff]; doubles the backoff. */
int64_t reconnect_next_delay_ms(struct reconnect *r);

/* Called at least every tick_ms while a source waits (it pumps its outbox). */
typedef void (*reconnect_idle_fn)(void *closure);

/*
 * Waits delay_ms, calling idle (may be NULL) every tick_ms, unless `stop_fd` becomes
 * readable (the source's stop pipe). True when it was stopped.
 */
bool reconnect_wait(int64_t delay_ms, int stop_fd, int tick_ms, reconnect_idle_fn idle,
                    void *closure);

#endif
