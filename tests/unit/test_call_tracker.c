/*
 * Unit tests: call_tracker. Replays the real FreeSWITCH 1.11 captures (fixtures/esl,
 * see fixtures/esl/README.md) through the real esl_parser/esl_event into
 * the tracker and checks the call signals and the live records; hand-made events cover
 * odd orders, single legs, bridged calls, merges, expiry, the max_calls bound, default
 * domains, time zones and the memory used by 50,000 live calls. (Domain resolution
 * itself: test_esl_domain; time zones: test_tzfile.)
 */
#include "sources/esl/call_tracker.h"
#include "sources/esl/esl_event.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

/* ---- collecting signals ---- */

#define MAX_SIGNALS 16

struct sink {
    int count;
    cJSON *sig[MAX_SIGNALS];
    char domain[MAX_SIGNALS][260];
    bool domain_null[MAX_SIGNALS];
    char call_id[MAX_SIGNALS][80];
};

static void on_signal(void *closure, const char *domain, const char *call_id, char *json)
{
    struct sink *s = closure;
    if (s->count < MAX_SIGNALS) {
        s->sig[s->count] = cJSON_Parse(json);
        s->domain_null[s->count] = domain == NULL;
        snprintf(s->domain[s->count], sizeof s->domain[0], "%s", domain ? domain : "");
        snprintf(s->call_id[s->count], sizeof s->call_id[0], "%s", call_id);
    }
    s->count++;
    free(json);
}

static void sink_clear(struct sink *s)
{
    for (int i = 0; i < s->count && i < MAX_SIGNALS; i++)
        cJSON_Delete(s->sig[i]);
    memset(s, 0, sizeof *s);
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long long jnum(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

static bool jnull(const cJSON *o, const char *name)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, name));
}

static struct call_tracker *tracker(const char *tz, struct sink *s)
{
    /* The typed form: what these tests check (the seed form: test_call_signals). */
    struct call_tracker_options o = {.node = "fs1", .timezone = tz, .format = CALL_SIGNAL_TYPED};
    return call_tracker_new(&o, on_signal, s);
}

/* ---- replaying a capture through the real parser ---- */

static char *load_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/esl/%s", FIXTURES_DIR, name);
    return unit_read_file(path, len);
}

/* Feeds every event of the capture to the tracker; returns how many events, -1 on error. */
static int replay(struct call_tracker *t, const char *name)
{
    size_t len = 0;
    char *data = load_fixture(name, &len);
    if (!data)
        return -1;
    struct esl_parser *p = esl_parser_new(1 << 20);
    size_t off = 0;
    int events = 0;
    while (off < len) {
        size_t used = 0;
        struct esl_frame *f = NULL;
        enum esl_status st = esl_parser_feed(p, data + off, len - off, &used, &f);
        off += used;
        if (st != ESL_FRAME)
            break;
        if (strcmp(f->content_type, "text/event-plain") == 0 ||
            strcmp(f->content_type, "text/event-json") == 0) {
            char err[128];
            struct esl_event *ev = esl_event_from_frame(f, err, sizeof err);
            if (ev) {
                call_tracker_on_event(t, ev, 1000 + events);
                events++;
            } else {
                events = -1000000;
            }
            esl_event_free(ev);
        }
        esl_frame_free(f);
    }
    esl_parser_free(p);
    free(data);
    return events;
}

/* Every event of a capture, decoded by the real parser; returns the count. */
static size_t load_events(const char *name, struct esl_event **out, size_t cap)
{
    size_t len = 0, n = 0;
    char *data = load_fixture(name, &len);
    struct esl_parser *p = esl_parser_new(1 << 20);
    for (size_t off = 0; data && off < len;) {
        size_t used = 0;
        struct esl_frame *f = NULL;
        if (esl_parser_feed(p, data + off, len - off, &used, &f) != ESL_FRAME)
            break;
        off += used;
        char err[128];
        struct esl_event *ev = strncmp(f->content_type, "text/event-", 11) == 0
                                   ? esl_event_from_frame(f, err, sizeof err)
                                   : NULL;
        if (ev && n < cap)
            out[n++] = ev;
        else
            esl_event_free(ev);
        esl_frame_free(f);
    }
    esl_parser_free(p);
    free(data);
    return n;
}

/* ---- hand-made events ---- */

struct leg {
    const char *uuid;
    const char *loop_partner, *loop_side; /* variable_other_loopback_leg_uuid, loopback_leg */
    const char *other_leg, *other_type;   /* Other-Leg-Unique-ID, Other-Type */
    const char *from, *to, *direction, *domain, *cause, *extra_name, *extra_value;
    int64_t created, answered, hungup; /* microseconds */
};

static void send(struct call_tracker *t, const char *event_name, const struct leg *l, int64_t now)
{
    struct esl_header h[24];
    size_t n = 0;
    char created[24], answered[24], hungup[24];
    snprintf(created, sizeof created, "%" PRId64, l->created);
    snprintf(answered, sizeof answered, "%" PRId64, l->answered);
    snprintf(hungup, sizeof hungup, "%" PRId64, l->hungup);
    h[n++] = (struct esl_header){"Event-Name", event_name};
    h[n++] = (struct esl_header){"Unique-ID", l->uuid};
    h[n++] = (struct esl_header){"Channel-Call-UUID", l->uuid};
    h[n++] = (struct esl_header){"Call-Direction", l->direction ? l->direction : "inbound"};
    h[n++] = (struct esl_header){"Caller-Caller-ID-Number", l->from};
    h[n++] = (struct esl_header){"Caller-Destination-Number", l->to};
    h[n++] = (struct esl_header){"Caller-Channel-Created-Time", created};
    h[n++] = (struct esl_header){"Caller-Channel-Answered-Time", answered};
    h[n++] = (struct esl_header){"Caller-Channel-Hangup-Time", hungup};
    if (l->cause)
        h[n++] = (struct esl_header){"Hangup-Cause", l->cause};
    if (l->domain)
        h[n++] = (struct esl_header){"variable_domain_name", l->domain};
    if (l->loop_partner) {
        h[n++] = (struct esl_header){"variable_other_loopback_leg_uuid", l->loop_partner};
        h[n++] = (struct esl_header){"variable_loopback_leg", l->loop_side};
    }
    if (l->other_leg) {
        h[n++] = (struct esl_header){"Other-Leg-Unique-ID", l->other_leg};
        if (l->other_type)
            h[n++] = (struct esl_header){"Other-Type", l->other_type};
    }
    if (l->extra_name)
        h[n++] = (struct esl_header){l->extra_name, l->extra_value};
    struct esl_event ev = {.headers = h, .header_count = n};
    call_tracker_on_event(t, &ev, now);
}

/* A whole single-leg call ending with `cause`, answered or not. */
static void single_leg(struct call_tracker *t, const char *uuid, const char *cause, bool answer)
{
    struct leg a = {.uuid = uuid,
                    .from = "0901000001",
                    .to = "19001234",
                    .domain = "a.example",
                    .created = 1795257000000000};
    send(t, "CHANNEL_CREATE", &a, 1);
    if (answer) {
        a.answered = 1795257003000000;
        send(t, "CHANNEL_ANSWER", &a, 2);
    }
    a.cause = cause;
    a.hungup = 1795257010500000;
    send(t, "CHANNEL_HANGUP", &a, 3);
    send(t, "CHANNEL_HANGUP_COMPLETE", &a, 4);
}

/* ---- the captures ---- */

