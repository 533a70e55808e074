/*
 * Unit tests: the call signal of every scenario, as docs/FREESWITCH.md shows it.
 *
 * Each real capture in fixtures/esl is replayed through the real esl_parser and
 * esl_event into a call tracker with the default options (the seed form), fed in
 * chunks cut at random points (several seeds per capture), and the one signal it
 * gives must equal, member for member, the JSON block that follows
 * "<!-- signal: NAME -->" in docs/FREESWITCH.md, and the scenario table there must
 * hold the row built from it. So the documentation cannot drift from the code.
 *
 * Two scenarios FreeSWITCH was not recorded in are derived from a capture by editing
 * its events before they reach the tracker (named "capture+edit"): a rejected call
 * (the busy capture with CALL_REJECTED) and a hotline call the agent never answers.
 * Also here: the CDR rule against variable_billsec / variable_duration, the SIP dialog
 * merge when eventhub joins mid-call, and the operator-named members (calls.fields).
 */
#include "sources/esl/call_tracker.h"
#include "sources/esl/esl_event.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIGNALS 8
#define MAX_HEADERS 512

struct sink {
    int count;
    char *json[MAX_SIGNALS];
};

static void on_signal(void *closure, const char *domain, const char *call_id, char *json)
{
    (void)domain;
    (void)call_id;
    struct sink *s = closure;
    if (s->count < MAX_SIGNALS)
        s->json[s->count] = json;
    else
        free(json);
    s->count++;
}

static void sink_clear(struct sink *s)
{
    for (int i = 0; i < s->count && i < MAX_SIGNALS; i++)
        free(s->json[i]);
    memset(s, 0, sizeof *s);
}

/* ---- editing events on their way in ---- */

/* Returns false to drop the event; may replace header values in h[0..n). */
typedef bool (*edit_fn)(struct esl_header *h, size_t n);

static const char *header(const struct esl_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

static void set_header(struct esl_header *h, size_t n, const char *name, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].name, name) == 0)
            h[i].value = value;
}

/* The busy capture as a rejected call (SIP 603 / CALL_REJECTED instead of USER_BUSY). */
static bool edit_rejected(struct esl_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].value, "USER_BUSY") == 0)
            h[i].value = "CALL_REJECTED";
    return true;
}

/* The hotline call with the agent never picking up: no answer and no bridge on any
 * channel; the agent's channels end NO_ANSWER, the caller's NORMAL_CLEARING. */
static bool edit_hotline_missed(struct esl_header *h, size_t n)
{
    const char *name = header(h, n, "Event-Name");
    if (name && (strcmp(name, "CHANNEL_ANSWER") == 0 || strcmp(name, "CHANNEL_BRIDGE") == 0 ||
                 strcmp(name, "CHANNEL_UNBRIDGE") == 0))
        return false;
    set_header(h, n, "Caller-Channel-Answered-Time", "0");
    set_header(h, n, "variable_billsec", "0");
    set_header(h, n, "variable_channel_cid_flipped", "no");
    const char *chan = header(h, n, "Channel-Name");
    if (chan && strncmp(chan, "loopback/2006-", 14) == 0) {
        set_header(h, n, "Hangup-Cause", "NO_ANSWER");
        set_header(h, n, "variable_hangup_cause", "NO_ANSWER");
    }
    return true;
}

/* ---- replaying a capture ---- */

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void feed(struct call_tracker *t, const struct esl_event *ev, edit_fn edit, int64_t now)
{
    if (!edit) {
        call_tracker_on_event(t, ev, now);
        return;
    }
    struct esl_header h[MAX_HEADERS];
    size_t n = 0, k = 0;
    for (; k < ev->header_count && n < MAX_HEADERS; k++)
        h[n++] = ev->headers[k];
    if (!edit(h, n))
        return;
    /* Headers whose value became NULL are left out. */
    size_t kept = 0;
    for (k = 0; k < n; k++)
        if (h[k].value)
            h[kept++] = h[k];
    struct esl_event copy = {.headers = h, .header_count = kept};
    call_tracker_on_event(t, &copy, now);
}

