/*
 * fuzz_call_tracker — the call tracker fed event sequences.
 *
 * Byte 0 picks the tracker's options: the time zone (bits 0-1), a default domain
 * (bit 2), live records on or off (bit 3), max_calls 1..16 (bits 4-7). Byte 1 picks
 * the signal form (bit 1: typed; else seed, with two calls.fields members read from
 * headers the captures carry) and how the rest is read (bit 0):
 *  - odd: as an Event Socket stream (a capture: tests/unit/fixtures/esl), decoded by
 *    the real esl_parser / esl_event, each event fed with the clock a step further;
 *  - even: as a program of channel events built from a few legs. Per event: an op
 *    byte (the Event-Name; 0xff: advance the clock and expire), the leg, two bytes of
 *    flags saying which headers it carries (the links to other legs — Other-Leg,
 *    loopback partner, originator, Channel-Call-UUID —, direction, numbers, times,
 *    cause, a domain from any of its sources, an arbitrary header), and the clock
 *    step. Values come from small pools (so legs meet and calls merge) or, for a pool
 *    index past the end, straight from the input.
 *
 * What must hold: every call signal and live record is one JSON object with the right
 * "live"; at most max_calls calls are tracked after any event; a domain handed out is
 * a hostname; and once everything has expired, no call is tracked and every call_id
 * that got a live record has been closed by a record with "live": false (a signal or
 * a "merged" record), as call_tracker.h promises a consumer.
 */
#include "sources/esl/call_tracker.h"
#include "sources/esl/esl_event.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_AGE_MS 60000
#define MAX_EVENTS 400
#define MAX_OPEN 64
#define T0_US INT64_C(1795257146000000)

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* ---- what the callbacks saw ---- */

struct seen {
    char open[MAX_OPEN][80]; /* call_ids with a live record and no "live": false yet */
    size_t nopen;
    bool overflow; /* more than MAX_OPEN at once: the final check is skipped */
    size_t signals;
};

static void open_remove(struct seen *s, const char *id)
{
    for (size_t i = 0; i < s->nopen; i++)
        if (strcmp(s->open[i], id) == 0) {
            memmove(s->open[i], s->open[s->nopen - 1], sizeof s->open[0]);
            s->nopen--;
            return;
        }
}

static void open_add(struct seen *s, const char *id)
{
    for (size_t i = 0; i < s->nopen; i++)
        if (strcmp(s->open[i], id) == 0)
            return;
    if (s->nopen == MAX_OPEN || strlen(id) >= sizeof s->open[0]) {
        s->overflow = true;
        return;
    }
    snprintf(s->open[s->nopen++], sizeof s->open[0], "%s", id);
}

/* The record is one JSON object with a "state"; sets *live to its "live". */
static void check_record(const char *json, const char *domain, const char *call_id, bool *live)
{
    check(call_id && call_id[0]);
    check(!domain || (domain[0] && strlen(domain) < 256));
    cJSON *o = cJSON_Parse(json);
    check(cJSON_IsObject(o));
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "live");
    check(cJSON_IsBool(l));
    *live = cJSON_IsTrue(l);
    check(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "state")));
    cJSON_Delete(o);
}

static void on_signal(void *closure, const char *domain, const char *call_id, char *json)
{
    struct seen *s = closure;
    bool live = true;
    check_record(json, domain, call_id, &live);
    check(!live);
    open_remove(s, call_id);
    s->signals++;
    free(json);
}

static void on_update(void *closure, const char *domain, const char *call_id, char *json)
{
    struct seen *s = closure;
    bool live = false;
    check_record(json, domain, call_id, &live);
    if (live)
        open_add(s, call_id);
    else
        open_remove(s, call_id); /* "merged" */
    free(json);
}

/* ---- reading the input ---- */

struct in {
    const uint8_t *p;
    size_t left;
};