static void test_answered_plain(void)
{
    struct sink s = {0};
    struct call_tracker *t = tracker(NULL, &s);
    CHECK(replay(t, "answered-call.plain.txt") > 50);
    CHECK_INT(s.count, 1);
    CHECK_INT(call_tracker_live_calls(t), 0);
    const cJSON *o = s.sig[0];
    CHECK_STR(s.call_id[0], "48718434-77f1-4de1-8394-dfd80401e3aa"); /* the A leg */
    CHECK_STR(s.domain[0], "example.com");
    CHECK_STR(jstr(o, "event_id"), "call-48718434-77f1-4de1-8394-dfd80401e3aa-end");
    CHECK_STR(jstr(o, "call_id"), "48718434-77f1-4de1-8394-dfd80401e3aa");
    CHECK_STR(jstr(o, "domain"), "example.com");
    CHECK_STR(jstr(o, "direction"), "outbound"); /* FreeSWITCH placed the call (originate) */
    /* As dialled, although the A leg ends with caller and callee swapped. */
    CHECK_STR(jstr(o, "from_number"), "0914315989");
    CHECK_STR(jstr(o, "to_number"), "0987654321");
    CHECK(!cJSON_HasObjectItem(o, "hotline"));
    CHECK(!cJSON_HasObjectItem(o, "receive_dest")); /* the B leg's destination is to_number */
    /*
     * A leg: Created-Time 1795257146260082, Answered-Time 1795257146760081,
     * Hangup-Time 1795257148800117 (µs), i.e. 2026-11-21 10:32:26.26 / 10:32:26.76 /
     * 10:32:28.80 UTC. duration = 1795257148800117 - 1795257146260082 = 2540035 µs -> 2;
     * billsec = 1795257148800117 - 1795257146760081 = 2040036 µs -> 2.
     */
    CHECK_STR(jstr(o, "time_started"), "2026-11-21 10:32:26");
    CHECK_STR(jstr(o, "time_answered"), "2026-11-21 10:32:26");
    CHECK_STR(jstr(o, "time_ended"), "2026-11-21 10:32:28");
    CHECK_INT(jnum(o, "duration"), 2);
    CHECK_INT(jnum(o, "billsec"), 2);
    CHECK_STR(jstr(o, "state"), "answered");
    CHECK_STR(jstr(o, "status"), "completed");
    CHECK_STR(jstr(o, "hangup_cause"), "NORMAL_CLEARING");
    CHECK(jnull(o, "sip_hangup_disposition")); /* loopback: no SIP */
    CHECK(jnull(o, "sip_call_id"));
    CHECK_STR(jstr(o, "node"), "fs1");
    char *text = cJSON_PrintUnformatted(o);
    printf("# answered-call.plain.txt: %s\n", text);
    free(text);

    /* Replaying the same capture (a reconnect that re-reads) yields nothing new. */
    CHECK(replay(t, "answered-call.plain.txt") > 50);
    CHECK_INT(s.count, 1);
    call_tracker_free(t);
    sink_clear(&s);
}

static void test_answered_plain_timezone(void)
{
    struct sink s = {0};
    struct call_tracker *t = tracker("Asia/Ho_Chi_Minh", &s); /* UTC+7, no DST */
    replay(t, "answered-call.plain.txt");
    CHECK_INT(s.count, 1);
    CHECK_STR(jstr(s.sig[0], "time_started"), "2026-11-21 17:32:26");
    CHECK_STR(jstr(s.sig[0], "time_answered"), "2026-11-21 17:32:26");
    CHECK_STR(jstr(s.sig[0], "time_ended"), "2026-11-21 17:32:28");
    call_tracker_free(t);
    sink_clear(&s);
}

/* The JSON capture is another run of the same scenario: same signal but ids and times. */
static void test_answered_json(void)
{
    struct sink plain = {0}, json = {0};
    struct call_tracker *tp = tracker(NULL, &plain), *tj = tracker(NULL, &json);
    replay(tp, "answered-call.plain.txt");
    CHECK(replay(tj, "answered-call.json.txt") > 50);
    CHECK_INT(json.count, 1);
    CHECK_INT(call_tracker_live_calls(tj), 0);
    const cJSON *o = json.sig[0];
    CHECK_STR(jstr(o, "call_id"), "af3b144d-cb2d-46c5-b118-839e114b8041");
    CHECK_STR(jstr(o, "event_id"), "call-af3b144d-cb2d-46c5-b118-839e114b8041-end");
    /*
     * Created 1795257169500123, answered 1795257170000092, A hangup 1795257172020108:
     * 2.52 s and 2.02 s exactly, but the signal says what FreeSWITCH's CDR says
     * (variable_duration 3, variable_billsec 2: it subtracts whole epoch seconds,
     * 172 - 169 and 172 - 170).
     */
    CHECK_STR(jstr(o, "time_started"), "2026-11-21 10:32:49");
    CHECK_STR(jstr(o, "time_answered"), "2026-11-21 10:32:50");
    CHECK_STR(jstr(o, "time_ended"), "2026-11-21 10:32:52");
    CHECK_INT(jnum(o, "duration"), 3);
    CHECK_INT(jnum(o, "billsec"), 2);
    /* Every other member equals the plain capture's, and no member is missing. */
    int same = 0, members = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, plain.sig[0])
    {
        members++;
        if (strcmp(m->string, "call_id") == 0 || strcmp(m->string, "event_id") == 0 ||
            strcmp(m->string, "duration") == 0 || strncmp(m->string, "time_", 5) == 0) {
            same += cJSON_HasObjectItem(o, m->string);
            continue;
        }
        const cJSON *other = cJSON_GetObjectItemCaseSensitive(o, m->string);
        bool eq = other && cJSON_Compare(m, other, true);
        if (!eq)
            printf("# differs: %s\n", m->string);
        same += eq;
    }
    CHECK_INT(same, members);
    CHECK_INT(cJSON_GetArraySize(o), members);
    char *text = cJSON_PrintUnformatted(o);
    printf("# answered-call.json.txt: %s\n", text);
    free(text);
    call_tracker_free(tp);
    call_tracker_free(tj);
    sink_clear(&plain);
    sink_clear(&json);
}

static void test_busy_plain(void)
{
    struct sink s = {0};
    struct call_tracker *t = tracker(NULL, &s);
    CHECK(replay(t, "busy-call.plain.txt") > 20);
    CHECK_INT(s.count, 1);
    CHECK_INT(call_tracker_live_calls(t), 0);
    const cJSON *o = s.sig[0];
    CHECK_STR(jstr(o, "call_id"), "c96df3d1-b8f8-44f9-b0e2-adc9b0d7c7fc");
    CHECK_STR(jstr(o, "from_number"), "0914315989");
    CHECK_STR(jstr(o, "to_number"), "0987654321");
    CHECK_STR(jstr(o, "domain"), "example.com");
    /*
     * Created 1795257718408115 (10:41:58 UTC), never answered, hangup 1795257719408121
     * (10:41:59): duration 1000006 µs -> 1, billsec 0.
     */
    CHECK_STR(jstr(o, "time_started"), "2026-11-21 10:41:58");
    CHECK(jnull(o, "time_answered"));
    CHECK_STR(jstr(o, "time_ended"), "2026-11-21 10:41:59");
    CHECK_INT(jnum(o, "duration"), 1);
    CHECK_INT(jnum(o, "billsec"), 0);
    CHECK_STR(jstr(o, "state"), "missed"); /* nobody picked up; status says why */
    CHECK_STR(jstr(o, "status"), "busy-line");
    CHECK_STR(jstr(o, "hangup_cause"), "USER_BUSY");
    char *text = cJSON_PrintUnformatted(o);
    printf("# busy-call.plain.txt: %s\n", text);
    free(text);
    call_tracker_free(t);
    sink_clear(&s);
}

/* ---- hand-made calls ---- */

#define A_ID "aaaaaaaa-0000-4000-8000-000000000001"
#define B_ID "bbbbbbbb-0000-4000-8000-000000000002"

