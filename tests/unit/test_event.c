/* Unit tests: event (ingress validation, byte-exact splice, subjects). */
#include "core/event.h"
#include "core/json_scan.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2026-01-02T03:04:05.678Z */
static const long long T = 1767323045678LL;

static enum event_status prep(const char *body, struct event_info *info, char **out)
{
    size_t len = 0;
    *out = NULL;
    return event_prepare(body, strlen(body), T, info, out, &len);
}

static void test_prepare_keeps_bytes(void)
{
    struct event_info info;
    char *out;
    const char *body =
        "{ \"domain\" : \"example.com\", \"big\": 12345678901234567890,"
        " \"u\":\"\\u00e9t\\u00e9 \xc3\xa9\", \"q\":\"a\\\"b\", \"n\":{\"x\":[1,2.50,3e5]} }  \n";
    CHECK_INT(prep(body, &info, &out), EVENT_OK);
    CHECK_STR(info.domain, "example.com");
    CHECK(!info.has_event_id);
    CHECK_INT(strlen(info.event_id), 36);
    CHECK(info.event_id[14] == '4');
    /* The sender's bytes up to (not including) the closing brace are kept exactly. */
    const char *brace = strrchr(body, '}');
    CHECK(strncmp(out, body, (size_t)(brace - body)) == 0);
    char tail[200];
    snprintf(tail, sizeof tail,
             ",\"event_id\":\"%s\",\"received_at\":\"2026-01-02T03:04:05.678Z\"}", info.event_id);
    CHECK_STR(out + (brace - body), tail);
    free(out);
}

static void test_prepare_keeps_sender_ids(void)
{
    struct event_info info;
    char *out;
    CHECK_INT(
        prep("{\"domain\":\"a.b\",\"event_id\":\"abc-1\",\"received_at\":\"x\"}", &info, &out),
        EVENT_OK);
    CHECK(info.has_event_id);
    CHECK_STR(info.event_id, "abc-1");
    CHECK_STR(out, "{\"domain\":\"a.b\",\"event_id\":\"abc-1\",\"received_at\":\"x\"}");
    free(out);
}

static void test_prepare_errors(void)
{
    struct event_info info;
    char *out;
    CHECK_INT(prep("", &info, &out), EVENT_ERR_JSON);
    CHECK_INT(prep("{\"domain\":\"a\"", &info, &out), EVENT_ERR_JSON);
    CHECK_INT(prep("{\"domain\":\"a\"} trailing", &info, &out), EVENT_ERR_JSON);
    CHECK_INT(prep("[1,2]", &info, &out), EVENT_ERR_NOT_OBJECT);
    CHECK_INT(prep("\"str\"", &info, &out), EVENT_ERR_NOT_OBJECT);
    CHECK_INT(prep("{}", &info, &out), EVENT_ERR_DOMAIN);
    CHECK_INT(prep("{\"domain\":\"\"}", &info, &out), EVENT_ERR_DOMAIN);
    CHECK_INT(prep("{\"domain\":42}", &info, &out), EVENT_ERR_DOMAIN);
    CHECK_INT(prep("{\"domain\":null}", &info, &out), EVENT_ERR_DOMAIN);
    CHECK_INT(prep("{\"domain\":\"a\\nb\"}", &info, &out), EVENT_ERR_DOMAIN);
    CHECK(strstr(info.detail, "control") != NULL);
    char longd[400] = "{\"domain\":\"";
    memset(longd + strlen(longd), 'a', 256);
    strcat(longd, "\"}");
    CHECK_INT(prep(longd, &info, &out), EVENT_ERR_DOMAIN);
    CHECK_INT(prep("{\"domain\":\"a\",\"event_id\":7}", &info, &out), EVENT_ERR_EVENT_ID);
    CHECK_INT(prep("{\"domain\":\"a\",\"event_id\":\"has space\"}", &info, &out),
              EVENT_ERR_EVENT_ID);
    CHECK_INT(prep("{\"domain\":\"a\",\"event_id\":\"\"}", &info, &out), EVENT_ERR_EVENT_ID);
    CHECK_INT(prep("{\"domain\":\"a\",\"x\":\"raw\nnewline\"}", &info, &out), EVENT_ERR_JSON);
    CHECK_INT(prep("{\"domain\":\"a\",\"x\":\"\x01\"}", &info, &out), EVENT_ERR_JSON);
    CHECK_INT(prep("{\"domain\":\"a\",\x01\"x\":1}", &info, &out), EVENT_ERR_JSON);
    CHECK_INT(prep("{\"domain\":\"a\xff\"}", &info, &out), EVENT_ERR_JSON);
    CHECK_INT(prep("{\"domain\":\"a\",\"x\":\"\xc0\xaf\"}", &info, &out), EVENT_ERR_JSON);
    CHECK_INT(prep("{\"domain\":\"a\",\"x\":\"\xed\xa0\x80\"}", &info, &out), EVENT_ERR_JSON);
    CHECK(strstr(info.detail, "UTF-8") != NULL);
    CHECK(out == NULL);
    CHECK_INT(prep("{\"domain\":\"a\",\"x\":\"\xf0\x9f\x93\x9e \\\" \\\\\"}", &info, &out),
              EVENT_OK);
    free(out);
}

