/*
 * Unit tests: endpoint_health — the circuit breaker's states and cool-downs, the token
 * bucket's burst, refill and waits, and what a Retry-After value asks for in each of
 * its forms (and the values that must be ignored).
 */
#include "delivery/endpoint_health.h"
#include "unit.h"

#include <stdint.h>
#include <stdio.h>

/* ---- circuit breaker ---- */

/* n calls at `now`, each allowed and each failing. */
static void fail_n(struct breaker *b, int n, int64_t now)
{
    for (int i = 0; i < n; i++) {
        CHECK(breaker_may_call(b, now));
        breaker_result(b, false, now);
    }
}

static void test_breaker_opens_after_failures(void)
{
    struct breaker b;
    breaker_init(&b, 3, 1000, 8000);
    CHECK_STR(breaker_state_name(b.state), "closed");
    fail_n(&b, 2, 100);
    CHECK_INT(b.state, BREAKER_CLOSED);
    CHECK_INT(b.consecutive_failures, 2);
    CHECK(breaker_may_call(&b, 100));
    breaker_result(&b, false, 100);
    CHECK_INT(b.state, BREAKER_OPEN);
    CHECK_STR(breaker_state_name(b.state), "open");
    CHECK_INT(b.open_until_ms, 1100);

    /* no call during the cool-down */
    CHECK(!breaker_may_call(&b, 100));
    CHECK(!breaker_may_call(&b, 1099));
    CHECK_INT(b.state, BREAKER_OPEN);

    /* then exactly one probe */
    CHECK(breaker_may_call(&b, 1100));
    CHECK_INT(b.state, BREAKER_HALF_OPEN);
    CHECK_STR(breaker_state_name(b.state), "half_open");
    CHECK(!breaker_may_call(&b, 1100));
    CHECK(!breaker_may_call(&b, 50000));

    /* its success closes the breaker and clears the count */
    breaker_result(&b, true, 1200);
    CHECK_INT(b.state, BREAKER_CLOSED);
    CHECK_INT(b.consecutive_failures, 0);
    CHECK(breaker_may_call(&b, 1200));
    CHECK(breaker_may_call(&b, 1200));
}

static void test_breaker_probe_failure_doubles(void)
{
    struct breaker b;
    breaker_init(&b, 1, 1000, 5000);
    fail_n(&b, 1, 0);
    CHECK_INT(b.state, BREAKER_OPEN);
    CHECK_INT(b.open_until_ms, 1000);

    /* each failed probe reopens with the cool-down doubled, up to the maximum */
    static const int64_t expected[] = {2000, 4000, 5000, 5000};
    int64_t now = 1000;
    for (int i = 0; i < 4; i++) {
        CHECK(breaker_may_call(&b, now));
        breaker_result(&b, false, now);
        CHECK_INT(b.state, BREAKER_OPEN);
        CHECK_INT(b.cooldown_ms, expected[i]);
        CHECK_INT(b.open_until_ms, now + expected[i]);
        CHECK(!breaker_may_call(&b, now + expected[i] - 1));
        now += expected[i];
    }

    /* a successful probe resets the cool-down: the next opening lasts 1 s again */
    CHECK(breaker_may_call(&b, now));
    breaker_result(&b, true, now);
    CHECK_INT(b.state, BREAKER_CLOSED);
    CHECK_INT(b.cooldown_ms, 1000);
    fail_n(&b, 1, now);
    CHECK_INT(b.open_until_ms, now + 1000);
}

static void test_breaker_cancel(void)
{
    struct breaker b;
    breaker_init(&b, 2, 500, 500);
    fail_n(&b, 2, 0);
    CHECK(breaker_may_call(&b, 500));
    CHECK(!breaker_may_call(&b, 500));
    /* the probe never went out: another may go */
    breaker_cancel(&b);
    CHECK_INT(b.state, BREAKER_HALF_OPEN);
    CHECK(breaker_may_call(&b, 501));
    CHECK(!breaker_may_call(&b, 501));
    breaker_result(&b, false, 600);
    CHECK_INT(b.state, BREAKER_OPEN);
    CHECK_INT(b.cooldown_ms, 500); /* max_cooldown 500 caps the doubling */
    CHECK_INT(b.open_until_ms, 1100);

    /* cancel in the closed state changes nothing */
    struct breaker c;
    breaker_init(&c, 2, 500, 500);
    breaker_cancel(&c);
    CHECK_INT(c.state, BREAKER_CLOSED);
    CHECK(breaker_may_call(&c, 0));
}