static void loopback_pair(struct leg *a, struct leg *b)
{
    *a = (struct leg){.uuid = A_ID,
                      .loop_partner = B_ID,
                      .loop_side = "A",
                      .from = "0911",
                      .to = "0922",
                      .direction = "outbound",
                      .domain = "Tenant.Example",
                      .created = 1795257000000000};
    *b = (struct leg){.uuid = B_ID,
                      .loop_partner = A_ID,
                      .loop_side = "B",
                      .from = "0911",
                      .to = "0922",
                      .direction = "inbound",
                      .domain = "tenant.example",
                      .created = 1795257000000000};
}

static void test_odd_orders(void)
{
    struct sink s = {0};
    struct call_tracker *t = tracker(NULL, &s);
    struct leg a, b;
    loopback_pair(&a, &b);
    /* B is seen first, and the A leg completes first. */
    send(t, "CHANNEL_CREATE", &b, 1);
    send(t, "CHANNEL_CREATE", &a, 2);
    CHECK_INT(call_tracker_live_calls(t), 1);
    a.answered = b.answered = 1795257001000000;
    send(t, "CHANNEL_ANSWER", &b, 3);
    send(t, "CHANNEL_ANSWER", &a, 4);
    a.hungup = 1795257031999999;
    b.hungup = 1795257031000000;
    a.cause = b.cause = "NORMAL_CLEARING";
    send(t, "CHANNEL_HANGUP_COMPLETE", &a, 5);
    CHECK_INT(s.count, 0); /* B has not completed yet */
    send(t, "CHANNEL_HANGUP_COMPLETE", &b, 6);
    CHECK_INT(s.count, 1);
    CHECK_STR(s.call_id[0], A_ID);
    CHECK_STR(jstr(s.sig[0], "direction"), "outbound");
    CHECK_STR(jstr(s.sig[0], "domain"), "tenant.example");
    CHECK_INT(jnum(s.sig[0], "duration"), 31); /* A leg: 31.999999 s */
    CHECK_INT(jnum(s.sig[0], "billsec"), 30);
    /* A late event of a finished leg starts nothing. */
    send(t, "CHANNEL_HANGUP", &b, 7);
    CHECK_INT(call_tracker_live_calls(t), 0);
    sink_clear(&s);

    /* Only the B leg is ever seen (a reconnect): call_id is still the A leg's. */
    loopback_pair(&a, &b);
    b.uuid = "bbbbbbbb-0000-4000-8000-000000000003";
    b.loop_partner = "aaaaaaaa-0000-4000-8000-000000000003";
    b.cause = "NORMAL_CLEARING";
    b.hungup = 1795257002000000;
    send(t, "CHANNEL_HANGUP_COMPLETE", &b, 8);
    CHECK_INT(s.count, 1);
    CHECK_STR(s.call_id[0], "aaaaaaaa-0000-4000-8000-000000000003");
    /* ... and the A leg arriving after that is a finished call's leg. */
    a.uuid = "aaaaaaaa-0000-4000-8000-000000000003";
    send(t, "CHANNEL_HANGUP_COMPLETE", &a, 9);
    CHECK_INT(s.count, 1);
    CHECK_INT(call_tracker_live_calls(t), 0);
    call_tracker_free(t);
    sink_clear(&s);
}

/* The answered capture's events in 200 shuffled orders: always one signal, the same call. */
static void test_shuffled_capture(void)
{
    struct esl_event *ev[128];
    size_t n = load_events("answered-call.plain.txt", ev, 128);
    CHECK(n > 50);
    uint64_t seed = 42;
    int one_signal = 0, same_call = 0;
    for (int round = 0; round < 200; round++) {
        for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t j = (size_t)(seed >> 33) % (i + 1);
            struct esl_event *tmp = ev[i];
            ev[i] = ev[j];
            ev[j] = tmp;
        }
        struct sink s = {0};
        struct call_tracker *t = tracker(NULL, &s);
        for (size_t i = 0; i < n; i++)
            call_tracker_on_event(t, ev[i], (int64_t)i);
        int emitted = s.count;
        call_tracker_expire(t, INT64_MAX / 2); /* nothing may be left over */
        one_signal += emitted == 1 && s.count == 1;
        if (s.count == 1) {
            const cJSON *o = s.sig[0];
            const char *call_id = jstr(o, "call_id"), *from = jstr(o, "from_number");
            const char *to = jstr(o, "to_number"), *dom = jstr(o, "domain");
            same_call += call_id && strcmp(call_id, "48718434-77f1-4de1-8394-dfd80401e3aa") == 0 &&
                         from && strcmp(from, "0914315989") == 0 && to &&
                         strcmp(to, "0987654321") == 0 && dom && strcmp(dom, "example.com") == 0;
        }
        call_tracker_free(t);
        sink_clear(&s);
    }
    CHECK_INT(one_signal, 200);
    CHECK_INT(same_call, 200);
    for (size_t i = 0; i < n; i++)
        esl_event_free(ev[i]);
}

/* After answer FreeSWITCH flips caller and callee on the A leg; seen only then. */
static void test_flipped_caller_id(void)
{
    struct sink s = {0};
    struct call_tracker *t = tracker(NULL, &s);
    /* No Caller-Orig-Caller-ID-Number here: Callee-ID-Number holds the caller then. */
    struct esl_header h[] = {
        {"Event-Name", "CHANNEL_HANGUP_COMPLETE"},
        {"Unique-ID", A_ID},
        {"Caller-Caller-ID-Number", "0987654321"},
        {"Caller-Callee-ID-Number", "0914315989"},
        {"Caller-Destination-Number", "0987654321"},
        {"variable_channel_cid_flipped", "yes"},
        {"Caller-Channel-Created-Time", "1795257000000000"},
        {"Caller-Channel-Answered-Time", "1795257001000000"},
        {"Caller-Channel-Hangup-Time", "1795257002000000"},
        {"Hangup-Cause", "NORMAL_CLEARING"},
    };
    struct esl_event ev = {.headers = h, .header_count = sizeof h / sizeof h[0]};
    call_tracker_on_event(t, &ev, 1);
    CHECK_INT(s.count, 1);
    CHECK_STR(jstr(s.sig[0], "from_number"), "0914315989");
    CHECK_STR(jstr(s.sig[0], "to_number"), "0987654321");
    call_tracker_free(t);
    sink_clear(&s);
}