static uint8_t next(struct in *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

/* Per-event storage for values taken from the input. */
struct arena {
    char buf[2048];
    size_t used;
};

/* A string of up to 47 bytes from the input (NULs become 'x': headers cannot hold one). */
static const char *take_string(struct in *in, struct arena *a)
{
    size_t n = next(in) % 48;
    if (a->used + n + 1 > sizeof a->buf)
        return "";
    char *s = a->buf + a->used;
    for (size_t i = 0; i < n; i++) {
        char c = (char)next(in);
        s[i] = c ? c : 'x';
    }
    s[n] = '\0';
    a->used += n + 1;
    return s;
}

/* pool[b % (count + 1)], or a string from the input for the extra index. */
static const char *pick(struct in *in, struct arena *a, const char *const *pool, size_t count)
{
    size_t i = next(in) % (count + 1);
    return i < count ? pool[i] : take_string(in, a);
}

static const char *const legs[] = {"48718434-77f1-4de1-8394-dfd80401e3aa",
                                   "b2f2c1d0-0f1e-4c3b-9a8d-7e6f5a4b3c2d",
                                   "c3a3d2e1-1a2b-4c5d-8e9f-0a1b2c3d4e5f",
                                   "d4b4e3f2-2b3c-4d5e-9f0a-1b2c3d4e5f60",
                                   "e5c5f4a3-3c4d-4e5f-8a1b-2c3d4e5f6071",
                                   "f6d6a5b4-4d5e-4f60-9b2c-3d4e5f607182",
                                   "a",
                                   "x-y_z"};
#define NLEGS (sizeof legs / sizeof legs[0])

static const char *const names[] = {
    "CHANNEL_CREATE", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA",  "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_HANGUP",          "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_STATE",  "HEARTBEAT",        "CHANNEL_HANGUP_COMPLETE", "CHANNEL_CREATE"};
static const char *const numbers[] = {"0914315989", "0987654321", "19001234", "+84901000001",
                                      "1000"};
static const char *const causes[] = {"NORMAL_CLEARING", "USER_BUSY", "NO_ANSWER",
                                     "ORIGINATOR_CANCEL", "CALL_REJECTED"};
static const char *const domains[] = {"example.com",         "Tenant.Example.Org", "1000@a.example",
                                      "user@b.example:5060", "bad domain",         "a..b",
                                      "192.0.2.10"};
static const char *const domain_headers[] = {
    "variable_domain_name",  "variable_dialed_domain", "variable_requested_domain_name",
    "variable_sip_req_host", "variable_sip_to_host",   "variable_sip_from_host",
    "variable_presence_id"};
static const char *const zones[] = {NULL, "UTC", "Asia/Ho_Chi_Minh", "America/New_York"};

/* A microsecond time header value. */
static const char *pick_time(struct in *in, struct arena *a)
{
    uint8_t b = next(in);
    switch (b % 8) {
    case 0:
        return "0";
    case 1:
        return "";
    case 2:
        return "-5";
    case 3:
        return "99999999999999999999";
    case 4:
        return take_string(in, a);
    default:
        if (a->used + 24 > sizeof a->buf)
            return "0";
        char *s = a->buf + a->used;
        a->used += 24;
        snprintf(s, 24, "%" PRId64, T0_US + (int64_t)(b >> 3) * 1500000 + next(in) * 1000);
        return s;
    }
}

#define ADD(n, v) (h[count++] = (struct esl_header){(n), (v)})

static void feed_one(struct call_tracker *t, struct in *in, int64_t *now)
{
    uint8_t op = next(in);
    if (op == 0xff) {
        *now += (int64_t)next(in) * 1000;
        call_tracker_expire(t, *now);
        return;
    }
    struct arena a = {.used = 0};
    struct esl_header h[32];
    size_t count = 0;
    ADD("Event-Name", names[op % (sizeof names / sizeof names[0])]);
    ADD("Unique-ID", pick(in, &a, legs, NLEGS));
    uint8_t f1 = next(in), f2 = next(in);
    if (f1 & 1)
        ADD("Channel-Call-UUID", pick(in, &a, legs, NLEGS));
    if (f1 & 2) {
        ADD("Other-Leg-Unique-ID", pick(in, &a, legs, NLEGS));
        static const char *const types[] = {"originator", "originatee", "peer"};
        ADD("Other-Type", pick(in, &a, types, 3));
    }
    if (f1 & 4) {
        ADD("variable_other_loopback_leg_uuid", pick(in, &a, legs, NLEGS));
        static const char *const sides[] = {"A", "B"};
        ADD("variable_loopback_leg", pick(in, &a, sides, 2));
    }
    if (f1 & 8)
        ADD("variable_originator", pick(in, &a, legs, NLEGS));
    if (f1 & 16)
        ADD("variable_other_loopback_from_uuid", pick(in, &a, legs, NLEGS));
    if (f1 & 32) {
        static const char *const dirs[] = {"inbound", "outbound"};
        ADD("Call-Direction", pick(in, &a, dirs, 2));
    }
    if (f1 & 64) {
        ADD("Caller-Caller-ID-Number", pick(in, &a, numbers, 5));
        ADD("Caller-Destination-Number", pick(in, &a, numbers, 5));
    }
    if (f1 & 128) {
        ADD("variable_channel_cid_flipped", "yes");
        ADD("Caller-Orig-Caller-ID-Number", pick(in, &a, numbers, 5));
        ADD("Caller-Callee-ID-Number", pick(in, &a, numbers, 5));
    }
    if (f2 & 1)
        ADD("Caller-Channel-Created-Time", pick_time(in, &a));
    if (f2 & 2)
        ADD("Caller-Channel-Answered-Time", pick_time(in, &a));
    if (f2 & 4)
        ADD("Caller-Channel-Hangup-Time", pick_time(in, &a));
    if (f2 & 8)
        ADD("Event-Date-Timestamp", pick_time(in, &a));
    if (f2 & 16) {
        ADD("Hangup-Cause", pick(in, &a, causes, 5));
        ADD("variable_hangup_cause", pick(in, &a, causes, 5));
    }
    if (f2 & 32)
        ADD(domain_headers[next(in) % 7], pick(in, &a, domains, 7));
    if (f2 & 64) {
        ADD("variable_sip_call_id", take_string(in, &a));
        ADD("variable_hotline", take_string(in, &a));
        ADD("variable_sip_hangup_disposition", take_string(in, &a));
    }
    if (f2 & 128) {
        const char *name = take_string(in, &a);
        ADD(name, take_string(in, &a));
    }
    struct esl_event ev = {.headers = h, .header_count = count};
    *now += next(in);
    call_tracker_on_event(t, &ev, *now);
}

/* The rest of the input as an Event Socket stream. */
static void feed_stream(struct call_tracker *t, struct in *in, int64_t *now)
{
    struct esl_parser *p = esl_parser_new(1 << 20);
    check(p != NULL);
    while (in->left) {
        size_t used = 0;
        struct esl_frame *f = NULL;
        enum esl_status st = esl_parser_feed(p, (const char *)in->p, in->left, &used, &f);
        check(used <= in->left);
        in->p += used;
        in->left -= used;
        if (st != ESL_FRAME)
            break;
        char err[128];
        struct esl_event *ev = strncmp(f->content_type, "text/event-", 11) == 0
                                   ? esl_event_from_frame(f, err, sizeof err)
                                   : NULL;
        if (ev) {
            *now += 250;
            call_tracker_on_event(t, ev, *now);
        }
        esl_event_free(ev);
        esl_frame_free(f);
    }
    esl_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = {data, size};
    uint8_t opt = next(&in), mode = next(&in);
    struct call_tracker_options o = {
        .node = "fs1",
        .default_domain = opt & 4 ? "pbx.example" : NULL,
        .timezone = zones[opt & 3],
        .max_call_age_ms = MAX_AGE_MS,
        .max_calls = (size_t)(opt >> 4) + 1,
        .format = mode & 2 ? CALL_SIGNAL_TYPED : CALL_SIGNAL_SEED,
    };
    if (!(mode & 2)) {
        o.extra_headers[CALL_EXTRA_NETWORK] = "variable_sofia_profile_name";
        o.extra_headers[CALL_EXTRA_CRM_CONTACT_ID] = "variable_hotline";
    }
    static struct seen seen; /* static: ~5 KB */
    memset(&seen, 0, sizeof seen);
    struct call_tracker *t = call_tracker_new(&o, on_signal, &seen);
    check(t != NULL);
    if (opt & 8)
        call_tracker_set_update_callback(t, on_update, &seen);
    int64_t now = 1000;
    if (mode & 1) {
        feed_stream(t, &in, &now);
    } else {
        for (int i = 0; i < MAX_EVENTS && in.left; i++) {
            feed_one(t, &in, &now);
            check(call_tracker_live_calls(t) <= o.max_calls);
            for (size_t k = 0; k < NLEGS; k++) {
                const char *d = call_tracker_domain_of(t, legs[k]);
                check(!d || (d[0] && strlen(d) < 256 && !strchr(d, ' ')));
            }
        }
    }
    check(call_tracker_live_calls(t) <= o.max_calls);
    call_tracker_expire(t, now + MAX_AGE_MS + 1);
    check(call_tracker_live_calls(t) == 0);
    check(seen.overflow || !(opt & 8) || seen.nopen == 0);
    call_tracker_free(t);
    return 0;
}