/*
 * Feeds the capture to t in chunks of 1..max_chunk bytes (cut at random points from
 * `seed`; max_chunk 0: all at once). Returns the number of events, -1 on an error.
 */
static int replay_split(struct call_tracker *t, const char *name, uint64_t seed, size_t max_chunk,
                        edit_fn edit)
{
    char path[512];
    snprintf(path, sizeof path, "%s/esl/%s", FIXTURES_DIR, name);
    size_t len = 0;
    char *data = unit_read_file(path, &len);
    if (!data)
        return -1;
    struct esl_parser *p = esl_parser_new(1 << 20);
    size_t off = 0, end = 0;
    int events = 0;
    while (off < len && events >= 0) {
        if (end <= off)
            end = max_chunk ? off + 1 + rng_next(&seed) % max_chunk : len;
        if (end > len)
            end = len;
        size_t used = 0;
        struct esl_frame *f = NULL;
        enum esl_status st = esl_parser_feed(p, data + off, end - off, &used, &f);
        off += used;
        if (st == ESL_ERROR) {
            events = -1;
        } else if (st == ESL_FRAME) {
            if (strncmp(f->content_type, "text/event-", 11) == 0) {
                char err[128];
                struct esl_event *ev = esl_event_from_frame(f, err, sizeof err);
                if (ev)
                    feed(t, ev, edit, 1000 + events++);
                else
                    events = -1;
                esl_event_free(ev);
            }
            esl_frame_free(f);
        } else if (used == 0) {
            end = off; /* the parser wants more than this chunk: cut the next one */
        }
    }
    esl_parser_free(p);
    free(data);
    return events;
}

/* ---- what docs/FREESWITCH.md says ---- */

static char *docs;

/* The JSON block after "<!-- signal: NAME -->", parsed; NULL when missing. */
static cJSON *documented_signal(const char *name)
{
    char marker[160];
    snprintf(marker, sizeof marker, "<!-- signal: %s -->", name);
    const char *at = docs ? strstr(docs, marker) : NULL;
    const char *open = at ? strstr(at, "```json\n") : NULL;
    const char *close = open ? strstr(open + 8, "```") : NULL;
    if (!close)
        return NULL;
    char *text = strndup(open + 8, (size_t)(close - open - 8));
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    return j;
}

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : "?";
}

/* The scenario table's row for the signal: "| `NAME` | direction | from | to | hotline |
 * receive_dest | duration | billsec | state | status | hangup_cause |" (empty cells
 * as "—"). */
static void table_row(const cJSON *sig, const char *name, char *out, size_t cap)
{
    static const char *const cols[] = {"direction",    "from_number", "to_number", "hotline",
                                       "receive_dest", "duration",    "billsec",   "state",
                                       "status",       "hangup_cause"};
    size_t used = (size_t)snprintf(out, cap, "| `%s` |", name);
    for (size_t i = 0; i < sizeof cols / sizeof cols[0] && used < cap; i++) {
        const char *v = str_of(sig, cols[i]);
        used += (size_t)snprintf(out + used, cap - used, " %s |", *v ? v : "—");
    }
}

/* ---- the scenarios ---- */

struct scenario {
    const char *name; /* as in the docs: the capture, "+edit" when derived */
    const char *capture;
    edit_fn edit;
};

static const struct scenario scenarios[] = {
    {"answered-call.plain.txt", "answered-call.plain.txt", NULL},
    {"answered-call.json.txt", "answered-call.json.txt", NULL},
    {"busy-call.plain.txt", "busy-call.plain.txt", NULL},
    {"busy-call.plain.txt+rejected", "busy-call.plain.txt", edit_rejected},
    {"cancel-call.plain.txt", "cancel-call.plain.txt", NULL},
    {"cancel-call-sip.plain.txt", "cancel-call-sip.plain.txt", NULL},
    {"sip-hairpin.plain.txt", "sip-hairpin.plain.txt", NULL},
    {"hotline-bridge.plain.txt", "hotline-bridge.plain.txt", NULL},
    {"hotline-bridge.plain.txt+missed", "hotline-bridge.plain.txt", edit_hotline_missed},
};