static void test_single_leg(void)
{
    static const struct {
        const char *cause;
        bool answer;
        const char *state, *status;
    } cases[] = {
        {"NO_ANSWER", false, "missed", "no-answer"},
        {"ORIGINATOR_CANCEL", false, "missed", "cancelled"},
        {"USER_BUSY", false, "missed", "busy-line"},
        {"UNALLOCATED_NUMBER", false, "missed", "failed"},
        {"NORMAL_CLEARING", true, "answered", "completed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sink s = {0};
        struct call_tracker *t = tracker(NULL, &s);
        single_leg(t, A_ID, cases[i].cause, cases[i].answer);
        CHECK_INT(s.count, 1);
        CHECK_STR(jstr(s.sig[0], "state"), cases[i].state);
        CHECK_STR(jstr(s.sig[0], "status"), cases[i].status);
        CHECK_STR(jstr(s.sig[0], "hangup_cause"), cases[i].cause);
        CHECK_INT(jnum(s.sig[0], "duration"), 10); /* 10.5 s */
        CHECK_INT(jnum(s.sig[0], "billsec"), cases[i].answer ? 7 : 0);
        CHECK_STR(jstr(s.sig[0], "direction"), "inbound");
        call_tracker_free(t);
        sink_clear(&s);
    }
}

/* An inbound SIP call bridged to extension 101: receive_dest, hotline, SIP fields. */
static void test_bridged(void)
{
    struct sink s = {0};
    struct call_tracker *t = tracker(NULL, &s);
    struct leg b = {.uuid = B_ID,
                    .other_leg = A_ID,
                    .other_type = "originator",
                    .from = "0914315989",
                    .to = "101",
                    .direction = "outbound",
                    .domain = "b-leg.example",
                    .created = 1795257000200000};
    struct esl_header h[] = {
        {"Event-Name", "CHANNEL_CREATE"},
        {"Unique-ID", A_ID},
        {"Call-Direction", "inbound"},
        {"Caller-Caller-ID-Number", "0914315989"},
        {"Caller-Destination-Number", "19001234"},
        {"Caller-Channel-Created-Time", "1795257000000000"},
        {"variable_sip_call_id", "abc123@192.0.2.10"},
        {"variable_sip_req_host", "192.0.2.1"}, /* an IP: not a domain */
        {"variable_sip_to_host", "PBX.example"},
        {"variable_hotline", "19001234"},
    };
    struct esl_event ev = {.headers = h, .header_count = sizeof h / sizeof h[0]};
    call_tracker_on_event(t, &ev, 1);
    send(t, "CHANNEL_CREATE", &b, 2);
    CHECK_INT(call_tracker_live_calls(t), 1);
    b.answered = 1795257005000000;
    send(t, "CHANNEL_ANSWER", &b, 3);
    struct esl_header done[] = {
        {"Event-Name", "CHANNEL_HANGUP_COMPLETE"},
        {"Unique-ID", A_ID},
        {"Caller-Channel-Created-Time", "1795257000000000"},
        {"Caller-Channel-Answered-Time", "1795257005000000"},
        {"Caller-Channel-Hangup-Time", "1795257065000000"},
        {"Hangup-Cause", "NORMAL_CLEARING"},
        {"variable_sip_hangup_disposition", "recv_bye"},
        {"Other-Leg-Unique-ID", B_ID},
        {"Other-Type", "originatee"},
    };
    struct esl_event ev_done = {.headers = done, .header_count = sizeof done / sizeof done[0]};
    call_tracker_on_event(t, &ev_done, 4);
    CHECK_INT(s.count, 0);
    b.cause = "NORMAL_CLEARING";
    b.hungup = 1795257065000000;
    send(t, "CHANNEL_HANGUP_COMPLETE", &b, 5);
    CHECK_INT(s.count, 1);
    const cJSON *o = s.sig[0];
    CHECK_STR(jstr(o, "call_id"), A_ID);
    CHECK_STR(jstr(o, "direction"), "inbound"); /* the customer's leg, not the B leg */
    CHECK_STR(jstr(o, "from_number"), "0914315989");
    CHECK_STR(jstr(o, "to_number"), "19001234");
    CHECK_STR(jstr(o, "hotline"), "19001234");
    CHECK_STR(jstr(o, "receive_dest"), "101");
    CHECK_STR(jstr(o, "sip_call_id"), "abc123@192.0.2.10");
    CHECK_STR(jstr(o, "sip_hangup_disposition"), "recv_bye");
    /* The A leg's own source (sip_to_host) outranks the B leg's domain_name. */
    CHECK_STR(jstr(o, "domain"), "pbx.example");
    CHECK_INT(jnum(o, "duration"), 65);
    CHECK_INT(jnum(o, "billsec"), 60);
    call_tracker_free(t);
    sink_clear(&s);
}

/* Two calls started apart, then bridged (uuid_bridge): one call, one signal. */
static void test_merge(void)
{
    struct sink s = {0};
    struct call_tracker *t = tracker(NULL, &s);
    struct leg a = {.uuid = A_ID,
                    .from = "0911",
                    .to = "0922",
                    .domain = "m.example",
                    .created = 1795257000000000};
    struct leg b = {.uuid = B_ID,
                    .from = "0933",
                    .to = "0944",
                    .direction = "outbound",
                    .created = 1795257010000000};
    send(t, "CHANNEL_CREATE", &a, 1);
    send(t, "CHANNEL_CREATE", &b, 2);
    CHECK_INT(call_tracker_live_calls(t), 2);
    b.other_leg = A_ID;
    send(t, "CHANNEL_BRIDGE", &b, 3);
    CHECK_INT(call_tracker_live_calls(t), 1);
    a.cause = b.cause = "NORMAL_CLEARING";
    a.hungup = b.hungup = 1795257020000000;
    send(t, "CHANNEL_HANGUP_COMPLETE", &b, 4);
    CHECK_INT(s.count, 0);
    send(t, "CHANNEL_HANGUP_COMPLETE", &a, 5);
    CHECK_INT(s.count, 1);
    CHECK_STR(s.call_id[0], A_ID); /* the first leg */
    CHECK_STR(jstr(s.sig[0], "from_number"), "0911");
    CHECK_STR(jstr(s.sig[0], "domain"), "m.example");
    CHECK_INT(call_tracker_live_calls(t), 0);
    call_tracker_free(t);
    sink_clear(&s);
}

static void test_expiry(void)
{
    struct sink s = {0};
    struct call_tracker_options opts = {
        .node = "fs1", .max_call_age_ms = 1000, .format = CALL_SIGNAL_TYPED};
    struct call_tracker *t = call_tracker_new(&opts, on_signal, &s);
    struct leg a, b;
    loopback_pair(&a, &b);
    send(t, "CHANNEL_CREATE", &a, 100);
    send(t, "CHANNEL_CREATE", &b, 100);
    a.answered = 1795257001000000;
    send(t, "CHANNEL_ANSWER", &a, 200);
    struct leg c = {.uuid = "cccccccc-0000-4000-8000-000000000003",
                    .from = "1",
                    .to = "2",
                    .created = 1795257000000000};
    send(t, "CHANNEL_CREATE", &c, 900);
    c.cause = "NO_ANSWER";
    send(t, "CHANNEL_HANGUP", &c, 950); /* the end begins but never completes */
    call_tracker_expire(t, 1100);       /* exactly max_call_age: not older */
    CHECK_INT(s.count, 0);
    call_tracker_expire(t, 1101);
    CHECK_INT(s.count, 1);
    CHECK_INT(call_tracker_live_calls(t), 1);
    const cJSON *o = s.sig[0];
    CHECK_STR(s.call_id[0], A_ID);
    CHECK_STR(jstr(o, "state"), "unknown");
    CHECK_STR(jstr(o, "status"), "unknown");
    CHECK_STR(jstr(o, "time_answered"), "2026-11-21 10:30:01"); /* 1795257001 s */
    CHECK(jnull(o, "time_ended"));
    CHECK(jnull(o, "duration"));
    CHECK(jnull(o, "billsec"));
    CHECK(jnull(o, "hangup_cause"));
    /* Its end arriving later starts no second call. */
    send(t, "CHANNEL_HANGUP_COMPLETE", &a, 1200);
    CHECK_INT(call_tracker_live_calls(t), 1);
    call_tracker_expire(t, 1901);
    CHECK_INT(s.count, 2);
    CHECK_STR(jstr(s.sig[1], "state"), "unknown");
    CHECK_STR(jstr(s.sig[1], "status"), "no-answer"); /* the HANGUP said why */
    CHECK_INT(jnum(s.sig[1], "billsec"), 0);
    CHECK_INT(call_tracker_live_calls(t), 0);
    call_tracker_free(t);
    sink_clear(&s);
}

static void test_max_calls(void)
{
    struct sink s = {0};
    struct call_tracker_options opts = {.max_calls = 3, .format = CALL_SIGNAL_TYPED};
    struct call_tracker *t = call_tracker_new(&opts, on_signal, &s);
    static const char *const ids[] = {"call-1", "call-2", "call-3", "call-4", "call-5"};
    for (int i = 0; i < 5; i++) {
        struct leg l = {.uuid = ids[i], .from = "1", .to = "2", .created = 1795257000000000};
        send(t, "CHANNEL_CREATE", &l, i);
        send(t, "CHANNEL_PROGRESS", &l, i); /* a known call: no eviction */
    }
    CHECK_INT(call_tracker_live_calls(t), 3);
    CHECK_INT(s.count, 2);
    CHECK_STR(s.call_id[0], "call-1"); /* oldest first */
    CHECK_STR(s.call_id[1], "call-2");
    CHECK_STR(jstr(s.sig[0], "state"), "unknown");
    CHECK(jnull(s.sig[0], "node"));
    call_tracker_free(t);
    sink_clear(&s);
}

/* ---- live records ---- */

#define MAX_RECORDS 32

/* Live records and call signals, in the order they were handed over. */
struct journal {
    int count;
    cJSON *rec[MAX_RECORDS];
    bool is_signal[MAX_RECORDS];
    char call_id[MAX_RECORDS][80];
    char domain[MAX_RECORDS][260];
};

static void journal_add(struct journal *j, bool is_signal, const char *domain, const char *call_id,
                        char *json)
{
    if (j->count < MAX_RECORDS) {
        j->rec[j->count] = cJSON_Parse(json);
        j->is_signal[j->count] = is_signal;
        snprintf(j->call_id[j->count], sizeof j->call_id[0], "%s", call_id);
        snprintf(j->domain[j->count], sizeof j->domain[0], "%s", domain ? domain : "(null)");
    }
    j->count++;
    free(json);
}

static void on_update_j(void *closure, const char *domain, const char *call_id, char *json)
{
    journal_add(closure, false, domain, call_id, json);
}

static void on_signal_j(void *closure, const char *domain, const char *call_id, char *json)
{
    journal_add(closure, true, domain, call_id, json);
}

static void journal_clear(struct journal *j)
{
    for (int i = 0; i < j->count && i < MAX_RECORDS; i++)
        cJSON_Delete(j->rec[i]);
    memset(j, 0, sizeof *j);
}

/*
 * The journal in short: "ringing answered | answered" — live records by state, then "|"
 * and each call signal's state; "name:" prefixes a call_id other than `main_id`, and a
 * "merged" record is written "merged>into".
 */
static void journal_text(const struct journal *j, const char *main_id, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < j->count && i < MAX_RECORDS && n < cap; i++) {
        const cJSON *o = j->rec[i];
        const char *state = jstr(o, "state"), *into = jstr(o, "merged_into");
        const char *who = strcmp(j->call_id[i], main_id) == 0 ? "" : j->call_id[i];
        n += (size_t)snprintf(out + n, cap - n, "%s%s%s%s%s%s%s", n ? " " : "",
                              j->is_signal[i] ? "| " : "", who, *who ? ":" : "",
                              state ? state : "?", into ? ">" : "", into ? into : "");
    }
}

