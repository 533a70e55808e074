/*
 * Unit tests: the shared pieces of a connection-based source — reconnect's backoff
 * with jitter and its stoppable wait, and the heartbeat watchdog.
 */
#include "core/clock.h"
#include "sources/heartbeat.h"
#include "sources/reconnect.h"
#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

static void test_backoff_doubles_with_jitter_up_to_max(void)
{
    struct reconnect r;
    reconnect_init(&r, 100, 1000);
    int64_t expected = 100;
    bool varied = false;
    int64_t first = -1;
    for (int i = 0; i < 8; i++) {
        int64_t d = reconnect_next_delay_ms(&r);
        CHECK(d >= expected / 2 && d <= expected);
        expected = expected * 2 > 1000 ? 1000 : expected * 2;
    }
    /* At the cap it stays there, and the jitter spreads the waits. */
    for (int i = 0; i < 50; i++) {
        int64_t d = reconnect_next_delay_ms(&r);
        CHECK(d >= 500 && d <= 1000);
        if (first < 0)
            first = d;
        else if (d != first)
            varied = true;
    }
    CHECK(varied);
    reconnect_succeeded(&r);
    int64_t d = reconnect_next_delay_ms(&r);
    CHECK(d >= 50 && d <= 100);
}

static void test_backoff_bounds(void)
{
    struct reconnect r;
    reconnect_init(&r, 0, 0); /* nonsense in: a 1 ms series */
    CHECK_INT(r.initial_ms, 1);
    CHECK_INT(r.max_ms, 1);
    CHECK(reconnect_next_delay_ms(&r) <= 1);
    reconnect_init(&r, INT64_MAX / 2, INT64_MAX); /* doubling never overflows */
    for (int i = 0; i < 4; i++)
        CHECK(reconnect_next_delay_ms(&r) >= 0);
    CHECK_INT(r.backoff_ms, INT64_MAX);
}

static int idle_calls;
static void on_idle(void *closure)
{
    (void)closure;
    idle_calls++;
}

static void test_wait_ticks_and_stops(void)
{
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    idle_calls = 0;
    int64_t t0 = clock_mono_ms();
    CHECK(!reconnect_wait(60, p[0], 10, on_idle, NULL)); /* ran its course */
    CHECK(clock_mono_ms() - t0 >= 60);
    CHECK(idle_calls >= 3); /* every tick */
    CHECK(write(p[1], "x", 1) == 1);
    t0 = clock_mono_ms();
    CHECK(reconnect_wait(60000, p[0], 10, NULL, NULL)); /* cut short by the stop pipe */
    CHECK(clock_mono_ms() - t0 < 30000);
    close(p[0]);
    close(p[1]);
}

static void test_heartbeat(void)
{
    struct heartbeat h;
    heartbeat_start(&h, 20000);
    int64_t now = h.last_seen_ms;
    CHECK_INT(heartbeat_deadline_ms(&h), now + 20000);
    CHECK(!heartbeat_expired(&h, now + 19999));
    CHECK(heartbeat_expired(&h, now + 20000));
    CHECK_INT(heartbeat_silence_ms(&h, now + 1234), 1234);
    h.last_seen_ms -= 5000; /* as if the last data came 5 s ago */
    heartbeat_seen(&h);     /* data now: the deadline moves on */
    CHECK(heartbeat_deadline_ms(&h) >= now + 20000);
}

int main(void)
{
    test_backoff_doubles_with_jitter_up_to_max();
    test_backoff_bounds();
    test_wait_ticks_and_stops();
    test_heartbeat();
    return unit_done();
}