static struct call_tracker *seed_tracker(struct sink *s)
{
    struct call_tracker_options o = {.node = "fs1"};
    return call_tracker_new(&o, on_signal, s);
}

/* One signal per call, equal to the documented one, however the bytes are cut. */
static void test_documented_signals(void)
{
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        const struct scenario *sc = &scenarios[i];
        cJSON *want = documented_signal(sc->name);
        char what[1400];
        snprintf(what, sizeof what, "%s: documented in docs/FREESWITCH.md", sc->name);
        unit_check(want != NULL, what, __FILE__, __LINE__);
        for (uint64_t seed = 0; seed < 12; seed++) {
            struct sink s = {0};
            struct call_tracker *t = seed_tracker(&s);
            size_t max_chunk = seed == 0 ? 0 : seed < 4 ? 7 : 1500;
            int events = replay_split(t, sc->capture, seed * 7919 + i, max_chunk, sc->edit);
            cJSON *got = s.count == 1 ? cJSON_Parse(s.json[0]) : NULL;
            bool same = got && want && cJSON_Compare(got, want, true);
            snprintf(what, sizeof what, "%s, cut %llu: %d events, %d signal(s), as documented",
                     sc->name, (unsigned long long)seed, events, s.count);
            unit_check(events > 10 && s.count == 1 && same, what, __FILE__, __LINE__);
            if (seed == 0 && !same)
                printf("# got: %s\n", s.count ? s.json[0] : "(none)");
            if (seed == 0 && got) {
                /* Every value a string (the seed form), except eventhub's "live". */
                int non_strings = 0;
                const cJSON *m;
                cJSON_ArrayForEach(m, got)
                {
                    if (!cJSON_IsString(m) && strcmp(m->string, "live") != 0)
                        non_strings++;
                }
                CHECK_INT(non_strings, 0);
                char row[1024];
                table_row(got, sc->name, row, sizeof row);
                snprintf(what, sizeof what, "%s: the table row %s", sc->name, row);
                unit_check(docs && strstr(docs, row), what, __FILE__, __LINE__);
            }
            /* Replaying it again (a reconnect that re-reads) adds nothing. */
            if (seed == 1) {
                replay_split(t, sc->capture, seed, 0, sc->edit);
                CHECK_INT(s.count, 1);
            }
            CHECK_INT(call_tracker_live_calls(t), 0);
            cJSON_Delete(got);
            call_tracker_free(t);
            sink_clear(&s);
        }
        cJSON_Delete(want);
    }
}

/* The seed event of the issue names exactly these members; each must be present. */
static void test_seed_members(void)
{
    static const char *const seed[] = {
        "actual_hotline", "billsec",
        "call_id",        "crm_contact_id",
        "direction",      "domain",
        "duration",       "from_number",
        "hotline",        "network",
        "provider",       "receive_dest",
        "sip_call_id",    "sip_hangup_disposition",
        "state",          "status",
        "time_ended",     "time_started",
        "to_number",
    };
    struct sink s = {0};
    struct call_tracker *t = seed_tracker(&s);
    replay_split(t, "busy-call.plain.txt", 1, 0, NULL);
    cJSON *o = s.count == 1 ? cJSON_Parse(s.json[0]) : NULL;
    for (size_t i = 0; i < sizeof seed / sizeof seed[0]; i++) {
        char what[128];
        snprintf(what, sizeof what, "member %s is a string", seed[i]);
        unit_check(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, seed[i])), what, __FILE__,
                   __LINE__);
    }
    /* eventhub's own additions stay. */
    CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "event_id")));
    CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "time_answered")));
    CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "hangup_cause")));
    CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "node")));
    cJSON_Delete(o);
    call_tracker_free(t);
    sink_clear(&s);
}

/*
 * duration and billsec are FreeSWITCH's CDR figures: each capture's root channel says
 * them in variable_duration / variable_billsec at CHANNEL_HANGUP_COMPLETE. The JSON
 * capture is the case where truncating the exact talk time would disagree: created
 * 169.500123 s, hung up 172.020108 s (epoch seconds ...1795257xxx), 2.52 s exactly,
 * but FreeSWITCH subtracts whole seconds: 172 - 169 = 3.
 */