static void test_with_attempt(void)
{
    size_t len;
    const char *ev = "{\"domain\":\"a\",\"x\":1}";
    char *out = event_with_attempt(ev, strlen(ev), 3, &len);
    CHECK_STR(out, "{\"domain\":\"a\",\"x\":1,\"delivery_attempt\":3}");
    CHECK_INT(len, strlen(out));
    free(out);
    const char *has = "{\"delivery_attempt\": 99 ,\"domain\":\"a\"}";
    out = event_with_attempt(has, strlen(has), 12, &len);
    CHECK_STR(out, "{\"delivery_attempt\": 12 ,\"domain\":\"a\"}");
    free(out);
    /* A nested key of the same name is not the top-level member. */
    const char *nested = "{\"n\":{\"delivery_attempt\":5},\"domain\":\"a\"}";
    out = event_with_attempt(nested, strlen(nested), 2, &len);
    CHECK_STR(out, "{\"n\":{\"delivery_attempt\":5},\"domain\":\"a\",\"delivery_attempt\":2}");
    free(out);
    out = event_with_attempt("{ }", 3, 1, &len);
    CHECK_STR(out, "{ \"delivery_attempt\":1}");
    free(out);
}

static void test_subjects(void)
{
    char s[EVENT_SUBJECT_MAX];
    CHECK(event_subject("events.*", "example.com", s, sizeof s));
    CHECK_STR(s, "events.example_com");
    CHECK(event_subject("call.signal.*", "Tenant-1.example.com", s, sizeof s));
    CHECK_STR(s, "call.signal.Tenant-1_example_com");
    CHECK(event_subject("a.*.b", "x.y", s, sizeof s));
    CHECK_STR(s, "a.x_y.b");
    CHECK(event_subject("ev.>", "x", s, sizeof s));
    CHECK_STR(s, "ev.x");
    CHECK(event_subject("events.*", "a b*c>d_e", s, sizeof s));
    CHECK_STR(s, "events.a%20b%2Ac%3Ed%5Fe");
    CHECK(event_subject("events.*", "\xc3\xa9.vn", s, sizeof s));
    CHECK_STR(s, "events.%C3%A9_vn");
    /* example.com and example_com must not share a subject. */
    char t[EVENT_SUBJECT_MAX];
    event_subject("events.*", "example_com", t, sizeof t);
    CHECK(strcmp(s, t) != 0);
    CHECK(!event_subject("events.fixed", "a", s, sizeof s));
    CHECK(!event_subject("events.*", "abc", s, 8));
}

static void test_inspect(void)
{
    struct event_info info;
    const char *ev = "{\"domain\":\"d.com\",\"event_id\":\"e1\"}";
    CHECK_INT(event_inspect(ev, strlen(ev), &info), EVENT_OK);
    CHECK_STR(info.domain, "d.com");
    CHECK_STR(info.event_id, "e1");
    CHECK_INT(event_inspect("not json", 8, &info), EVENT_ERR_JSON);
}

