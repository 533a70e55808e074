/*
 * Unit tests: dlq_replay's record reader (dlq_record_parse) — the embedded event's
 * bytes found as stored, the fields a replay uses, stream_seq only when it is a
 * sequence. (Replays against JetStream: test_dlq_api.py.)
 */
#include "delivery/dlq_replay.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

static cJSON *parse(const char *text, struct dlq_record *r)
{
    return dlq_record_parse(text, strlen(text), r);
}

static void test_record(void)
{
    struct dlq_record r;
    const char *text = "{\"reason\":\"no_route\",\"event_id\":\"e-1\",\"stream\":\"EVENTS\","
                       "\"stream_seq\":42,\"kind\":\"call_signal\","
                       "\"event\":{\"domain\":\"a.example\", \"n\":12345678901234567890} }";
    cJSON *root = parse(text, &r);
    CHECK(root != NULL);
    CHECK(r.event != NULL && r.event_len == 48);
    CHECK(r.event && strncmp(r.event, "{\"domain\":\"a.example\", \"n\":12345678901234567890}",
                             r.event_len) == 0);
    CHECK(!r.event_omitted);
    CHECK_STR(r.event_id, "e-1");
    CHECK_STR(r.stream, "EVENTS");
    CHECK_STR(r.kind, "call_signal");
    CHECK_STR(r.reason, "no_route");
    CHECK_INT(r.stream_seq, 42);
    cJSON_Delete(root);

    root = parse("{\"event_omitted\":true,\"event_bytes\":2000000,\"stream_seq\":7}", &r);
    CHECK(root && r.event == NULL && r.event_omitted && r.stream_seq == 7 && !r.kind);
    cJSON_Delete(root);

    /* event_raw (not valid JSON when stored), or an "event" that is not an object. */
    root = parse("{\"event_raw\":\"{x\",\"event\":\"{}\"}", &r);
    CHECK(root && r.event == NULL && !r.event_omitted);
    cJSON_Delete(root);

    CHECK(parse("[1]", &r) == NULL);
    CHECK(parse("not json", &r) == NULL);
    CHECK(dlq_record_parse("", 0, &r) == NULL && r.event == NULL);
}

/* A double is a sequence only when it is a whole number 1..2^53 (1e300 used to be
 * converted to uint64_t as it was: undefined behaviour). */
static void test_stream_seq(void)
{
    static const struct {
        const char *value;
        unsigned long long want;
    } cases[] = {
        {"1", 1},      {"9007199254740992", 9007199254740992ULL},
        {"0", 0},      {"-3", 0},
        {"42.5", 0},   {"1e300", 0},
        {"\"42\"", 0}, {"9007199254740994", 0},
        {"null", 0},   {"18446744073709551616", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"event_omitted\":true,\"stream_seq\":%s}", cases[i].value);
        struct dlq_record r;
        cJSON *root = parse(text, &r);
        CHECK(root != NULL);
        CHECK_INT(r.stream_seq, cases[i].want);
        cJSON_Delete(root);
    }
}

int main(void)
{
    test_record();
    test_stream_seq();
    return unit_done();
}
