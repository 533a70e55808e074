/*
 * Unit tests: lane — when an endpoint's lane may start a call (its concurrency limit,
 * a Retry-After pause, the breaker, the rate limit), when it is "behind" (new events
 * are parked instead of queued), the state shown for it, and when a blocked lane may
 * change next.
 */
#include "delivery/lane.h"
#include "unit.h"

#include <string.h>

static void lane_init(struct lane *l, int max_concurrent, int failures_to_open, double rate)
{
    memset(l, 0, sizeof *l);
    l->max_concurrent = max_concurrent;
    l->rate_per_s = rate;
    breaker_init(&l->breaker, failures_to_open, 1000, 4000);
    token_bucket_init(&l->bucket, rate, 0, 0);
    atomic_init(&l->parked, -1);
    atomic_init(&l->poll_gen, 0);
}

static void test_concurrency_limit(void)
{
    struct lane l;
    lane_init(&l, 2, 5, 0);
    CHECK(lane_may_start(&l, 0));
    l.in_flight = 1;
    CHECK(lane_may_start(&l, 0));
    l.in_flight = 2;
    CHECK(!lane_may_start(&l, 0));
}

static void test_pause(void)
{
    struct lane l;
    lane_init(&l, 4, 5, 0);
    l.paused_until_ms = 500;
    CHECK(!lane_may_start(&l, 100));
    CHECK(lane_is_behind(&l, 100));
    CHECK_STR(lane_state_name(lane_state(&l, 100, true)), "paused");
    CHECK_INT(lane_next_change_ms(&l, 100), 500);
    CHECK(lane_may_start(&l, 500));
    CHECK(!lane_is_behind(&l, 600));
    CHECK_STR(lane_state_name(lane_state(&l, 600, true)), "healthy");
}

static void test_breaker_states(void)
{
    struct lane l;
    lane_init(&l, 4, 2, 0);
    CHECK(lane_may_start(&l, 0));
    lane_call_result(&l, false, 500, NULL, 0);
    CHECK_STR(lane_state_name(lane_state(&l, 0, true)), "failing");
    CHECK_STR(l.last_error, "HTTP 500");
    CHECK(!lane_is_behind(&l, 0));
    CHECK(lane_may_start(&l, 0));
    lane_call_result(&l, false, 0, "connection refused", 0);
    CHECK_STR(lane_state_name(lane_state(&l, 0, true)), "open");
    CHECK_STR(l.last_error, "connection refused");
    CHECK(lane_is_behind(&l, 0));
    CHECK(!lane_may_start(&l, 999));
    CHECK_INT(lane_next_change_ms(&l, 10), 1000);
    CHECK(lane_may_start(&l, 1000)); /* the probe */
    CHECK_STR(lane_state_name(lane_state(&l, 1000, true)), "half_open");
    CHECK(!lane_may_start(&l, 1000)); /* one probe only */
    lane_call_result(&l, true, 200, NULL, 1001);
    CHECK_STR(lane_state_name(lane_state(&l, 1001, true)), "healthy");
    CHECK_INT(l.delivered, 1);
    CHECK_INT(l.failed, 2);
    CHECK_STR(l.last_error, "");
}

static void test_rate_limit(void)
{
    struct lane l;
    lane_init(&l, 10, 5, 2); /* 2/s, burst 2 */
    l.waiting = 1;
    CHECK(lane_may_start(&l, 0));
    CHECK(lane_may_start(&l, 0));
    CHECK(!lane_may_start(&l, 0));
    CHECK_STR(lane_state_name(lane_state(&l, 0, true)), "rate_limited");
    CHECK_INT(lane_next_change_ms(&l, 0), 500);
    CHECK(lane_may_start(&l, 500));
}

static void test_parked_backlog(void)
{
    struct lane l;
    lane_init(&l, 4, 5, 0);
    CHECK(!lane_is_behind(&l, 0)); /* unknown counts as none */
    lane_parked_one(&l);
    CHECK(lane_is_behind(&l, 0));
    CHECK_INT(lane_parked(&l), 1);
    /* A new count from the stream replaces what this process added before it. */
    atomic_store(&l.parked, 0);
    atomic_fetch_add(&l.poll_gen, 1);
    CHECK_INT(lane_parked(&l), 0);
    CHECK(!lane_is_behind(&l, 0));
    atomic_store(&l.parked, 3);
    atomic_fetch_add(&l.poll_gen, 1);
    CHECK(lane_is_behind(&l, 0));
    atomic_store(&l.parked, 0);
    atomic_fetch_add(&l.poll_gen, 1);
    l.held_records = 1; /* records held here: still behind */
    CHECK(lane_is_behind(&l, 0));
}

static void test_retired(void)
{
    struct lane l;
    lane_init(&l, 4, 5, 0);
    CHECK_STR(lane_state_name(lane_state(&l, 0, false)), "retired");
}

int main(void)
{
    test_concurrency_limit();
    test_pause();
    test_breaker_states();
    test_rate_limit();
    test_parked_backlog();
    test_retired();
    return unit_done();
}