static void test_breaker_disabled(void)
{
    struct breaker b;
    breaker_init(&b, 0, 1000, 2000);
    fail_n(&b, 100, 0);
    CHECK_INT(b.state, BREAKER_CLOSED);
    CHECK(breaker_may_call(&b, 0));
    CHECK_INT(b.consecutive_failures, 100);
}

static void test_breaker_success_resets_count(void)
{
    struct breaker b;
    breaker_init(&b, 3, 1000, 2000);
    fail_n(&b, 2, 0);
    CHECK(breaker_may_call(&b, 0));
    breaker_result(&b, true, 0);
    CHECK_INT(b.consecutive_failures, 0);
    fail_n(&b, 2, 0);
    CHECK_INT(b.state, BREAKER_CLOSED);
    fail_n(&b, 1, 0);
    CHECK_INT(b.state, BREAKER_OPEN);
}

/* ---- token bucket ---- */

static void test_bucket_burst_and_refill(void)
{
    struct token_bucket tb;
    token_bucket_init(&tb, 10, 0, 1000); /* burst 0: taken as 10 */
    CHECK(tb.burst == 10);
    for (int i = 0; i < 10; i++)
        CHECK(token_bucket_take(&tb, 1000));
    CHECK(!token_bucket_take(&tb, 1000));
    CHECK_INT(token_bucket_wait_ms(&tb, 1000), 100);
    CHECK_INT(token_bucket_wait_ms(&tb, 1050), 50);
    CHECK(!token_bucket_take(&tb, 1099));
    CHECK(token_bucket_take(&tb, 1100));
    CHECK(!token_bucket_take(&tb, 1100));

    /* a long idle time refills up to the burst, not beyond */
    CHECK_INT(token_bucket_wait_ms(&tb, 60000), 0);
    for (int i = 0; i < 10; i++)
        CHECK(token_bucket_take(&tb, 60000));
    CHECK(!token_bucket_take(&tb, 60000));
}

static void test_bucket_slow_rate(void)
{
    struct token_bucket tb;
    token_bucket_init(&tb, 0.5, 0, 0); /* burst max(1, 0.5) = 1 */
    CHECK(tb.burst == 1);
    CHECK_INT(token_bucket_wait_ms(&tb, 0), 0);
    CHECK(token_bucket_take(&tb, 0));
    CHECK(!token_bucket_take(&tb, 0));
    CHECK_INT(token_bucket_wait_ms(&tb, 0), 2000);
    CHECK(!token_bucket_take(&tb, 1999));
    CHECK_INT(token_bucket_wait_ms(&tb, 1999), 1);
    CHECK(token_bucket_take(&tb, 2000));

    /* 1/h: an hour's wait */
    token_bucket_init(&tb, 1.0 / 3600, 1, 0);
    CHECK(token_bucket_take(&tb, 0));
    CHECK_INT(token_bucket_wait_ms(&tb, 0), 3600000);

    /* a waited-for token is really there (no rounding short of 1) */
    token_bucket_init(&tb, 3, 1, 0);
    int64_t now = 0;
    for (int i = 0; i < 20; i++) {
        if (!token_bucket_take(&tb, now)) {
            now += token_bucket_wait_ms(&tb, now);
            CHECK(token_bucket_take(&tb, now));
        }
    }
}

static void test_bucket_explicit_burst(void)
{
    struct token_bucket tb;
    token_bucket_init(&tb, 100, 3, 0);
    CHECK(token_bucket_take(&tb, 0));
    CHECK(token_bucket_take(&tb, 0));
    CHECK(token_bucket_take(&tb, 0));
    CHECK(!token_bucket_take(&tb, 0));
    CHECK_INT(token_bucket_wait_ms(&tb, 0), 10);
}

static void test_bucket_unlimited(void)
{
    struct token_bucket tb;
    token_bucket_init(&tb, 0, 0, 0);
    bool all = true;
    for (int i = 0; i < 10000; i++)
        all = token_bucket_take(&tb, 0) && all;
    CHECK(all);
    CHECK_INT(token_bucket_wait_ms(&tb, 0), 0);
}

/* ---- Retry-After ---- */

#define T1994 INT64_C(784111777000) /* Sun, 06 Nov 1994 08:49:37 GMT, in ms */
#define HOUR INT64_C(3600000)

static int64_t ra(const char *value, int64_t now)
{
    return retry_after_parse_ms(value, now, HOUR);
}