static void test_cdr_figures(void)
{
    static const struct {
        const char *capture, *duration, *billsec;
    } cdr[] = {
        {"answered-call.plain.txt", "2", "2"},  {"answered-call.json.txt", "3", "2"},
        {"busy-call.plain.txt", "1", "0"},      {"sip-hairpin.plain.txt", "2", "2"},
        {"hotline-bridge.plain.txt", "3", "2"}, {"cancel-call-sip.plain.txt", "1", "0"},
    };
    for (size_t i = 0; i < sizeof cdr / sizeof cdr[0]; i++) {
        struct sink s = {0};
        struct call_tracker *t = seed_tracker(&s);
        replay_split(t, cdr[i].capture, 3, 0, NULL);
        cJSON *o = s.count == 1 ? cJSON_Parse(s.json[0]) : NULL;
        char what[160];
        snprintf(what, sizeof what, "%s: duration %s, billsec %s as FreeSWITCH's CDR",
                 cdr[i].capture, cdr[i].duration, cdr[i].billsec);
        unit_check(o && strcmp(str_of(o, "duration"), cdr[i].duration) == 0 &&
                       strcmp(str_of(o, "billsec"), cdr[i].billsec) == 0,
                   what, __FILE__, __LINE__);
        cJSON_Delete(o);
        call_tracker_free(t);
        sink_clear(&s);
    }

    /* Without FreeSWITCH's figures (no variable_billsec), the same rule over the
     * instants: created ...0.900 s, answered ...1.100 s, hung up ...3.050 s gives
     * duration 3 - 0 = 3 and billsec 3 - 1 = 2 (exactly: 2.15 s and 1.95 s). */
    struct sink s = {0};
    struct call_tracker_options opts = {.node = "fs1", .format = CALL_SIGNAL_TYPED};
    struct call_tracker *t = call_tracker_new(&opts, on_signal, &s);
    struct esl_header h[] = {
        {"Event-Name", "CHANNEL_HANGUP_COMPLETE"},
        {"Unique-ID", "leg-1"},
        {"Call-Direction", "inbound"},
        {"Caller-Caller-ID-Number", "0901"},
        {"Caller-Destination-Number", "1900"},
        {"variable_domain_name", "a.example"},
        {"Caller-Channel-Created-Time", "1795257000900000"},
        {"Caller-Channel-Answered-Time", "1795257001100000"},
        {"Caller-Channel-Hangup-Time", "1795257003050000"},
        {"Hangup-Cause", "NORMAL_CLEARING"},
    };
    struct esl_event ev = {.headers = h, .header_count = sizeof h / sizeof h[0]};
    call_tracker_on_event(t, &ev, 1);
    cJSON *o = s.count == 1 ? cJSON_Parse(s.json[0]) : NULL;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "duration");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "billsec");
    /* The typed form: numbers. */
    CHECK(cJSON_IsNumber(d) && d->valuedouble == 3);
    CHECK(cJSON_IsNumber(b) && b->valuedouble == 2);
    CHECK_STR(str_of(o, "time_started"), "2026-11-21 10:30:00");
    CHECK_STR(str_of(o, "time_ended"), "2026-11-21 10:30:03");
    cJSON_Delete(o);
    call_tracker_free(t);
    sink_clear(&s);
}

/* Events of the capture from the first one whose Event-Name is `from` onwards. */
static bool after_mark;
static const char *mark_event;

static bool edit_join_late(struct esl_header *h, size_t n)
{
    const char *name = header(h, n, "Event-Name");
    if (name && strcmp(name, mark_event) == 0)
        after_mark = true;
    return after_mark;
}

/*
 * eventhub joins a SIP hairpin late (a restart or a reconnect): it sees only the end.
 * The inbound channel ends first, so it is described on its own (its dialog partner
 * never named); the outbound channel's end that follows belongs to the same SIP
 * dialog, whose call has been described: no second signal.
 */
