/*
 * Unit tests: stream_scan's message data as JSON — JSON kept byte for byte, text as a
 * string, anything else as base64 — its time formatting, and the cursor a newest-first
 * page gives (truncated / partial / next_before) for each way a walk can stop. (The
 * JetStream walks are covered by test_stream_api.py, test_dlq_api.py and
 * test_api_fairness.py.)
 */
#include "nats/stream_scan.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

/* The object {name: data} as printed by cJSON. */
static char *render(const char *data, size_t len)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = stream_scan_add_data(o, "data", data, len);
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

static void check_render(const char *data, size_t len, const char *want)
{
    char *got = render(data, len);
    CHECK_STR(got, want);
    free(got);
}

static void test_data(void)
{
    check_render("{\"a\":1}", 7, "{\"data\":{\"a\":1}}");
    /* Big numbers keep their digits (no double round trip). */
    check_render("{\"n\":12345678901234567890}", 26, "{\"data\":{\"n\":12345678901234567890}}");
    check_render("[1, 2]", 6, "{\"data\":[1, 2]}");
    check_render("hello", 5, "{\"data\":\"hello\"}");
    check_render("{\"a\":1} trailing", 16, "{\"data\":\"{\\\"a\\\":1} trailing\"}");
    check_render("", 0, "{\"data\":\"\"}");
    check_render("caf\xc3\xa9", 5, "{\"data\":\"caf\xc3\xa9\"}");
    /* Not UTF-8, or with a NUL: base64. */
    check_render("\xff\xfe", 2, "{\"data_base64\":\"//4=\"}");
    check_render("a\0b", 3, "{\"data_base64\":\"YQBi\"}");
    check_render("\xc0\xaf", 2, "{\"data_base64\":\"wK8=\"}");     /* overlong '/' */
    check_render("\xed\xa0\x80", 3, "{\"data_base64\":\"7aCA\"}"); /* a surrogate */
    check_render("\xe2\x82", 2, "{\"data_base64\":\"4oI=\"}");     /* cut short */
    /* JSON text with invalid UTF-8 inside a string is not embedded raw. */
    check_render("\"\xff\"", 3, "{\"data_base64\":\"Iv8i\"}");
    /* A byte order mark before JSON (cJSON skips it): a string, so the answer stays JSON. */
    check_render("\xef\xbb\xbf{\"a\":1}", 10, "{\"data\":\"\xef\xbb\xbf{\\\"a\\\":1}\"}");
}

static void test_time(void)
{
    char ts[40];
    stream_scan_format_ns(1700000000123456789LL, ts, sizeof ts);
    CHECK_STR(ts, "2023-11-14T22:13:20.123Z");
    stream_scan_format_ns(0, ts, sizeof ts);
    CHECK_STR(ts, "1970-01-01T00:00:00.000Z");
}

static struct stream_scan_page page(enum stream_scan_stop stop, uint64_t next_seq,
                                    uint64_t first_seq, bool all_seen)
{
    struct stream_scan_result r = {.visited = 1, .stop = stop, .next_seq = next_seq};
    return stream_scan_page_of(&r, first_seq, all_seen);
}

static void test_page(void)
{
    /* The walk reached the first sequence: nothing below. */
    struct stream_scan_page p = page(STREAM_SCAN_END, 0, 1, false);
    CHECK(!p.truncated);
    CHECK(p.partial == NULL);
    /* The page filled up (the callback stopped) above the first sequence. */
    p = page(STREAM_SCAN_STOPPED, 41, 1, false);
    CHECK(p.truncated);
    CHECK_INT(p.next_before, 42);
    CHECK(p.partial == NULL);
    /* ... at the first sequence itself: the walk said there is no next one. */
    p = page(STREAM_SCAN_STOPPED, 0, 1, false);
    CHECK(!p.truncated);
    /* Every message of the filter has been found: nothing below, whatever stopped it. */
    p = page(STREAM_SCAN_DEADLINE, 500, 1, true);
    CHECK(!p.truncated);
    CHECK(p.partial == NULL);
    /* Stopped by a limit of the walk: partial, and the cursor is the unvisited sequence. */
    p = page(STREAM_SCAN_DEADLINE, 500, 1, false);
    CHECK(p.truncated);
    CHECK_INT(p.next_before, 501);
    CHECK_STR(p.partial, "deadline");
    p = page(STREAM_SCAN_BUDGET, 7, 7, false);
    CHECK(p.truncated);
    CHECK_INT(p.next_before, 8);
    CHECK_STR(p.partial, "scan_limit");
    p = page(STREAM_SCAN_ERROR, 9, 1, false);
    CHECK_STR(p.partial, "error");
    CHECK_INT(p.next_before, 10);
    /* The next sequence is below the first one (trimmed meanwhile): done. */
    p = page(STREAM_SCAN_BUDGET, 3, 5, false);
    CHECK(!p.truncated);
    CHECK(p.partial == NULL);

    cJSON *o = cJSON_CreateObject();
    struct stream_scan_result r = {.visited = 20000, .stop = STREAM_SCAN_BUDGET, .next_seq = 99};
    struct stream_scan_page pg = stream_scan_page_of(&r, 1, false);
    stream_scan_add_page(o, &r, &pg);
    char *text = cJSON_PrintUnformatted(o);
    CHECK_STR(text, "{\"scanned\":20000,\"truncated\":true,\"partial\":true,"
                    "\"partial_reason\":\"scan_limit\",\"next_before\":100}");
    free(text);
    cJSON_Delete(o);
}

int main(void)
{
    test_data();
    test_time();
    test_page();
    return unit_done();
}
