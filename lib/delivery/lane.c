/*
 * lane — see lane.h. Pure decisions over one lane's fields; the delivery thread calls
 * them (the manager thread only writes the atomics read here).
 */
#include "delivery/lane.h"

#include <stdio.h>

bool lane_may_start(struct lane *lane, int64_t now_ms)
{
    if (lane->in_flight >= lane->max_concurrent)
        return false;
    if (lane->paused_until_ms > now_ms)
        return false;
    lane->paused_until_ms = 0;
    if (lane->rate_per_s > 0 && token_bucket_wait_ms(&lane->bucket, now_ms) > 0) {
        lane->rate_waiting = true;
        return false;
    }
    if (!breaker_may_call(&lane->breaker, now_ms))
        return false;
    if (lane->rate_per_s > 0)
        token_bucket_take(&lane->bucket, now_ms);
    lane->rate_waiting = false;
    return true;
}

void lane_call_result(struct lane *lane, bool ok, int status, const char *error, int64_t now_ms)
{
    breaker_result(&lane->breaker, ok, now_ms);
    lane->last_status = status;
    if (ok) {
        lane->delivered++;
        lane->last_error[0] = '\0';
    } else {
        lane->failed++;
        if (error && error[0])
            snprintf(lane->last_error, sizeof lane->last_error, "%s", error);
        else
            snprintf(lane->last_error, sizeof lane->last_error, "HTTP %d", status);
    }
}

int64_t lane_parked(struct lane *lane)
{
    uint64_t gen = atomic_load(&lane->poll_gen);
    if (gen != lane->seen_poll) {
        /* A newer count from the stream includes what this process parked before it. */
        lane->seen_poll = gen;
        lane->parked_local = 0;
    }
    int64_t polled = atomic_load(&lane->parked);
    return (polled > 0 ? polled : 0) + lane->parked_local;
}

bool lane_is_behind(struct lane *lane, int64_t now_ms)
{
    if (lane->held_records > 0 || lane_parked(lane) > 0)
        return true;
    if (lane->paused_until_ms > now_ms)
        return true;
    return lane->breaker.state != BREAKER_CLOSED;
}

void lane_parked_one(struct lane *lane)
{
    lane_parked(lane);
    lane->parked_local++;
}

enum lane_state lane_state(const struct lane *lane, int64_t now_ms, bool routed)
{
    if (!routed)
        return LANE_RETIRED;
    if (lane->breaker.state == BREAKER_OPEN)
        return LANE_OPEN;
    if (lane->breaker.state == BREAKER_HALF_OPEN)
        return LANE_HALF_OPEN;
    if (lane->paused_until_ms > now_ms)
        return LANE_PAUSED;
    if (lane->rate_waiting && lane->waiting > 0)
        return LANE_RATE_LIMITED;
    if (lane->breaker.consecutive_failures > 0)
        return LANE_FAILING;
    return LANE_HEALTHY;
}

const char *lane_state_name(enum lane_state state)
{
    static const char *const names[] = {
        [LANE_HEALTHY] = "healthy", [LANE_FAILING] = "failing",
        [LANE_OPEN] = "open",       [LANE_HALF_OPEN] = "half_open",
        [LANE_PAUSED] = "paused",   [LANE_RATE_LIMITED] = "rate_limited",
        [LANE_RETIRED] = "retired",
    };
    return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "unknown";
}

int64_t lane_next_change_ms(const struct lane *lane, int64_t now_ms)
{
    if (lane->paused_until_ms > now_ms)
        return lane->paused_until_ms;
    if (lane->breaker.state == BREAKER_OPEN)
        return lane->breaker.open_until_ms;
    if (lane->rate_per_s > 0) {
        int64_t w = token_bucket_wait_ms(&lane->bucket, now_ms);
        if (w > 0)
            return now_ms + w;
    }
    return 0;
}