static void test_hairpin_joined_late(void)
{
    struct sink s = {0};
    struct call_tracker *t = seed_tracker(&s);
    after_mark = false;
    mark_event = "CHANNEL_HANGUP";
    CHECK(replay_split(t, "sip-hairpin.plain.txt", 5, 64, edit_join_late) > 3);
    CHECK_INT(s.count, 1);
    cJSON *o = s.count >= 1 ? cJSON_Parse(s.json[0]) : NULL;
    CHECK_STR(str_of(o, "call_id"), "acfba007-b10f-4fdb-8970-9362a3ccbad4");
    CHECK_STR(str_of(o, "state"), "answered");
    CHECK_STR(str_of(o, "billsec"), "2");
    CHECK_INT(call_tracker_live_calls(t), 0);
    cJSON_Delete(o);
    call_tracker_free(t);
    sink_clear(&s);
}

/* Two inbound channels with one SIP Call-ID (a phone that reuses Call-IDs, or a caller
 * who copies the Call-ID of a call it saw) are two calls, never merged; only an
 * outbound and an inbound channel of one dialog are. */
static void dialog_leg(struct call_tracker *t, const char *uuid, const char *event,
                       const char *direction, const char *domain)
{
    struct esl_header h[] = {
        {"Event-Name", event},
        {"Unique-ID", uuid},
        {"Call-Direction", direction},
        {"Caller-Caller-ID-Number", "0901"},
        {"Caller-Destination-Number", "1900"},
        {"variable_domain_name", domain},
        {"variable_sip_call_id", "same-call-id@192.0.2.7"},
        {"Caller-Channel-Created-Time", "1795257000900000"},
        {"Caller-Channel-Hangup-Time", "1795257003050000"},
        {"Hangup-Cause", "NORMAL_CLEARING"},
    };
    struct esl_event ev = {.headers = h, .header_count = sizeof h / sizeof h[0]};
    call_tracker_on_event(t, &ev, 1);
}

static void inbound_leg(struct call_tracker *t, const char *uuid, const char *event)
{
    dialog_leg(t, uuid, event, "inbound", "a.example");
}

static void test_inbound_twins_stay_apart(void)
{
    struct sink s = {0};
    struct call_tracker *t = seed_tracker(&s);
    inbound_leg(t, "in-1", "CHANNEL_CREATE");
    inbound_leg(t, "in-2", "CHANNEL_CREATE");
    CHECK_INT(call_tracker_live_calls(t), 2);
    inbound_leg(t, "in-1", "CHANNEL_HANGUP_COMPLETE");
    CHECK_INT(s.count, 1); /* the first ends alone: in-2 does not hold it open */
    inbound_leg(t, "in-2", "CHANNEL_HANGUP_COMPLETE");
    CHECK_INT(s.count, 2);
    /* A third call reusing the Call-ID after both ended is a new call too. */
    inbound_leg(t, "in-3", "CHANNEL_CREATE");
    inbound_leg(t, "in-3", "CHANNEL_HANGUP_COMPLETE");
    CHECK_INT(s.count, 3);
    CHECK_INT(call_tracker_live_calls(t), 0);
    call_tracker_free(t);
    sink_clear(&s);
}

/* After a reconnect, a second inbound call with a finished call's Call-ID, first seen
 * mid-call, is still its own call (only the other side of a hairpin is recognised). */
static void test_reused_call_id_seen_mid_call(void)
{
    struct sink s = {0};
    struct call_tracker *t = seed_tracker(&s);
    inbound_leg(t, "in-1", "CHANNEL_CREATE");
    inbound_leg(t, "in-1", "CHANNEL_HANGUP_COMPLETE");
    inbound_leg(t, "in-2", "CHANNEL_HANGUP_COMPLETE"); /* no CREATE seen */
    CHECK_INT(s.count, 2);
    /* The outbound side of a described hairpin, seen late, is not described again. */
    dialog_leg(t, "out-1", "CHANNEL_HANGUP_COMPLETE", "outbound", "a.example");
    CHECK_INT(s.count, 2);
    call_tracker_free(t);
    sink_clear(&s);
}

/* A hairpin stays within one tenant: an outbound call of tenant a and an inbound call to
 * tenant b that copies its Call-ID are two calls. */