static struct call_tracker *journal_tracker(const char *tz, struct journal *j)
{
    /* The typed form: what these tests check (the seed form: test_call_signals). */
    struct call_tracker_options o = {.node = "fs1", .timezone = tz, .format = CALL_SIGNAL_TYPED};
    struct call_tracker *t = call_tracker_new(&o, on_signal_j, j);
    call_tracker_set_update_callback(t, on_update_j, j);
    return t;
}

/* Do two objects have the same member names (but those only present when known)? */
static bool same_members(const cJSON *a, const cJSON *b)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, a)
    {
        if (strcmp(m->string, "receive_dest") != 0 && strcmp(m->string, "hotline") != 0 &&
            !cJSON_HasObjectItem(b, m->string))
            return false;
    }
    cJSON_ArrayForEach(m, b)
    {
        if (strcmp(m->string, "receive_dest") != 0 && strcmp(m->string, "hotline") != 0 &&
            !cJSON_HasObjectItem(a, m->string))
            return false;
    }
    return true;
}

/* Checks every record of a one-call journal: live true before the signal, false after. */
static void check_live_flags(const struct journal *j, const char *call_id)
{
    int good = 0;
    for (int i = 0; i < j->count && i < MAX_RECORDS; i++) {
        const cJSON *o = j->rec[i];
        const cJSON *live = cJSON_GetObjectItemCaseSensitive(o, "live");
        bool last = i == j->count - 1;
        char event_id[128];
        snprintf(event_id, sizeof event_id, "call-%s-%s", call_id,
                 j->is_signal[i] ? "end" : jstr(o, "state"));
        good += cJSON_IsBool(live) && cJSON_IsTrue(live) == !last && j->is_signal[i] == last &&
                strcmp(j->call_id[i], call_id) == 0 && jstr(o, "call_id") &&
                strcmp(jstr(o, "call_id"), call_id) == 0 && jstr(o, "event_id") &&
                strcmp(jstr(o, "event_id"), event_id) == 0 && same_members(o, j->rec[j->count - 1]);
    }
    CHECK_INT(good, j->count);
}

static void test_live_answered(void)
{
    static const char *const captures[] = {"answered-call.plain.txt", "answered-call.json.txt"};
    static const char *const ids[] = {"48718434-77f1-4de1-8394-dfd80401e3aa",
                                      "af3b144d-cb2d-46c5-b118-839e114b8041"};
    for (int f = 0; f < 2; f++) {
        struct journal j = {0};
        struct call_tracker *t = journal_tracker("Asia/Ho_Chi_Minh", &j);
        CHECK(replay(t, captures[f]) > 50);
        char text[512];
        journal_text(&j, ids[f], text, sizeof text);
        /* FreeSWITCH places the call (outbound A leg): dialing until the 180. */
        CHECK_STR(text, "dialing ringing answered hanging_up | answered");
        CHECK_INT(j.count, 5);
        check_live_flags(&j, ids[f]);
        if (j.count != 5) {
            call_tracker_free(t);
            journal_clear(&j);
            continue;
        }
        const cJSON *dialing = j.rec[0], *answered = j.rec[2], *hanging = j.rec[3];
        CHECK_STR(j.domain[0], "example.com");
        CHECK_STR(jstr(dialing, "domain"), "example.com");
        CHECK_STR(jstr(dialing, "direction"), "outbound");
        CHECK_STR(jstr(dialing, "from_number"), "0914315989");
        CHECK_STR(jstr(dialing, "to_number"), "0987654321");
        CHECK(jstr(dialing, "time_started") != NULL);
        CHECK(jnull(dialing, "time_answered"));
        CHECK(jnull(dialing, "time_ended"));
        CHECK(jnull(dialing, "duration"));
        CHECK(jnull(dialing, "status"));
        CHECK(jnull(dialing, "hangup_cause"));
        CHECK_STR(jstr(dialing, "node"), "fs1");
        if (f == 0) { /* see test_answered_plain; UTC+7 */
            CHECK_STR(jstr(answered, "time_started"), "2026-11-21 17:32:26");
            CHECK_STR(jstr(answered, "time_answered"), "2026-11-21 17:32:26");
        }
        CHECK(jstr(answered, "time_answered") != NULL);
        CHECK(jnull(answered, "time_ended"));
        CHECK(jnull(answered, "billsec"));
        CHECK(jnull(answered, "status"));
        CHECK_STR(jstr(hanging, "hangup_cause"), "NORMAL_CLEARING");
        CHECK_STR(jstr(hanging, "status"), "completed");
        CHECK(jstr(hanging, "time_ended") != NULL);
        /* The signal is the one test_answered_plain checks, plus "live": false. */
        CHECK_STR(jstr(j.rec[4], "state"), "answered");
        CHECK_STR(jstr(j.rec[4], "status"), "completed");
        CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j.rec[4], "live")));

        /* A replay of the same capture (a reconnect that re-reads) says nothing new. */
        replay(t, captures[f]);
        CHECK_INT(j.count, 5);
        call_tracker_free(t);
        journal_clear(&j);
    }
}

