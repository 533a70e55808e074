/*
 * Unit tests: api_sched, the choice a free API worker makes — the longest-waiting head
 * among the lanes under their cap (so scans at their cap never hold up a light job, and
 * a flood of light jobs never shuts out the others), a blocked head answered 503 once it
 * has waited the queue timeout, and otherwise a sleep until the next head's deadline.
 */
#include "http/api_sched.h"
#include "unit.h"

enum { LIGHT, SCAN, DLQ, N };

static struct api_sched_pick pick(const struct api_sched_lane *lanes, int64_t now)
{
    return api_sched_pick(lanes, N, now, 5000);
}

static void test_idle(void)
{
    struct api_sched_lane l[N] = {{0, 0, 4, 0}, {0, 0, 2, 0}, {0, 0, 1, 0}};
    struct api_sched_pick p = pick(l, 1000);
    CHECK_INT(p.lane, -1);
    CHECK(!p.expire);
    CHECK_INT(p.wake_ms, 0); /* nothing waits: sleep until woken */
}

static void test_light_not_behind_scans(void)
{
    /* Every scan slot is busy and scans have queued for long: the light job runs. */
    struct api_sched_lane l[N] = {{1, 1, 4, 900}, {16, 2, 2, 1}, {4, 1, 1, 2}};
    struct api_sched_pick p = pick(l, 1000);
    CHECK_INT(p.lane, LIGHT);
    CHECK(!p.expire);
    /* With a scan slot free, the older job goes first; the light one takes the next
     * worker (the caps leave one for it). */
    struct api_sched_lane m[N] = {{1, 0, 4, 900}, {3, 1, 2, 100}, {0, 0, 1, 0}};
    p = pick(m, 1000);
    CHECK_INT(p.lane, SCAN);
    m[SCAN].running = 2;
    p = pick(m, 1000);
    CHECK_INT(p.lane, LIGHT);
    /* A light job that queued first goes first. */
    struct api_sched_lane k[N] = {{1, 0, 4, 50}, {3, 0, 2, 100}, {1, 0, 1, 60}};
    p = pick(k, 1000);
    CHECK_INT(p.lane, LIGHT);
    /* Equal age: the lower lane. */
    k[SCAN].head_since_ms = 50;
    p = pick(k, 1000);
    CHECK_INT(p.lane, LIGHT);
}

static void test_light_flood_does_not_starve(void)
{
    /* Light jobs keep coming, but an older dead-letter job still gets a worker. */
    struct api_sched_lane l[N] = {{200, 3, 4, 500}, {0, 0, 2, 0}, {1, 0, 1, 400}};
    struct api_sched_pick p = pick(l, 1000);
    CHECK_INT(p.lane, DLQ);
    CHECK(!p.expire);
}

static void test_oldest_runnable(void)
{
    struct api_sched_lane l[N] = {{0, 0, 4, 0}, {2, 1, 2, 300}, {1, 0, 1, 200}};
    struct api_sched_pick p = pick(l, 1000);
    CHECK_INT(p.lane, DLQ);
    CHECK(!p.expire);
    l[DLQ].head_since_ms = 400;
    p = pick(l, 1000);
    CHECK_INT(p.lane, SCAN);
    /* The dead-letter lane runs while the scan lane is full. */
    struct api_sched_lane m[N] = {{0, 1, 4, 0}, {9, 2, 2, 100}, {1, 0, 1, 800}};
    p = pick(m, 1000);
    CHECK_INT(p.lane, DLQ);
    CHECK(!p.expire);
}

static void test_blocked_waits_then_expires(void)
{
    struct api_sched_lane l[N] = {{0, 1, 4, 0}, {3, 2, 2, 1000}, {1, 1, 1, 2500}};
    struct api_sched_pick p = pick(l, 2000);
    CHECK_INT(p.lane, -1);
    CHECK_INT(p.wake_ms, 6000); /* the scan head's deadline: 1000 + 5000 */
    p = pick(l, 5999);
    CHECK_INT(p.lane, -1);
    p = pick(l, 6000);
    CHECK_INT(p.lane, SCAN);
    CHECK(p.expire);
    /* The dead-letter head is due later. */
    l[SCAN].queued = 0;
    p = pick(l, 6000);
    CHECK_INT(p.lane, -1);
    CHECK_INT(p.wake_ms, 7500);
    p = pick(l, 9000);
    CHECK_INT(p.lane, DLQ);
    CHECK(p.expire);
}

static void test_runnable_beats_expiry(void)
{
    /* A head past its deadline whose lane has a free slot is run, not refused: a worker
     * is there for it. */
    struct api_sched_lane l[N] = {{0, 0, 4, 0}, {1, 1, 2, 0}, {1, 1, 1, 0}};
    struct api_sched_pick p = pick(l, 100000);
    CHECK_INT(p.lane, SCAN);
    CHECK(!p.expire);
    /* The light lane is never blocked while under its cap (all workers). */
    struct api_sched_lane m[N] = {{5, 4, 4, 0}, {0, 0, 2, 0}, {0, 0, 1, 0}};
    p = pick(m, 100);
    CHECK_INT(p.lane, -1);
    CHECK_INT(p.wake_ms, 5000);
}

int main(void)
{
    test_idle();
    test_light_not_behind_scans();
    test_light_flood_does_not_starve();
    test_oldest_runnable();
    test_blocked_waits_then_expires();
    test_runnable_beats_expiry();
    return unit_done();
}
