/*
 * Unit tests: esl_domain — which header names an event's tenant, in which order, and
 * which values are refused (the hostname rules themselves: test_hostname).
 */
#include "sources/esl/esl_domain.h"
#include "sources/esl/esl_event.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

static bool domain_of(const char *const *kv, size_t n, const char *fallback, char *out)
{
    struct esl_header h[8];
    for (size_t i = 0; i < n; i++)
        h[i] = (struct esl_header){kv[2 * i], kv[2 * i + 1]};
    struct esl_event ev = {.headers = h, .header_count = n};
    return esl_event_domain(&ev, fallback, out, 256);
}

static void test_order(void)
{
    char d[256];
    const char *order[] = {
        "variable_presence_id",           "1000@presence.example",
        "variable_sip_from_host",         "from.example",
        "variable_sip_to_host",           "to.example",
        "variable_sip_req_host",          "req.example",
        "variable_requested_domain_name", "requested.example",
        "variable_dialed_domain",         "dialed.example",
        "variable_domain_name",           "Domain.Example.",
    };
    /* Each source in turn is the best one present. */
    static const char *const want[] = {"presence.example", "from.example",      "to.example",
                                       "req.example",      "requested.example", "dialed.example",
                                       "domain.example"};
    for (size_t n = 1; n <= 7; n++) {
        CHECK(domain_of(order, n, NULL, d));
        CHECK_STR(d, want[n - 1]);
        /* ... and its index is its rank, 0 the best. */
        struct esl_header h[8];
        for (size_t i = 0; i < n; i++)
            h[i] = (struct esl_header){order[2 * i], order[2 * i + 1]};
        struct esl_event ev = {.headers = h, .header_count = n};
        CHECK_INT(esl_event_domain_source(&ev, d, sizeof d), ESL_DOMAIN_SOURCES - (int)n);
    }
}

static void test_refused(void)
{
    char d[256];
    /* Invalid values are skipped, in favour of the next source. */
    static const char *const bad[] = {
        "192.0.2.1",
        "[::1]",
        "fd00::2",
        "12345",
        "a..b",
        "-a.example",
        "a-.example",
        "under_score.example",
        "space .example",
        "",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", /* 64 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *kv[] = {"variable_domain_name", bad[i], "variable_sip_req_host", "ok.example"};
        CHECK(domain_of(kv, 2, NULL, d));
        CHECK_STR(d, "ok.example");
        CHECK(!domain_of(kv, 1, NULL, d));
        CHECK_STR(d, "");
    }
    char longname[300];
    memset(longname, 'a', sizeof longname);
    for (int i = 63; i < 254; i += 64)
        longname[i] = '.';
    longname[254] = '\0'; /* 254 characters */
    const char *kv_long[] = {"variable_domain_name", longname};
    CHECK(!domain_of(kv_long, 1, NULL, d));
    longname[253] = '\0';
    CHECK(domain_of(kv_long, 1, NULL, d));
    const char *kv_pres[] = {"variable_presence_id", "no-at-sign.example"};
    CHECK(domain_of(kv_pres, 1, "Fallback.Example", d)); /* no '@': not a host part */
    CHECK_STR(d, "fallback.example");
    const char *kv_pres2[] = {"variable_presence_id", "a@b@Last.Example"};
    CHECK(domain_of(kv_pres2, 1, NULL, d)); /* the last '@' */
    CHECK_STR(d, "last.example");
    CHECK(!domain_of(kv_pres, 1, "10.0.0.1", d));
    CHECK(domain_of(kv_pres, 0, "localhost", d));
    CHECK_STR(d, "localhost");
}

static void test_arguments(void)
{
    char d[256];
    CHECK(esl_event_domain(NULL, "x.example", d, sizeof d));
    CHECK_STR(d, "x.example");
    CHECK(!esl_event_domain(NULL, NULL, d, sizeof d));
    CHECK_STR(d, "");
    CHECK(!esl_event_domain(NULL, "x.example", NULL, 0));
    CHECK(!esl_event_domain(NULL, "x.example", d, 0));
    CHECK_INT(esl_event_domain_source(NULL, d, sizeof d), -1);
    /* A small buffer refuses a name that does not fit rather than cutting it. */
    const char *kv[] = {"variable_domain_name", "long-enough.example"};
    CHECK(!domain_of(kv, 0, NULL, d));
    struct esl_header h = {kv[0], kv[1]};
    struct esl_event ev = {.headers = &h, .header_count = 1};
    char small[8];
    CHECK(!esl_event_domain(&ev, "short.ex", small, sizeof small));
    CHECK_STR(small, "");
    CHECK(esl_event_domain(&ev, "short.e", small, sizeof small));
    CHECK_STR(small, "short.e");
}

int main(void)
{
    test_order();
    test_refused();
    test_arguments();
    return unit_done();
}