static void test_live_busy(void)
{
    struct journal j = {0};
    struct call_tracker *t = journal_tracker(NULL, &j);
    CHECK(replay(t, "busy-call.plain.txt") > 20);
    char text[512];
    journal_text(&j, "c96df3d1-b8f8-44f9-b0e2-adc9b0d7c7fc", text, sizeof text);
    CHECK_STR(text, "dialing ringing hanging_up | missed");
    check_live_flags(&j, "c96df3d1-b8f8-44f9-b0e2-adc9b0d7c7fc");
    if (j.count == 4) {
        CHECK(jnull(j.rec[1], "time_answered"));
        CHECK_STR(jstr(j.rec[2], "hangup_cause"), "USER_BUSY");
        CHECK_STR(jstr(j.rec[2], "status"), "busy-line");
        CHECK_INT(jnum(j.rec[2], "billsec"), 0);
        CHECK_STR(jstr(j.rec[3], "status"), "busy-line");
    }
    call_tracker_free(t);
    journal_clear(&j);
}

/* An inbound call: ringing at once; early media; repeated and unrelated events say nothing. */
static void test_live_single_leg(void)
{
    struct journal j = {0};
    struct call_tracker *t = journal_tracker(NULL, &j);
    struct leg a = {.uuid = A_ID,
                    .from = "0901000001",
                    .to = "19001234",
                    .domain = "a.example",
                    .created = 1795257000000000};
    send(t, "CHANNEL_CREATE", &a, 1);
    for (int i = 0; i < 20; i++) {
        send(t, "CHANNEL_EXECUTE", &a, 2);
        send(t, "CHANNEL_EXECUTE_COMPLETE", &a, 2);
        send(t, "CHANNEL_STATE", &a, 2);
        send(t, "CHANNEL_CALLSTATE", &a, 2);
    }
    send(t, "CHANNEL_PROGRESS", &a, 3); /* already ringing */
    send(t, "CHANNEL_PROGRESS_MEDIA", &a, 4);
    send(t, "CHANNEL_PROGRESS_MEDIA", &a, 5);
    send(t, "CHANNEL_PROGRESS", &a, 5); /* no way back */
    a.answered = 1795257003000000;
    send(t, "CHANNEL_ANSWER", &a, 6);
    send(t, "CHANNEL_ANSWER", &a, 7);
    send(t, "CHANNEL_UNBRIDGE", &a, 7);
    a.cause = "NORMAL_CLEARING";
    a.hungup = 1795257010500000;
    send(t, "CHANNEL_HANGUP", &a, 8);
    send(t, "CHANNEL_HANGUP", &a, 8);
    send(t, "CHANNEL_HANGUP_COMPLETE", &a, 9);
    char text[512];
    journal_text(&j, A_ID, text, sizeof text);
    CHECK_STR(text, "ringing early answered hanging_up | answered");
    check_live_flags(&j, A_ID);
    if (j.count == 5) {
        CHECK_STR(j.domain[0], "a.example");
        CHECK_STR(jstr(j.rec[2], "time_answered"), "2026-11-21 10:30:03");
        CHECK_INT(jnum(j.rec[3], "duration"), 10);
        CHECK_INT(jnum(j.rec[3], "billsec"), 7);
    }
    call_tracker_free(t);
    journal_clear(&j);

    /* A call whose first and last event is its end: only the signal. */
    t = journal_tracker(NULL, &j);
    send(t, "CHANNEL_HANGUP_COMPLETE", &a, 1);
    journal_text(&j, A_ID, text, sizeof text);
    CHECK_STR(text, "| answered");
    call_tracker_free(t);
    journal_clear(&j);

    /* Seen first at its answer (a reconnect): starts at "answered". */
    t = journal_tracker(NULL, &j);
    send(t, "CHANNEL_ANSWER", &a, 1);
    send(t, "CHANNEL_HANGUP_COMPLETE", &a, 2);
    journal_text(&j, A_ID, text, sizeof text);
    CHECK_STR(text, "answered | answered");
    call_tracker_free(t);
    journal_clear(&j);
}

/* A SIP call to a hotline, bridged to extension 101: bridged when the extension answers. */
static void test_live_bridged(void)
{
    struct journal j = {0};
    struct call_tracker *t = journal_tracker(NULL, &j);
    struct leg a = {.uuid = A_ID,
                    .from = "0914315989",
                    .to = "19001234",
                    .domain = "pbx.example",
                    .created = 1795257000000000};
    struct leg b1 = {.uuid = B_ID,
                     .other_leg = A_ID,
                     .other_type = "originator",
                     .from = "0914315989",
                     .to = "101",
                     .direction = "outbound",
                     .created = 1795257000200000};
    struct leg b2 = b1;
    b2.uuid = "bbbbbbbb-0000-4000-8000-000000000009";
    b2.to = "102";
    send(t, "CHANNEL_CREATE", &a, 1);
    a.answered = 1795257001000000; /* an IVR answers */
    send(t, "CHANNEL_ANSWER", &a, 2);
    send(t, "CHANNEL_CREATE", &b1, 3); /* extension 101 rings ... */
    send(t, "CHANNEL_PROGRESS", &b1, 3);
    b1.cause = "NO_ANSWER"; /* ... and does not answer: the customer's call goes on */
    b1.hungup = 1795257020000000;
    send(t, "CHANNEL_HANGUP", &b1, 4);
    send(t, "CHANNEL_HANGUP_COMPLETE", &b1, 4);
    send(t, "CHANNEL_CREATE", &b2, 5); /* 102 rings and answers */
    b2.answered = 1795257025000000;
    send(t, "CHANNEL_ANSWER", &b2, 6);
    b2.other_type = NULL;
    send(t, "CHANNEL_BRIDGE", &b2, 6);
    send(t, "CHANNEL_BRIDGE", &a, 6);
    a.cause = b2.cause = "NORMAL_CLEARING";
    a.hungup = b2.hungup = 1795257085000000;
    send(t, "CHANNEL_HANGUP", &b2, 7); /* the agent hangs up first */
    send(t, "CHANNEL_HANGUP", &a, 7);
    send(t, "CHANNEL_HANGUP_COMPLETE", &a, 8);
    send(t, "CHANNEL_HANGUP_COMPLETE", &b2, 8);
    char text[512];
    journal_text(&j, A_ID, text, sizeof text);
    CHECK_STR(text, "ringing answered bridged hanging_up | answered");
    check_live_flags(&j, A_ID);
    if (j.count == 5) {
        CHECK(!cJSON_HasObjectItem(j.rec[1], "receive_dest"));
        CHECK_STR(jstr(j.rec[2], "receive_dest"), "102");
        CHECK_STR(jstr(j.rec[2], "time_answered"), "2026-11-21 10:30:01"); /* the A leg's */
        CHECK_STR(jstr(j.rec[4], "receive_dest"), "102");
    }
    call_tracker_free(t);
    journal_clear(&j);
}

/* Two calls bridged into one; a call whose root turns out to be another leg. */
static void test_live_merge(void)
{
    struct journal j = {0};
    struct call_tracker *t = journal_tracker(NULL, &j);
    struct leg a = {.uuid = A_ID,
                    .from = "0911",
                    .to = "0922",
                    .domain = "m.example",
                    .created = 1795257000000000};
    struct leg b = {.uuid = B_ID,
                    .from = "0933",
                    .to = "0944",
                    .direction = "outbound",
                    .created = 1795257010000000};
    send(t, "CHANNEL_CREATE", &a, 1);
    send(t, "CHANNEL_CREATE", &b, 2);
    b.other_leg = A_ID;
    send(t, "CHANNEL_BRIDGE", &b, 3);
    CHECK_INT(call_tracker_live_calls(t), 1);
    a.cause = b.cause = "NORMAL_CLEARING";
    a.hungup = b.hungup = 1795257020000000;
    send(t, "CHANNEL_HANGUP_COMPLETE", &b, 4);
    send(t, "CHANNEL_HANGUP_COMPLETE", &a, 5);
    char text[512];
    journal_text(&j, A_ID, text, sizeof text);
    CHECK_STR(text, "ringing " B_ID ":dialing " B_ID ":merged>" A_ID " bridged | missed");
    if (j.count == 5) {
        const cJSON *merged = j.rec[2];
        CHECK_STR(j.call_id[2], B_ID);
        CHECK_STR(jstr(merged, "call_id"), B_ID);
        CHECK_STR(jstr(merged, "event_id"), "call-" B_ID "-merged");
        CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(merged, "live")));
        CHECK_STR(jstr(j.rec[3], "domain"), "m.example");
    }
    call_tracker_free(t);
    journal_clear(&j);

    /* B is seen alone, then names A as the leg that placed it: A is the call now. */
    t = journal_tracker(NULL, &j);
    b = (struct leg){.uuid = B_ID, .from = "0911", .to = "101", .created = 1795257000000000};
    send(t, "CHANNEL_CREATE", &b, 1);
    b.other_leg = A_ID;
    b.other_type = "originator";
    b.answered = 1795257005000000;
    send(t, "CHANNEL_ANSWER", &b, 2);
    b.cause = "NORMAL_CLEARING";
    b.hungup = 1795257009000000;
    send(t, "CHANNEL_HANGUP_COMPLETE", &b, 3);
    journal_text(&j, A_ID, text, sizeof text);
    CHECK_STR(text, B_ID ":ringing " B_ID ":merged>" A_ID " answered | answered");
    call_tracker_free(t);
    journal_clear(&j);
}