/* The shapes that made eventhub and its receivers read different events. */
static void test_prepare_strict(void)
{
    struct event_info info;
    char *out = NULL;
    CHECK_INT(prep("\xef\xbb\xbf{\"domain\":\"example.com\"}", &info, &out), EVENT_ERR_JSON);
    CHECK(strstr(info.detail, "byte order mark") != NULL);
    CHECK_INT(prep("{\"domain\":\"a\",\"n\":01}", &info, &out), EVENT_ERR_JSON);
    CHECK_INT(prep("{\"domain\":\"a\",\"n\":1.}", &info, &out), EVENT_ERR_JSON);
    CHECK_INT(prep("{\"domain\":\"example.com\",\"domain\":\"tenant-b.example\"}", &info, &out),
              EVENT_ERR_JSON);
    CHECK(strstr(info.detail, "duplicate key") != NULL);
    CHECK_INT(prep("{\"domain\":\"a\",\"dom\\u0061in\":\"b\"}", &info, &out), EVENT_ERR_JSON);
    CHECK_INT(prep("{\"domain\":\"a\",\"event_id\":\"1\",\"event_id\":\"2\"}", &info, &out),
              EVENT_ERR_JSON);
    CHECK_INT(prep("{\"domain\":\"a\",\"delivery_attempt\":1,\"delivery_attempt\":2}", &info, &out),
              EVENT_ERR_JSON);
    CHECK_INT(prep("{\"domain\":\"example.com\\u0000.evil\"}", &info, &out), EVENT_ERR_DOMAIN);
    CHECK_INT(prep("{\"domain\":\"a\",\"event_id\":\"id\\u0000x\"}", &info, &out),
              EVENT_ERR_EVENT_ID);
    CHECK(out == NULL);
    /* The domain is read decoded, as receivers read it. */
    CHECK_INT(prep("{\"dom\\u0061in\":\"ex\\u0061mple.com\"}", &info, &out), EVENT_OK);
    CHECK_STR(info.domain, "example.com");
    free(out);
    out = NULL;
    /* 255 bytes decoded is the limit, however it was written. */
    char body[2048];
    char dom[256];
    memset(dom, 'a', 255);
    dom[255] = '\0';
    snprintf(body, sizeof body, "{\"domain\":\"%s\"}", dom);
    CHECK_INT(prep(body, &info, &out), EVENT_OK);
    free(out);
    out = NULL;
    snprintf(body, sizeof body, "{\"domain\":\"%s\\u0061\"}", dom);
    CHECK_INT(prep(body, &info, &out), EVENT_ERR_DOMAIN);
}

/* An escaped spelling of delivery_attempt is replaced, never duplicated. */
static void test_with_attempt_escaped_key(void)
{
    const char *ev = "{\"domain\":\"a\",\"delivery_\\u0061ttempt\":9}";
    size_t n = 0;
    char *out = event_with_attempt(ev, strlen(ev), 2, &n);
    CHECK_STR(out, "{\"domain\":\"a\",\"delivery_\\u0061ttempt\":2}");
    CHECK(json_scan_valid(out, n, NULL));
    free(out);
}

static void test_idempotency_key(void)
{
    struct event_info info;
    char *out = NULL;
    size_t len = 0;
    const char *body = "{\"domain\":\"a.example\"}";
    CHECK_INT(event_prepare_keyed(body, strlen(body), T, "order-1", &info, &out, &len), EVENT_OK);
    CHECK_STR(info.event_id, "order-1");
    CHECK(info.from_idempotency_key && !info.has_event_id);
    CHECK(out && strstr(out, "\"event_id\":\"order-1\""));
    free(out);
    out = NULL;
    CHECK_INT(event_prepare_keyed(body, strlen(body), T, "bad key", &info, &out, &len),
              EVENT_ERR_EVENT_ID);
    CHECK(out == NULL && strstr(info.detail, "Idempotency-Key"));
    CHECK_INT(event_prepare_keyed(body, strlen(body), T, "", &info, &out, &len),
              EVENT_ERR_EVENT_ID);
    const char *with_id = "{\"domain\":\"a.example\",\"event_id\":\"x\"}";
    CHECK_INT(event_prepare_keyed(with_id, strlen(with_id), T, "y", &info, &out, &len),
              EVENT_ERR_EVENT_ID);
    CHECK_INT(event_prepare_keyed(with_id, strlen(with_id), T, "x", &info, &out, &len), EVENT_OK);
    /* the body's own event_id is kept and not appended twice */
    const char *first = out ? strstr(out, "\"event_id\"") : NULL;
    CHECK(first && !strstr(first + 1, "\"event_id\""));
    free(out);
}

int main(void)
{
    test_idempotency_key();
    test_prepare_keeps_bytes();
    test_prepare_keeps_sender_ids();
    test_prepare_errors();
    test_with_attempt();
    test_subjects();
    test_inspect();
    test_prepare_strict();
    test_with_attempt_escaped_key();
    return unit_done();
}