static void test_retry_after_dates(void)
{
    CHECK_INT(ra("Sun, 06 Nov 1994 08:49:37 GMT", T1994 - 10000), 10000);
    CHECK_INT(ra("Sunday, 06-Nov-94 08:49:37 GMT", T1994 - 10000), 10000);
    CHECK_INT(ra("Sun Nov  6 08:49:37 1994", T1994 - 10000), 10000);
    CHECK_INT(retry_after_parse_ms("Wed Nov 16 08:49:37 1994", T1994 - 10000, INT64_MAX),
              INT64_C(10) * 86400000 + 10000);
    /* the date now, and in the past */
    CHECK_INT(ra("Sun, 06 Nov 1994 08:49:37 GMT", T1994), 0);
    CHECK_INT(ra("Sun, 06 Nov 1994 08:49:37 GMT", T1994 + 1), 0);
    CHECK_INT(ra("Sunday, 06-Nov-94 08:49:37 GMT", T1994 + 86400000), 0);
    /* a date further off than the cap */
    CHECK_INT(ra("Sun, 06 Nov 1994 08:49:37 GMT", T1994 - 2 * HOUR), HOUR);
    CHECK_INT(retry_after_parse_ms("Fri, 31 Dec 9999 23:59:59 GMT", 0, INT64_MAX),
              INT64_C(253402300799000));
    CHECK_INT(retry_after_parse_ms("Fri, 31 Dec 9999 23:59:59 GMT", INT64_MIN, HOUR), HOUR);
    /* RFC 850 two-digit years: 70..99 are 19xx, the rest 20xx */
    CHECK_INT(ra("Thursday, 01-Jan-70 00:00:00 GMT", -1000), 1000);
    CHECK_INT(ra("Tuesday, 01-Jan-69 00:00:00 GMT", INT64_C(3124224000000) - 7000), 7000);
    /* leap days, a leap second */
    CHECK_INT(ra("Tue, 29 Feb 2000 00:00:00 GMT", INT64_C(951782400000) - 1), 1);
    CHECK_INT(ra("Sun, 06 Nov 1994 08:49:60 GMT", T1994), 23000);
    /* blanks around the value */
    CHECK_INT(ra(" \tSun, 06 Nov 1994 08:49:37 GMT \t", T1994 - 10000), 10000);
}

static void test_retry_after_seconds(void)
{
    CHECK_INT(ra("120", 0), 120000);
    CHECK_INT(ra("0", 0), 0);
    CHECK_INT(ra("007", 0), 7000);
    CHECK_INT(ra("  120\t ", 0), 120000);
    CHECK_INT(ra("3600", 0), HOUR);
    CHECK_INT(ra("3601", 0), HOUR);
    CHECK_INT(ra("99999999999999999999999999999999999999", 0), HOUR);
    CHECK_INT(retry_after_parse_ms("9223372036854775807", 0, INT64_MAX), INT64_MAX);
    CHECK_INT(retry_after_parse_ms("9223372036854775", 0, INT64_MAX), INT64_C(9223372036854775000));
    CHECK_INT(retry_after_parse_ms("5", 0, 0), 0);
}

static void test_retry_after_invalid(void)
{
    static const char *const bad[] = {
        "",
        "   ",
        "-1",
        "+1",
        "1.5",
        "1e3",
        "12a",
        "12 3",
        "0x10",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 29 Feb 1900 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT x",
        "Sun, 06 Nov 1994 08:49:37 GMTx",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "sun, 06 nov 1994 08:49:37 gmt",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 31-Feb-94 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun Nov 31 08:49:37 1994",
        "Sun Nov  6 8:49:37 1994",
        "Sun",
        "Sun,",
        "tomorrow",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t got = ra(bad[i], 0);
        CHECK_INT(got, -1);
        if (got != -1)
            printf("#   value: \"%s\"\n", bad[i]);
    }
    CHECK_INT(ra(NULL, 0), -1);
}

int main(void)
{
    test_breaker_opens_after_failures();
    test_breaker_probe_failure_doubles();
    test_breaker_cancel();
    test_breaker_disabled();
    test_breaker_success_resets_count();
    test_bucket_burst_and_refill();
    test_bucket_slow_rate();
    test_bucket_explicit_burst();
    test_bucket_unlimited();
    test_retry_after_dates();
    test_retry_after_seconds();
    test_retry_after_invalid();
    return unit_done();
}