/* Calls that expire or are evicted end their live records with a signal too. */
static void test_live_expiry(void)
{
    struct journal j = {0};
    struct call_tracker_options opts = {
        .max_call_age_ms = 1000, .max_calls = 2, .format = CALL_SIGNAL_TYPED};
    struct call_tracker *t = call_tracker_new(&opts, on_signal_j, &j);
    call_tracker_set_update_callback(t, on_update_j, &j);
    static const char *const ids[] = {"call-1", "call-2", "call-3"};
    for (int i = 0; i < 3; i++) {
        struct leg l = {.uuid = ids[i], .from = "1", .to = "2", .created = 1795257000000000};
        send(t, "CHANNEL_CREATE", &l, 100 * i);
    }
    call_tracker_expire(t, 5000);
    char text[512];
    journal_text(&j, "", text, sizeof text);
    CHECK_STR(text, "call-1:ringing call-2:ringing | call-1:unknown call-3:ringing "
                    "| call-2:unknown | call-3:unknown");
    for (int i = 0; i < j.count && i < MAX_RECORDS; i++)
        CHECK(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j.rec[i], "live")));
    call_tracker_free(t);
    journal_clear(&j);

    /*
     * No update callback: signals only. One set later announces each call's current
     * state at its next event; unset again, nothing more.
     */
    t = call_tracker_new(NULL, on_signal_j, &j);
    struct leg l = {.uuid = A_ID, .from = "1", .to = "2", .created = 1795257000000000};
    send(t, "CHANNEL_CREATE", &l, 1);
    CHECK_INT(j.count, 0);
    call_tracker_set_update_callback(t, on_update_j, &j);
    send(t, "CHANNEL_PROGRESS", &l, 2);
    l.answered = 1795257001000000;
    send(t, "CHANNEL_ANSWER", &l, 3);
    call_tracker_set_update_callback(t, NULL, NULL);
    send(t, "CHANNEL_HANGUP", &l, 4);
    send(t, "CHANNEL_HANGUP_COMPLETE", &l, 5);
    journal_text(&j, A_ID, text, sizeof text);
    CHECK_STR(text, "ringing answered | answered");
    call_tracker_free(t);
    journal_clear(&j);
}

/*
 * What a consumer keeping live records by call_id sees, over the answered capture in
 * 200 shuffled orders: one record per state and call_id at most, states in order, and
 * nothing left once the events are done and the tracker has expired what remained.
 */
struct consumer {
    char ids[8][80];
    int state[8]; /* the rank of the last live state; 0: no live record */
    int n, duplicates, backwards, updates, merged;
};

static int live_rank(const char *state)
{
    static const char *const order[] = {"dialing",  "ringing", "early",
                                        "answered", "bridged", "hanging_up"};
    for (int i = 0; state && i < 6; i++)
        if (strcmp(state, order[i]) == 0)
            return i + 1;
    return -1;
}

static int consumer_slot(struct consumer *c, const char *call_id)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->ids[i], call_id) == 0)
            return i;
    if (c->n == 8)
        return 7;
    snprintf(c->ids[c->n], sizeof c->ids[0], "%s", call_id);
    c->state[c->n] = 0;
    return c->n++;
}

static void consumer_record(void *closure, const char *domain, const char *call_id, char *json)
{
    (void)domain;
    struct consumer *c = closure;
    cJSON *o = cJSON_Parse(json);
    int i = consumer_slot(c, call_id);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "live"))) {
        int rank = live_rank(jstr(o, "state"));
        c->duplicates += rank == c->state[i];
        c->backwards += rank < c->state[i];
        c->state[i] = rank;
        c->updates++;
    } else {
        c->state[i] = 0;
        c->merged += jstr(o, "merged_into") != NULL;
    }
    cJSON_Delete(o);
    free(json);
}

static void test_live_shuffled(void)
{
    struct esl_event *ev[128];
    size_t n = load_events("answered-call.plain.txt", ev, 128);
    CHECK(n > 50);
    uint64_t seed = 7;
    int clean = 0, bounded = 0, merged = 0;
    for (int round = 0; round < 200; round++) {
        for (size_t i = n - 1; i > 0; i--) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t k = (size_t)(seed >> 33) % (i + 1);
            struct esl_event *tmp = ev[i];
            ev[i] = ev[k];
            ev[k] = tmp;
        }
        struct consumer c = {0};
        struct call_tracker_options o = {.node = "fs1", .format = CALL_SIGNAL_TYPED};
        struct call_tracker *t = call_tracker_new(&o, consumer_record, &c);
        call_tracker_set_update_callback(t, consumer_record, &c);
        for (size_t i = 0; i < n; i++)
            call_tracker_on_event(t, ev[i], (int64_t)i);
        call_tracker_expire(t, INT64_MAX / 2);
        int left = 0;
        for (int i = 0; i < c.n; i++)
            left += c.state[i] != 0;
        clean += left == 0 && c.duplicates == 0 && c.backwards == 0;
        bounded += c.updates <= 6; /* 0 when the A leg's HANGUP_COMPLETE comes first */
        merged += c.merged;
        call_tracker_free(t);
    }
    CHECK_INT(clean, 200);
    CHECK_INT(bounded, 200);
    printf("# shuffled capture: %d \"merged\" records in 200 orders\n", merged);
    for (size_t i = 0; i < n; i++)
        esl_event_free(ev[i]);
}

/*
 * The same consumer over random events of six legs with random links (loopback
 * partners, originators, bridges between calls): merges, late parents and root changes
 * in every order, for the "merged" records and the re-announcements.
 */
