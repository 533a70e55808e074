/*
 * Unit tests: settle_rule — what becomes of one endpoint's delivery after an answer
 * (ack, retry after the backoff, hold for a Retry-After, dead-letter with its reason),
 * and the checks before a parked delivery is called. No NATS, no HTTP.
 */
#include "delivery/settle_rule.h"
#include "unit.h"

#include <string.h>

static const int64_t BACKOFF[] = {1000, 5000, 30000};
static const struct settle_limits LIM = {
    .max_deliver = 4, .max_retry_age_ms = 60000, .backoff_ms = BACKOFF, .backoff_count = 3};

static struct settle_decision after(int status, int64_t pause, int failures, int64_t age)
{
    struct settle_answer a = {.status = status, .pause_ms = pause};
    return settle_after_answer(&a, failures, age, &LIM);
}

static void test_ack(void)
{
    for (int st = 200; st < 300; st += 37) {
        struct settle_decision d = after(st, -1, 2, 0);
        CHECK_INT(d.action, SETTLE_ACK);
        CHECK_INT(d.failures, 2);
    }
}

static void test_retry_follows_the_backoff(void)
{
    struct settle_decision d = after(500, -1, 0, 0);
    CHECK_INT(d.action, SETTLE_RETRY);
    CHECK_INT(d.failures, 1);
    CHECK_INT(d.delay_ms, 1000);
    d = after(0, -1, 1, 0); /* no answer (timeout, refused) */
    CHECK_INT(d.action, SETTLE_RETRY);
    CHECK_INT(d.delay_ms, 5000);
    d = after(502, -1, 2, 0);
    CHECK_INT(d.delay_ms, 30000);
    CHECK_INT(settle_backoff_ms(&LIM, 9), 30000); /* the last one repeats */
    CHECK_INT(settle_backoff_ms(&LIM, 0), 1000);
}

static void test_attempts_run_out(void)
{
    struct settle_decision d = after(500, -1, 3, 0);
    CHECK_INT(d.action, SETTLE_DEAD_LETTER);
    CHECK_STR(d.reason, "max_deliveries_exceeded");
    CHECK_INT(d.failures, 4);
}

static void test_gone_at_once(void)
{
    struct settle_decision d = after(410, -1, 0, 0);
    CHECK_INT(d.action, SETTLE_DEAD_LETTER);
    CHECK_STR(d.reason, "endpoint_gone");
    CHECK_INT(d.failures, 1);
}

static void test_retry_after(void)
{
    struct settle_decision d = after(429, 2000, 1, 0);
    CHECK_INT(d.action, SETTLE_HOLD); /* not counted */
    CHECK_INT(d.failures, 1);
    CHECK_INT(d.delay_ms, 2000);
    d = after(503, 0, 0, 0);
    CHECK_INT(d.action, SETTLE_HOLD);
    /* A 503 without Retry-After is a plain failure. */
    d = after(503, -1, 0, 0);
    CHECK_INT(d.action, SETTLE_RETRY);
    /* Retry-After on another status is ignored. */
    d = after(500, 2000, 0, 0);
    CHECK_INT(d.action, SETTLE_RETRY);
    CHECK_INT(d.delay_ms, 1000);
    /* Past the age limit once waited: dead-lettered. */
    d = after(429, 30000, 0, 40000);
    CHECK_INT(d.action, SETTLE_DEAD_LETTER);
    CHECK_STR(d.reason, "endpoint_unavailable");
}

static void test_age_limit(void)
{
    /* The next try would come after max_retry_age. */
    struct settle_decision d = after(500, -1, 2, 50000);
    CHECK_INT(d.action, SETTLE_DEAD_LETTER);
    CHECK_STR(d.reason, "endpoint_unavailable");
    d = after(500, -1, 0, 58999);
    CHECK_INT(d.action, SETTLE_RETRY);
    d = after(500, -1, 0, 59001);
    CHECK_INT(d.action, SETTLE_DEAD_LETTER);
}

static void test_before_call(void)
{
    CHECK(settle_before_call(0, 0, &LIM) == NULL);
    CHECK(settle_before_call(3, 59999, &LIM) == NULL);
    CHECK_STR(settle_before_call(4, 0, &LIM), "max_deliveries_exceeded");
    CHECK_STR(settle_before_call(0, 60001, &LIM), "endpoint_unavailable");
}

int main(void)
{
    test_ack();
    test_retry_follows_the_backoff();
    test_attempts_run_out();
    test_gone_at_once();
    test_retry_after();
    test_age_limit();
    test_before_call();
    return unit_done();
}