static void test_dialog_across_tenants(void)
{
    struct sink s = {0};
    struct call_tracker *t = seed_tracker(&s);
    dialog_leg(t, "out-a", "CHANNEL_CREATE", "outbound", "a.example");
    dialog_leg(t, "in-b", "CHANNEL_CREATE", "inbound", "b.example");
    CHECK_INT(call_tracker_live_calls(t), 2);
    dialog_leg(t, "in-b", "CHANNEL_HANGUP_COMPLETE", "inbound", "b.example");
    CHECK_INT(s.count, 1);
    dialog_leg(t, "out-a", "CHANNEL_HANGUP_COMPLETE", "outbound", "a.example");
    CHECK_INT(s.count, 2);
    /* The same shape within one tenant is one call. */
    dialog_leg(t, "out-c", "CHANNEL_CREATE", "outbound", "c.example");
    dialog_leg(t, "in-c", "CHANNEL_CREATE", "inbound", "c.example");
    CHECK_INT(call_tracker_live_calls(t), 0 + 1);
    call_tracker_free(t);
    sink_clear(&s);
}

/* calls.fields: members read from channel variables the operator names; the seed form
 * has all four (""), the typed form only the configured ones (null when unset). */
static void test_named_fields(void)
{
    struct sink s = {0};
    struct call_tracker_options o = {.node = "fs1"};
    o.extra_headers[CALL_EXTRA_NETWORK] = "variable_network";
    o.extra_headers[CALL_EXTRA_CRM_CONTACT_ID] = "variable_crm_contact";
    struct call_tracker *t = call_tracker_new(&o, on_signal, &s);
    struct esl_header h[] = {
        {"Event-Name", "CHANNEL_HANGUP_COMPLETE"},
        {"Unique-ID", "leg-2"},
        {"Caller-Caller-ID-Number", "0901"},
        {"Caller-Destination-Number", "1900"},
        {"variable_domain_name", "a.example"},
        {"Caller-Channel-Created-Time", "1795257000900000"},
        {"Caller-Channel-Hangup-Time", "1795257003050000"},
        {"Hangup-Cause", "NO_ANSWER"},
        {"variable_network", "vina"},
        {"variable_sip_gateway_name", "gw1"},
    };
    struct esl_event ev = {.headers = h, .header_count = sizeof h / sizeof h[0]};
    call_tracker_on_event(t, &ev, 1);
    cJSON *j = s.count == 1 ? cJSON_Parse(s.json[0]) : NULL;
    CHECK_STR(str_of(j, "network"), "vina");
    CHECK_STR(str_of(j, "provider"), "");       /* not configured */
    CHECK_STR(str_of(j, "crm_contact_id"), ""); /* configured, not set on the channel */
    CHECK_STR(str_of(j, "actual_hotline"), "");
    CHECK_STR(str_of(j, "status"), "no-answer");
    cJSON_Delete(j);
    call_tracker_free(t);
    sink_clear(&s);

    o.format = CALL_SIGNAL_TYPED;
    t = call_tracker_new(&o, on_signal, &s);
    h[1].value = "leg-3";
    call_tracker_on_event(t, &ev, 1);
    j = s.count == 1 ? cJSON_Parse(s.json[0]) : NULL;
    CHECK_STR(str_of(j, "network"), "vina");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "crm_contact_id")));
    CHECK(!cJSON_HasObjectItem(j, "provider"));
    CHECK(!cJSON_HasObjectItem(j, "hotline"));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "time_answered")));
    cJSON_Delete(j);
    call_tracker_free(t);
    sink_clear(&s);
}

int main(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/FREESWITCH.md", DOCS_DIR);
    size_t len = 0;
    docs = unit_read_file(path, &len);
    CHECK(docs != NULL);
    test_documented_signals();
    test_seed_members();
    test_cdr_figures();
    test_hairpin_joined_late();
    test_named_fields();
    test_inbound_twins_stay_apart();
    test_reused_call_id_seen_mid_call();
    test_dialog_across_tenants();
    free(docs);
    return unit_done();
}