static void test_live_random(void)
{
    static const char *const ids[] = {"r0", "r1", "r2", "r3", "r4", "r5"};
    static const char *const names[] = {
        "CHANNEL_CREATE",          "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_ANSWER",          "CHANNEL_BRIDGE",   "CHANNEL_UNBRIDGE",
        "CHANNEL_HANGUP_COMPLETE", "CHANNEL_HANGUP",   "CHANNEL_EXECUTE"};
    static const char *const types[] = {NULL, "originator", "originatee"};
    uint64_t seed = 99;
    int clean = 0, merged = 0, updates = 0;
    for (int round = 0; round < 2000; round++) {
        struct consumer c = {0};
        struct call_tracker *t = call_tracker_new(NULL, consumer_record, &c);
        call_tracker_set_update_callback(t, consumer_record, &c);
        for (int e = 0; e < 30; e++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            uint64_t r = seed >> 16;
            struct leg l = {.uuid = ids[r % 6],
                            .from = "1",
                            .to = (r >> 3) & 1 ? "2" : "3",
                            .direction = (r >> 4) & 1 ? "outbound" : "inbound",
                            .cause = "NORMAL_CLEARING",
                            .created = 1795257000000000,
                            .answered = (r >> 5) & 1 ? 1795257001000000 : 0};
            if ((r >> 8) % 3 == 0) {
                l.other_leg = ids[(r >> 10) % 6];
                l.other_type = types[(r >> 13) % 3];
            }
            if ((r >> 16) % 4 == 0) {
                l.loop_partner = ids[(r >> 18) % 6];
                l.loop_side = (r >> 21) & 1 ? "A" : "B";
            }
            send(t, names[(r >> 24) % (sizeof names / sizeof names[0])], &l, e);
        }
        call_tracker_expire(t, INT64_MAX / 2);
        int left = 0;
        for (int i = 0; i < c.n; i++)
            left += c.state[i] != 0;
        clean += left == 0 && c.duplicates == 0 && c.backwards == 0;
        merged += c.merged;
        updates += c.updates;
        call_tracker_free(t);
    }
    CHECK_INT(clean, 2000);
    CHECK(merged > 100); /* the merge paths did run */
    printf("# random events: %d live records, %d \"merged\" records in 2000 rounds\n", updates,
           merged);
}

/* ---- default domains ---- */

static void test_default_domain(void)
{
    /* The tracker: default_domain when the events have none; NULL when there is none. */
    struct sink s = {0};
    struct call_tracker_options opts = {.default_domain = "Default.Example",
                                        .format = CALL_SIGNAL_TYPED};
    struct call_tracker *t = call_tracker_new(&opts, on_signal, &s);
    single_leg(t, A_ID, "NO_ANSWER", false); /* its domain_name is a.example */
    struct leg l = {.uuid = B_ID,
                    .from = "1",
                    .to = "2",
                    .cause = "NO_ANSWER",
                    .extra_name = "variable_sip_req_host",
                    .extra_value = "192.0.2.1"};
    send(t, "CHANNEL_HANGUP_COMPLETE", &l, 1);
    CHECK_INT(s.count, 2);
    CHECK_STR(s.domain[0], "a.example");
    CHECK_STR(s.domain[1], "default.example");
    CHECK_STR(jstr(s.sig[1], "domain"), "default.example");
    call_tracker_free(t);
    sink_clear(&s);
    t = call_tracker_new(NULL, on_signal, &s);
    send(t, "CHANNEL_HANGUP_COMPLETE", &l, 1);
    CHECK_INT(s.count, 1);
    CHECK(s.domain_null[0]);
    CHECK_STR(jstr(s.sig[0], "domain"), ""); /* the default (seed) form: "" for none */
    call_tracker_free(t);
    sink_clear(&s);
}

/* ---- time zones and bad options ---- */

static void test_zones(void)
{
    struct sink s = {0};
    struct call_tracker *t = tracker("America/New_York", &s);
    CHECK(t != NULL);
    struct leg summer = {.uuid = "s",
                         .from = "1",
                         .to = "2",
                         .cause = "NO_ANSWER",
                         .created = 1782907200000000, /* 2026-07-01 12:00:00 UTC */
                         .hungup = 1782907201000000};
    struct leg winter = {.uuid = "w",
                         .from = "1",
                         .to = "2",
                         .cause = "NO_ANSWER",
                         .created = 1768478400000000, /* 2026-01-15 12:00:00 UTC */
                         .hungup = 1768478401000000};
    send(t, "CHANNEL_HANGUP_COMPLETE", &summer, 1);
    send(t, "CHANNEL_HANGUP_COMPLETE", &winter, 2);
    CHECK_INT(s.count, 2);
    CHECK_STR(jstr(s.sig[0], "time_started"), "2026-07-01 08:00:00"); /* EDT, UTC-4 */
    CHECK_STR(jstr(s.sig[1], "time_started"), "2026-01-15 07:00:00"); /* EST, UTC-5 */
    call_tracker_free(t);
    sink_clear(&s);

    CHECK(tracker("No/Such_Zone", &s) == NULL);
    CHECK(tracker("../../etc/passwd", &s) == NULL);
    CHECK(tracker("/etc/localtime", &s) == NULL);
    struct call_tracker_options bad = {.default_domain = "192.0.2.1"};
    CHECK(call_tracker_new(&bad, on_signal, &s) == NULL);
    t = tracker("UTC", &s);
    CHECK(t != NULL);
    call_tracker_free(t);
    call_tracker_free(NULL);
}

/* ---- memory: 50,000 live two-leg calls ---- */

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void test_memory(void)
{
    enum { CALLS = 50000 };
    struct sink s = {0};
    long rss0 = rss_kb();
    size_t heap0 = heap_bytes();
    struct call_tracker *t = tracker("Asia/Ho_Chi_Minh", &s);
    for (unsigned i = 0; i < CALLS; i++) {
        char a_id[40], b_id[40], from[16], sip_id[64];
        snprintf(a_id, sizeof a_id, "%08x-77f1-4de1-8394-dfd80401e3aa", i);
        snprintf(b_id, sizeof b_id, "%08x-515d-41b3-b516-ad4123e0aef3", i);
        snprintf(from, sizeof from, "09%08u", i);
        snprintf(sip_id, sizeof sip_id, "%08x-a3f1c2d4e5b6@sip.tenant-%u.example", i, i % 500);
        struct leg a = {.uuid = a_id,
                        .loop_partner = b_id,
                        .loop_side = "A",
                        .from = from,
                        .to = "0987654321",
                        .direction = "inbound",
                        .domain = "tenant.example",
                        .extra_name = "variable_sip_call_id",
                        .extra_value = sip_id,
                        .created = 1795257146260082};
        struct leg b = {.uuid = b_id,
                        .loop_partner = a_id,
                        .loop_side = "B",
                        .from = from,
                        .to = "0987654321",
                        .direction = "outbound",
                        .domain = "tenant.example",
                        .created = 1795257146260082};
        send(t, "CHANNEL_CREATE", &a, i);
        send(t, "CHANNEL_CREATE", &b, i);
        a.answered = b.answered = 1795257146760081;
        send(t, "CHANNEL_ANSWER", &a, i);
        send(t, "CHANNEL_ANSWER", &b, i);
    }
    CHECK_INT(call_tracker_live_calls(t), CALLS);
    CHECK_INT(s.count, 0);
    long rss1 = rss_kb();
    size_t heap1 = heap_bytes();
    double rss_mb = (double)(rss1 - rss0) / 1024.0;
    double heap_mb = (double)(heap1 - heap0) / (1024.0 * 1024.0);
#ifdef SANITIZED
    (void)heap_mb; /* the sanitizer's allocator is invisible to mallinfo2 */
    printf("# memory for %d live calls: RSS +%.1f MB (sanitizer build: every block is padded;"
           " bound not asserted)\n",
           CALLS, rss_mb);
#else
    printf("# memory for %d live calls: RSS +%.1f MB, heap +%.1f MB (%.0f bytes/call)\n", CALLS,
           rss_mb, heap_mb, heap_mb * 1024.0 * 1024.0 / CALLS);
    CHECK(rss0 > 0 && rss1 > 0);
    CHECK(rss_mb < 60.0);
    CHECK(heap_mb < 60.0);
#endif
    call_tracker_free(t);
    sink_clear(&s);
}

int main(void)
{
    test_answered_plain();
    test_answered_plain_timezone();
    test_answered_json();
    test_busy_plain();
    test_odd_orders();
    test_shuffled_capture();
    test_flipped_caller_id();
    test_single_leg();
    test_bridged();
    test_merge();
    test_expiry();
    test_max_calls();
    test_live_answered();
    test_live_busy();
    test_live_single_leg();
    test_live_bridged();
    test_live_merge();
    test_live_expiry();
    test_live_shuffled();
    test_live_random();
    test_default_domain();
    test_zones();
    test_memory();
    return unit_done();
}
