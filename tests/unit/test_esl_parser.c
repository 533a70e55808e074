/*
 * Unit tests: esl_parser + esl_event (Event Socket framing, event decoding, to-JSON),
 * replaying real FreeSWITCH 1.11 captures (fixtures/esl, see fixtures/esl/README.md)
 * whole, byte by byte and at pseudo-random
 * split points, plus hand-made frames for the edges and the errors.
 */
#include "sources/esl/esl_event.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP ((size_t)1 << 20)

/* ---- helpers ---- */

static char *load_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/esl/%s", FIXTURES_DIR, name);
    return unit_read_file(path, len);
}

static uint64_t rng(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

struct frames {
    struct esl_frame **v;
    size_t n, cap;
};

static void frames_clear(struct frames *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        esl_frame_free(fs->v[i]);
    free(fs->v);
    memset(fs, 0, sizeof *fs);
}

enum split { WHOLE, BYTES, RANDOM, RANDOM_SMALL };

/*
 * Feeds data in pieces chosen by `split`, collecting every frame. Returns the status
 * that ended the run: ESL_NEED_MORE when all bytes were used, or ESL_ERROR.
 */
static enum esl_status feed(struct esl_parser *p, const char *data, size_t len, enum split split,
                            uint64_t seed, struct frames *out)
{
    size_t off = 0;
    while (off < len) {
        size_t n = len - off;
        if (split == BYTES)
            n = 1;
        else if (split == RANDOM)
            n = 1 + rng(&seed) % 4096;
        else if (split == RANDOM_SMALL)
            n = 1 + rng(&seed) % 17;
        if (n > len - off)
            n = len - off;
        const char *piece = data + off;
        off += n;
        while (n > 0) {
            size_t used = 0;
            struct esl_frame *f = NULL;
            enum esl_status st = esl_parser_feed(p, piece, n, &used, &f);
            if (st == ESL_ERROR)
                return ESL_ERROR;
            if (used > n || (st == ESL_NEED_MORE && used != n))
                return ESL_ERROR; /* contract broken */
            piece += used;
            n -= used;
            if (st == ESL_FRAME) {
                if (out->n == out->cap) {
                    out->cap = out->cap ? out->cap * 2 : 64;
                    out->v = realloc(out->v, out->cap * sizeof *out->v);
                }
                out->v[out->n++] = f;
            }
        }
    }
    return ESL_NEED_MORE;
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *s = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static uint64_t frame_digest(const struct esl_frame *f)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < f->header_count; i++) {
        h = fnv(h, f->headers[i].name, strlen(f->headers[i].name) + 1);
        h = fnv(h, f->headers[i].value, strlen(f->headers[i].value) + 1);
    }
    h = fnv(h, f->content_type, strlen(f->content_type) + 1);
    h = fnv(h, &f->body_len, sizeof f->body_len);
    if (f->body)
        h = fnv(h, f->body, f->body_len + 1); /* and its NUL */
    return h;
}

/* Parses a text expected to hold exactly one complete frame. */
static struct esl_frame *parse_one(const char *text)
{
    struct esl_parser *p = esl_parser_new(CAP);
    struct frames fs = {0};
    struct esl_frame *f = NULL;
    if (feed(p, text, strlen(text), WHOLE, 0, &fs) == ESL_NEED_MORE && fs.n == 1) {
        f = fs.v[0];
        fs.n = 0;
    }
    frames_clear(&fs);
    esl_parser_free(p);
    return f;
}

/* An event of the given Content-Type with this body, decoded. */
static struct esl_event *event_of(const char *ctype, const char *body, char *err, size_t errcap)
{
    char text[4096];
    snprintf(text, sizeof text, "Content-Length: %zu\nContent-Type: %s\n\n%s", strlen(body), ctype,
             body);
    struct esl_frame *f = parse_one(text);
    struct esl_event *ev = f ? esl_event_from_frame(f, err, errcap) : NULL;
    esl_frame_free(f);
    return ev;
}

static size_t count_substr(const char *hay, size_t len, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    for (const char *s = hay; (s = memmem(s, len - (size_t)(s - hay), needle, nl)); s += nl)
        n++;
    return n;
}

static size_t count_headers(const struct esl_event *ev, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->header_count; i++)
        n += strcmp(ev->headers[i].name, name) == 0;
    return n;
}

static bool is_event_frame(const struct esl_frame *f)
{
    return strcmp(f->content_type, "text/event-plain") == 0 ||
           strcmp(f->content_type, "text/event-json") == 0;
}

/* A fixture decoded: its frames (fed whole) and the events in them. */
struct capture {
    char *data;
    size_t len;
    struct frames frames;
    struct esl_event **events;
    size_t nevents;
};

static bool capture_load(struct capture *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->data = load_fixture(name, &c->len);
    if (!c->data)
        return false;
    struct esl_parser *p = esl_parser_new(CAP);
    enum esl_status st = feed(p, c->data, c->len, WHOLE, 0, &c->frames);
    esl_parser_free(p);
    c->events = calloc(c->frames.n + 1, sizeof *c->events);
    for (size_t i = 0; i < c->frames.n; i++) {
        if (!is_event_frame(c->frames.v[i]))
            continue;
        char err[128];
        struct esl_event *ev = esl_event_from_frame(c->frames.v[i], err, sizeof err);
        if (!ev) {
            printf("# %s frame %zu: %s\n", name, i, err);
            return false;
        }
        c->events[c->nevents++] = ev;
    }
    return st == ESL_NEED_MORE;
}

static void capture_free(struct capture *c)
{
    for (size_t i = 0; i < c->nevents; i++)
        esl_event_free(c->events[i]);
    free(c->events);
    frames_clear(&c->frames);
    free(c->data);
}

static const struct esl_event *find_event(const struct capture *c, const char *name, size_t nth)
{
    for (size_t i = 0; i < c->nevents; i++) {
        const char *en = esl_event_get(c->events[i], "Event-Name");
        if (en && strcmp(en, name) == 0 && nth-- == 0)
            return c->events[i];
    }
    return NULL;
}

/* ---- replay of the captures ---- */

/*
 * The obvious splitter (the captures use "\n" only): header block up to "\n\n", then
 * Content-Length bytes. Counts the frames whose header count and body length differ
 * from the parser's; -1 when the frame counts differ.
 */
static long naive_split_mismatches(const char *d, size_t len, const struct frames *fs)
{
    size_t i = 0, k = 0;
    long bad = 0;
    while (i < len) {
        const char *end = memmem(d + i, len - i, "\n\n", 2);
        if (!end)
            return -1;
        size_t hdr_len = (size_t)(end - (d + i)) + 2, lines = 0, body = 0;
        bool has_body = false;
        for (size_t j = i; j < i + hdr_len - 1; j++)
            lines += d[j] == '\n';
        const char *cl = memmem(d + i, hdr_len, "Content-Length: ", 16);
        if (cl) {
            has_body = true;
            body = strtoul(cl + 16, NULL, 10);
        }
        if (k >= fs->n)
            return -1;
        const struct esl_frame *f = fs->v[k++];
        bad += f->header_count != lines || f->body_len != body || (f->body != NULL) != has_body;
        i += hdr_len + body;
    }
    return k == fs->n ? bad : -1;
}

/* Same frames whatever the split points; counts checked against grep. */
static void test_replay(const char *name, size_t want_frames, size_t want_events)
{
    struct capture c;
    CHECK(capture_load(&c, name));
    CHECK_INT(c.frames.n, want_frames);
    CHECK_INT(c.nevents, want_events);
    CHECK_INT(naive_split_mismatches(c.data, c.len, &c.frames), 0);
    static const enum split splits[] = {BYTES, RANDOM, RANDOM, RANDOM_SMALL, RANDOM_SMALL};
    for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
        struct esl_parser *p = esl_parser_new(CAP);
        struct frames fs = {0};
        enum esl_status st = feed(p, c.data, c.len, splits[s], 0x5eed + s, &fs);
        size_t same = 0;
        for (size_t i = 0; i < fs.n && i < c.frames.n; i++)
            same += frame_digest(fs.v[i]) == frame_digest(c.frames.v[i]);
        CHECK(st == ESL_NEED_MORE && fs.n == c.frames.n && same == c.frames.n);
        frames_clear(&fs);
        esl_parser_free(p);
    }
    capture_free(&c);
}

/*
 * Event counts per Event-Name, against an independent scan of the raw bytes
 * ("\nEvent-Name: X\n" in plain, "\"Event-Name\":\"X\"" in JSON).
 */
static void test_event_name_counts(const char *name, bool json)
{
    struct capture c;
    CHECK(capture_load(&c, name));
    size_t mismatches = 0, total = 0;
    for (size_t i = 0; i < c.nevents; i++) {
        const char *en = esl_event_get(c.events[i], "Event-Name");
        char needle[128];
        if (!en) {
            mismatches++;
            continue;
        }
        snprintf(needle, sizeof needle, json ? "\"Event-Name\":\"%s\"" : "\nEvent-Name: %s\n", en);
        size_t decoded = 0;
        for (size_t j = 0; j < c.nevents; j++)
            decoded += strcmp(esl_event_get(c.events[j], "Event-Name"), en) == 0;
        if (decoded != count_substr(c.data, c.len, needle)) {
            printf("# %s: %s decoded %zu times\n", name, en, decoded);
            mismatches++;
        }
    }
    total = count_substr(c.data, c.len, json ? "\"Event-Name\":\"" : "\nEvent-Name: ");
    CHECK_INT(mismatches, 0);
    CHECK_INT(c.nevents, total);
    capture_free(&c);
}

static int naive_hex(char c)
{
    static const char digits[] = "0123456789abcdef";
    const char *d = c ? strchr(digits, c >= 'A' && c <= 'F' ? c + 32 : c) : NULL;
    return d ? (int)(d - digits) : -1;
}

/* The obvious %XX decoder, one byte at a time: the oracle for the plain decoder. */
static void naive_url_decode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = i + 2 < n ? naive_hex(in[i + 1]) : -1;
        int lo = i + 2 < n ? naive_hex(in[i + 2]) : -1;
        if (in[i] == '%' && hi >= 0 && lo >= 0 && hi * 16 + lo != 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
}

/* Every plain event's headers, against a line-by-line split of the frame body. */
static void test_plain_headers_oracle(const char *name)
{
    struct capture c;
    CHECK(capture_load(&c, name));
    size_t bad = 0, checked = 0, e = 0;
    char nm[256], want[8192];
    for (size_t i = 0; i < c.frames.n; i++) {
        const struct esl_frame *f = c.frames.v[i];
        if (strcmp(f->content_type, "text/event-plain") != 0)
            continue;
        const struct esl_event *ev = c.events[e++];
        const char *line = f->body;
        size_t h = 0;
        for (;;) {
            const char *nl = strchr(line, '\n');
            if (!nl || nl == line)
                break;
            const char *sep = strstr(line, ": ");
            if (!sep || sep > nl || h >= ev->header_count) {
                bad++;
                break;
            }
            snprintf(nm, sizeof nm, "%.*s", (int)(sep - line), line);
            naive_url_decode(sep + 2, (size_t)(nl - sep - 2), want);
            if (strcmp(ev->headers[h].name, nm) != 0 || strcmp(ev->headers[h].value, want) != 0) {
                printf("# %s: event %zu header %zu: %s: %s\n", name, e - 1, h, nm, want);
                bad++;
            }
            h++;
            checked++;
            line = nl + 1;
        }
        bad += h != ev->header_count;
    }
    printf("# %s: %zu plain headers checked\n", name, checked);
    CHECK(checked > 3000); /* 4287 and 3086 in the two captures */
    CHECK_INT(bad, 0);
    capture_free(&c);
}

static void test_answered_plain(void)
{
    struct capture c;
    CHECK(capture_load(&c, "answered-call.plain.txt"));
    struct esl_frame **f = c.frames.v;
    size_t n = c.frames.n;
    CHECK_STR(f[0]->content_type, "auth/request");
    CHECK(f[0]->body == NULL && f[0]->header_count == 1);
    CHECK_STR(esl_frame_get(f[1], "reply-text"), "+OK accepted");
    CHECK_STR(esl_frame_get(f[2], "Reply-Text"), "+OK event listener enabled plain");
    CHECK_STR(esl_frame_get(f[3], "Reply-Text"),
              "+OK Job-UUID: b9205056-d0fe-4b4f-a0fa-d3b79f172a7e");
    CHECK_STR(esl_frame_get(f[3], "Job-UUID"), "b9205056-d0fe-4b4f-a0fa-d3b79f172a7e");
    CHECK_STR(f[n - 2]->content_type, "command/reply");
    CHECK_STR(esl_frame_get(f[n - 2], "Reply-Text"), "+OK bye");
    CHECK_STR(f[n - 1]->content_type, "text/disconnect-notice");
    CHECK_INT(f[n - 1]->body_len, 67);
    CHECK_STR(f[n - 1]->body,
              "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n");

    /* URL-decoding, on the first event (CODEC). */
    const struct esl_event *ev = c.events[0];
    CHECK_STR(esl_event_get(ev, "Event-Name"), "CODEC");
    CHECK_STR(esl_event_get(ev, "Event-Date-Local"), "2026-11-21 10:32:26");
    CHECK_STR(esl_event_get(ev, "Event-Date-GMT"), "Sat, 21 Nov 2026 10:32:26 GMT");
    CHECK_STR(esl_event_get(ev, "FreeSWITCH-IPv6"), "fd00::2");
    CHECK_STR(esl_event_get(ev, "event-name"), "CODEC"); /* case-insensitive */
    CHECK(esl_event_get(ev, "No-Such-Header") == NULL);
    CHECK(ev->body == NULL);

    /* BACKGROUND_JOB: its own Content-Length and the job output as body. */
    ev = find_event(&c, "BACKGROUND_JOB", 0);
    CHECK(ev != NULL);
    if (ev) {
        CHECK_STR(ev->body, "+OK 48718434-77f1-4de1-8394-dfd80401e3aa\n");
        CHECK_INT(ev->body_len, 41);
        CHECK_STR(esl_event_get(ev, "Content-Length"), "41");
        CHECK_STR(esl_event_get(ev, "Job-Command-Arg"),
                  "{origination_caller_id_number=0914315989,origination_caller_id_name=Alice,"
                  "origination_callee_id_number=0987654321,domain_name=example.com,"
                  "test_ring_ms=500,test_talk_ms=2000}loopback/0987654321 &park");
    }

    /* Duplicate Hangup-Cause kept, in order, and grouped by to_json. */
    ev = find_event(&c, "CHANNEL_HANGUP_COMPLETE", 0);
    CHECK(ev != NULL);
    if (ev) {
        CHECK_INT(count_headers(ev, "Hangup-Cause"), 2);
        char *json = esl_event_to_json(ev);
        cJSON *root = cJSON_Parse(json);
        cJSON *hc = cJSON_GetObjectItemCaseSensitive(root, "Hangup-Cause");
        CHECK(cJSON_IsArray(hc) && cJSON_GetArraySize(hc) == 2);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(hc, 1)), "NORMAL_CLEARING");
        /* ARRAY::a|:b becomes a JSON array. */
        CHECK_STR(esl_event_get(ev, "variable_DP_MATCH"), "ARRAY::0987654321|:0987654321");
        cJSON *dp = cJSON_GetObjectItemCaseSensitive(root, "variable_DP_MATCH");
        CHECK(cJSON_IsArray(dp) && cJSON_GetArraySize(dp) == 2);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(dp, 0)), "0987654321");
        cJSON_Delete(root);
        free(json);
    }
    capture_free(&c);
}

static void test_busy_plain(void)
{
    struct capture c;
    CHECK(capture_load(&c, "busy-call.plain.txt"));
    const struct esl_event *ev = find_event(&c, "BACKGROUND_JOB", 0);
    CHECK(ev && ev->body_len == 15 && strcmp(ev->body, "-ERR USER_BUSY\n") == 0);
    ev = find_event(&c, "CHANNEL_HANGUP_COMPLETE", 1);
    CHECK(ev && count_headers(ev, "Hangup-Cause") == 2);
    CHECK_STR(ev ? esl_event_get(ev, "Hangup-Cause") : NULL, "USER_BUSY");
    CHECK_STR(esl_frame_get(c.frames.v[c.frames.n - 2], "Reply-Text"), "+OK bye");
    capture_free(&c);
}

static void test_answered_json(void)
{
    struct capture c;
    CHECK(capture_load(&c, "answered-call.json.txt"));
    size_t unframed = 0;
    for (size_t i = 0; i < c.frames.n; i++) {
        const struct esl_frame *f = c.frames.v[i];
        /* No newline after the closing brace: the next frame starts right after it. */
        if (is_event_frame(f) && (f->body[0] != '{' || f->body[f->body_len - 1] != '}'))
            unframed++;
    }
    CHECK_INT(unframed, 0);
    /* Headers against a direct walk of cJSON's children (array values: see
     * test_json_values). */
    size_t bad = 0, e = 0;
    for (size_t i = 0; i < c.frames.n; i++) {
        if (!is_event_frame(c.frames.v[i]))
            continue;
        const struct esl_event *ev = c.events[e++];
        cJSON *root = cJSON_Parse(c.frames.v[i]->body);
        size_t h = 0;
        for (const cJSON *m = root ? root->child : NULL; m; m = m->next) {
            if (strcmp(m->string, "_body") == 0)
                continue;
            bool same = h < ev->header_count && strcmp(ev->headers[h].name, m->string) == 0 &&
                        (cJSON_IsArray(m) || strcmp(ev->headers[h].value, m->valuestring) == 0);
            bad += !same;
            h++;
        }
        bad += !root || h != ev->header_count;
        cJSON_Delete(root);
    }
    CHECK_INT(bad, 0);
    CHECK(memmem(c.data, c.len, "}Content-Length: ", 17) != NULL);
    CHECK_STR(esl_frame_get(c.frames.v[2], "Reply-Text"), "+OK event listener enabled json");
    CHECK_STR(c.frames.v[c.frames.n - 1]->content_type, "text/disconnect-notice");
    CHECK_STR(esl_event_get(c.events[0], "Event-Date-Local"), "2026-11-21 10:32:49");

    const struct esl_event *ev = find_event(&c, "BACKGROUND_JOB", 0);
    CHECK(ev && ev->body_len == 41 &&
          strcmp(ev->body, "+OK af3b144d-cb2d-46c5-b118-839e114b8041\n") == 0);
    CHECK_STR(ev ? esl_event_get(ev, "Content-Length") : NULL, "41");
    CHECK(ev && count_headers(ev, "_body") == 0);

    /* A duplicate JSON key stays two headers; a JSON array reads as in plain. */
    ev = find_event(&c, "CHANNEL_HANGUP_COMPLETE", 0);
    CHECK(ev && count_headers(ev, "Hangup-Cause") == 2);
    CHECK_STR(ev ? esl_event_get(ev, "variable_DP_MATCH") : NULL, "ARRAY::0987654321|:0987654321");
    capture_free(&c);
}

/*
 * The plain and JSON captures of the same scenario: the JSON stream's Event-Name
 * sequence equals the plain one except that the plain capture holds one more
 * trailing RE_SCHEDULE (a timer that fired before "exit" in that run only).
 */
static void test_plain_json_same_sequence(void)
{
    struct capture pl, js;
    CHECK(capture_load(&pl, "answered-call.plain.txt"));
    CHECK(capture_load(&js, "answered-call.json.txt"));
    CHECK_INT(pl.nevents, js.nevents + 1);
    size_t diff = 0;
    for (size_t i = 0; i < js.nevents && i < pl.nevents; i++)
        diff += strcmp(esl_event_get(pl.events[i], "Event-Name"),
                       esl_event_get(js.events[i], "Event-Name")) != 0;
    CHECK_INT(diff, 0);
    CHECK_STR(esl_event_get(pl.events[pl.nevents - 1], "Event-Name"), "RE_SCHEDULE");
    capture_free(&pl);
    capture_free(&js);
}

/* ---- to_json ---- */

/* Whether a JSON item is what to_json must make of one header value. */
static bool json_is_value(const cJSON *item, const char *value)
{
    if (strncmp(value, "ARRAY::", 7) != 0)
        return cJSON_IsString(item) && strcmp(item->valuestring, value) == 0;
    if (!cJSON_IsArray(item))
        return false;
    char joined[4096] = "";
    size_t len = 0;
    for (const cJSON *it = item->child; it; it = it->next) {
        if (!cJSON_IsString(it))
            return false;
        len += (size_t)snprintf(joined + len, sizeof joined - len, "%s%s",
                                it == item->child ? "" : "|:", it->valuestring);
        if (len >= sizeof joined)
            return false;
    }
    return strcmp(joined, value + 7) == 0;
}

/* Every header of ev is in the parsed JSON, duplicates as arrays in order. */
static bool json_round_trips(const struct esl_event *ev, const char *json)
{
    cJSON *root = cJSON_Parse(json);
    bool ok = cJSON_IsObject(root);
    size_t distinct = 0;
    for (size_t i = 0; ok && i < ev->header_count; i++) {
        const char *name = ev->headers[i].name;
        size_t k = count_headers(ev, name), nth = 0;
        for (size_t j = 0; j < i; j++)
            nth += strcmp(ev->headers[j].name, name) == 0;
        distinct += nth == 0;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, name);
        if (k == 1)
            ok = m && json_is_value(m, ev->headers[i].value);
        else
            ok = cJSON_IsArray(m) && (size_t)cJSON_GetArraySize(m) == k &&
                 json_is_value(cJSON_GetArrayItem(m, (int)nth), ev->headers[i].value);
    }
    if (ok && ev->body) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "_body");
        ok = cJSON_IsString(b) && strlen(b->valuestring) == ev->body_len &&
             memcmp(b->valuestring, ev->body, ev->body_len) == 0;
    }
    if (ok)
        ok = (size_t)cJSON_GetArraySize(root) == distinct + (ev->body ? 1 : 0);
    cJSON_Delete(root);
    return ok;
}

static void test_to_json_fixtures(const char *name)
{
    struct capture c;
    CHECK(capture_load(&c, name));
    size_t bad = 0;
    for (size_t i = 0; i < c.nevents; i++) {
        char *json = esl_event_to_json(c.events[i]);
        if (!json || !json_round_trips(c.events[i], json)) {
            printf("# %s event %zu does not round-trip\n", name, i);
            bad++;
        }
        free(json);
    }
    CHECK_INT(bad, 0);
    capture_free(&c);
}

static void test_to_json_escaping(void)
{
    char err[128] = "";
    const char *body = "Event-Name: CUSTOM\n"
                       "Quote: a%22b%5Cc\n"
                       "Ctl: x%0Ay%09z%01\n"
                       "Utf8: caf%C3%A9\n"
                       "Bad-Utf8: %FFx%C3\n"
                       "Plus: +1 2%2B3\n"
                       "Kept: %00 %4 %zz 100%\n"
                       "Empty:\n"
                       "\n";
    struct esl_event *ev = event_of("text/event-plain", body, err, sizeof err);
    CHECK(ev != NULL);
    if (!ev)
        return;
    CHECK_STR(esl_event_get(ev, "Quote"), "a\"b\\c");
    CHECK_STR(esl_event_get(ev, "Plus"), "+1 2+3"); /* '+' is not a space */
    CHECK_STR(esl_event_get(ev, "Kept"), "%00 %4 %zz 100%");
    CHECK_STR(esl_event_get(ev, "Empty"), "");
    char *json = esl_event_to_json(ev);
    cJSON *root = cJSON_Parse(json);
    CHECK(root != NULL);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(root, "Quote")), "a\"b\\c");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(root, "Ctl")), "x\ny\tz\x01");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(root, "Utf8")), "caf\xc3\xa9");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(root, "Bad-Utf8")),
              "\xef\xbf\xbdx\xef\xbf\xbd");
    CHECK(json && strstr(json, "\\u0001") && !strchr(json, '\n'));
    CHECK(json_round_trips(ev, json) == false); /* Bad-Utf8 was replaced, by design */
    cJSON_Delete(root);
    free(json);
    esl_event_free(ev);
}

/*
 * Random strings of ASCII, characters to escape, valid and broken UTF-8, long enough
 * to cross the escaper's 8-byte and chunk boundaries: what cJSON reads back from
 * to_json must be the input with each invalid byte replaced by U+FFFD.
 */
static void test_to_json_escaping_random(void)
{
    static const char *tokens[][2] = {
        {"a", "a"},
        {"Hello, world ", "Hello, world "},
        {"\"", "\""},
        {"\\", "\\"},
        {"\n", "\n"},
        {"\x01", "\x01"},
        {"\x1f", "\x1f"},
        {"\x7f", "\x7f"},
        {"\xc3\xa9", "\xc3\xa9"},
        {"\xe2\x82\xac", "\xe2\x82\xac"},
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
        {"\xff", "\xef\xbf\xbd"},
        {"\xc3", "\xef\xbf\xbd"},
        {"\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong */
    };
    enum { NT = sizeof tokens / sizeof tokens[0] };
    size_t bad = 0;
    uint64_t seed = 77;
    char *in = malloc(20000), *want = malloc(40000);
    for (int round = 0; round < 40; round++) {
        size_t il = 0, wl = 0, count = rng(&seed) % 3000;
        for (size_t t = 0; t < count; t++) {
            size_t k = rng(&seed) % 4 ? rng(&seed) % 2 : rng(&seed) % NT;
            memcpy(in + il, tokens[k][0], strlen(tokens[k][0]));
            il += strlen(tokens[k][0]);
            memcpy(want + wl, tokens[k][1], strlen(tokens[k][1]));
            wl += strlen(tokens[k][1]);
        }
        in[il] = want[wl] = '\0';
        struct esl_header h = {"name", in};
        struct esl_event ev = {.headers = &h, .header_count = 1, .body = in, .body_len = il};
        char *json = esl_event_to_json(&ev);
        cJSON *root = cJSON_Parse(json);
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(root, "name"));
        const char *body = cJSON_GetStringValue(cJSON_GetObjectItem(root, "_body"));
        bad += !v || !body || strcmp(v, want) != 0 || strcmp(body, want) != 0;
        cJSON_Delete(root);
        free(json);
    }
    CHECK_INT(bad, 0);
    free(in);
    free(want);
}

/* A plain event with more header lines than the decoder remembers in pass 1. */
static void test_many_plain_lines(void)
{
    char *body = malloc(20000);
    size_t len = 0;
    for (int i = 0; i < 1200; i++)
        len += (size_t)snprintf(body + len, 20000 - len, "H%d: v%%20%d\n", i, i);
    strcpy(body + len, "Content-Length: 3\n\nxyz");
    char *text = malloc(21000);
    snprintf(text, 21000, "Content-Length: %zu\nContent-Type: text/event-plain\n\n%s", strlen(body),
             body);
    struct esl_frame *f = parse_one(text);
    char err[64] = "";
    struct esl_event *ev = f ? esl_event_from_frame(f, err, sizeof err) : NULL;
    CHECK(ev && ev->header_count == 1201);
    size_t bad = 0;
    for (size_t i = 0; ev && i < 1200; i++) {
        char nm[16], want[16];
        snprintf(nm, sizeof nm, "H%zu", i);
        snprintf(want, sizeof want, "v %zu", i);
        bad += strcmp(ev->headers[i].name, nm) != 0 || strcmp(ev->headers[i].value, want) != 0;
    }
    CHECK_INT(bad, 0);
    CHECK_STR(ev ? esl_event_get(ev, "h1100") : NULL, "v 1100");
    CHECK(ev && ev->body_len == 3 && strcmp(ev->body, "xyz") == 0);
    esl_event_free(ev);
    esl_frame_free(f);
    free(text);
    free(body);
}

/* More headers than the stack fast path, with duplicates and an empty array item. */
static void test_to_json_many_headers(void)
{
    enum { N = 700 };
    struct esl_header *h = calloc(N, sizeof *h);
    char(*names)[16] = calloc(N, sizeof *names);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "h%d", i % 300);
        h[i].name = names[i];
        h[i].value = i == 5 ? "ARRAY::|:x" : names[i];
    }
    struct esl_event ev = {.headers = h, .header_count = N, .body = "b\0c", .body_len = 3};
    char *json = esl_event_to_json(&ev);
    cJSON *root = cJSON_Parse(json);
    CHECK_INT(cJSON_GetArraySize(root), 301);
    cJSON *h7 = cJSON_GetObjectItem(root, "h7");
    CHECK(cJSON_IsArray(h7) && cJSON_GetArraySize(h7) == 3);
    cJSON *h5 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "h5"), 0);
    CHECK(cJSON_IsArray(h5) && cJSON_GetArraySize(h5) == 2);
    CHECK(json && strstr(json, "\"_body\":\"b\\u0000c\"") != NULL);
    struct esl_event empty = {0};
    char *ej = esl_event_to_json(&empty);
    CHECK_STR(ej, "{}");
    free(ej);
    cJSON_Delete(root);
    free(json);
    free(names);
    free(h);
}

static void test_json_values(void)
{
    char err[128] = "";
    const char *body = "{\"Event-Name\":\"CUSTOM\",\"n\":42,\"t\":true,\"z\":null,\"o\":{\"x\":1},"
                       "\"e\":[],\"one\":[\"x\"],\"nums\":[1,2],\"_body\":\"B\",\"_body\":\"C\","
                       "\"n\":\"again\"}";
    struct esl_event *ev = event_of("text/event-json", body, err, sizeof err);
    CHECK(ev != NULL);
    if (!ev)
        return;
    CHECK_INT(ev->header_count, 9);
    CHECK_STR(ev->headers[1].name, "n");
    CHECK_STR(ev->headers[1].value, "42");
    CHECK_STR(esl_event_get(ev, "t"), "true");
    CHECK_STR(esl_event_get(ev, "z"), "null");
    CHECK_STR(esl_event_get(ev, "o"), "{\"x\":1}");
    CHECK_STR(esl_event_get(ev, "e"), "[]");
    CHECK_STR(esl_event_get(ev, "one"), "ARRAY::x");
    CHECK_STR(esl_event_get(ev, "nums"), "[1,2]");
    CHECK_STR(ev->headers[8].value, "again");
    CHECK_STR(ev->body, "B");
    char *json = esl_event_to_json(ev);
    CHECK(json && strstr(json, "\"n\":[\"42\",\"again\"]") && strstr(json, "\"one\":[\"x\"]"));
    free(json);
    esl_event_free(ev);
}

/* ---- framing edges ---- */

static void test_crlf_and_leading_newlines(void)
{
    const char *ev_body = "Event-Name: HEARTBEAT\r\nEvent-Date-Local: 2026-11-21%2010%3A32%3A26\r\n"
                          "\r\n";
    char text[512];
    snprintf(text, sizeof text,
             "\r\n\nContent-Type: command/reply\r\nReply-Text: +OK\r\n\r\n"
             "Content-Length: %zu\r\nContent-Type: text/event-plain\r\n\r\n%s",
             strlen(ev_body), ev_body);
    for (int split = WHOLE; split <= RANDOM_SMALL; split++) {
        struct esl_parser *p = esl_parser_new(CAP);
        struct frames fs = {0};
        CHECK(feed(p, text, strlen(text), (enum split)split, 7, &fs) == ESL_NEED_MORE && fs.n == 2);
        if (fs.n == 2) {
            CHECK_STR(esl_frame_get(fs.v[0], "Reply-Text"), "+OK");
            char err[64];
            struct esl_event *ev = esl_event_from_frame(fs.v[1], err, sizeof err);
            CHECK_STR(ev ? esl_event_get(ev, "Event-Date-Local") : NULL, "2026-11-21 10:32:26");
            CHECK(ev && ev->header_count == 2);
            esl_event_free(ev);
        }
        frames_clear(&fs);
        esl_parser_free(p);
    }
}

/* JSON framing: the next frame starts right after the body; consumed says where. */
static void test_consumed_offsets(void)
{
    const char *text = "Content-Length: 2\nContent-Type: text/event-json\n\n{}"
                       "Content-Type: command/reply\nReply-Text: +OK\n\nContent-Ty";
    struct esl_parser *p = esl_parser_new(CAP);
    size_t used = 0, len = strlen(text);
    struct esl_frame *f = NULL;
    CHECK_INT(esl_parser_feed(p, text, len, &used, &f), ESL_FRAME);
    CHECK_INT(used, 51);
    CHECK(f && f->body_len == 2 && strcmp(f->body, "{}") == 0);
    esl_frame_free(f);
    size_t used2 = 0;
    CHECK_INT(esl_parser_feed(p, text + used, len - used, &used2, &f), ESL_FRAME);
    CHECK_INT(used + used2, len - 10);
    CHECK(f && f->body == NULL && f->body_len == 0);
    esl_frame_free(f);
    CHECK_INT(esl_parser_feed(p, text + len - 10, 10, &used, &f), ESL_NEED_MORE);
    CHECK_INT(used, 10);
    CHECK(f == NULL);
    CHECK_INT(esl_parser_feed(p, "pe: x\n\n", 7, &used, &f), ESL_FRAME);
    CHECK_STR(f ? f->content_type : NULL, "x");
    esl_frame_free(f);
    esl_parser_free(p); /* with nothing pending */
    /* Freed with a partial body and a partial header block: no leak. */
    p = esl_parser_new(CAP);
    CHECK_INT(esl_parser_feed(p, "Content-Length: 9\n\nabc", 22, &used, &f), ESL_NEED_MORE);
    esl_parser_free(p);
    p = esl_parser_new(CAP);
    CHECK_INT(esl_parser_feed(p, "Content-Type: x", 15, &used, &f), ESL_NEED_MORE);
    esl_parser_free(p);
    esl_parser_free(NULL);
}

/* A body far beyond 64 KiB, up to the cap exactly, fed at random split points. */
static void test_big_body(void)
{
    size_t cap = (size_t)1 << 20, n = cap;
    char *text = malloc(cap + 128);
    int hl = snprintf(text, 128, "Content-Type: api/response\nContent-Length: %zu\n\n", n);
    for (size_t i = 0; i < n; i++)
        text[(size_t)hl + i] = (char)('a' + i % 26);
    struct esl_parser *p = esl_parser_new(cap);
    struct frames fs = {0};
    CHECK(feed(p, text, (size_t)hl + n, RANDOM, 99, &fs) == ESL_NEED_MORE && fs.n == 1);
    CHECK(fs.n == 1 && fs.v[0]->body_len == n && fs.v[0]->body[n] == '\0' &&
          memcmp(fs.v[0]->body, text + hl, n) == 0);
    frames_clear(&fs);
    /* One byte over the cap. */
    hl = snprintf(text, 128, "Content-Type: api/response\nContent-Length: %zu\n\n", n + 1);
    esl_parser_reset(p);
    CHECK(feed(p, text, (size_t)hl, BYTES, 0, &fs) == ESL_ERROR);
    CHECK(strstr(esl_parser_error(p), "Content-Length") != NULL);
    frames_clear(&fs);
    esl_parser_free(p);
    free(text);
}

/* ---- errors ---- */

static const char VALID[] = "Content-Type: command/reply\nReply-Text: +OK\n\n";

/* Input must fail (split whole and byte by byte), stay failed, and recover on reset. */
static void expect_error(const char *input, size_t len, size_t cap, const char *msg)
{
    for (int split = WHOLE; split <= BYTES; split++) {
        struct esl_parser *p = esl_parser_new(cap);
        struct frames fs = {0};
        CHECK(feed(p, input, len, (enum split)split, 0, &fs) == ESL_ERROR);
        if (!strstr(esl_parser_error(p), msg))
            printf("# error was \"%s\"\n", esl_parser_error(p));
        CHECK(strstr(esl_parser_error(p), msg) != NULL);
        size_t used;
        struct esl_frame *f = NULL;
        CHECK(esl_parser_feed(p, VALID, strlen(VALID), &used, &f) == ESL_ERROR && f == NULL);
        esl_parser_reset(p);
        CHECK_STR(esl_parser_error(p), "");
        CHECK(esl_parser_feed(p, VALID, strlen(VALID), &used, &f) == ESL_FRAME);
        esl_frame_free(f);
        frames_clear(&fs);
        esl_parser_free(p);
    }
}

static void test_errors(void)
{
    const char *cases[][2] = {
        {"Content-Length: abc\n\n", "bad Content-Length \"abc\""},
        {"Content-Length: -5\n\n", "bad Content-Length"},
        {"Content-Length: +5\n\n", "bad Content-Length"},
        {"Content-Length: 0x10\n\n", "bad Content-Length"},
        {"Content-Length: \n\n", "bad Content-Length"},
        {"Content-Length: 99999999999999999999999999\n\n", "bad Content-Length"},
        {"Content-Length: 4\nContent-Length: 5\n\n", "conflicting Content-Length"},
        {"Content-Type: x\nno colon here\n\n", "malformed frame header line \"no colon here\""},
        {": empty name\n\n", "malformed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(cases[i][0], strlen(cases[i][0]), CAP, cases[i][1]);
    expect_error("Content-Type: x\0y\n\n", 19, CAP, "NUL byte");
    expect_error("Content-Length: 1025\n\n", 22, 1024, "want a decimal number <= 1024");

    /* A header block over the cap: one endless line, then many short lines. */
    char *big = malloc(4096);
    memset(big, 'x', 4096);
    expect_error(big, 1025, 1024, "header block exceeds 1024 bytes");
    for (size_t i = 0; i + 6 <= 4096; i += 6)
        memcpy(big + i, "Ab: c\n", 6);
    expect_error(big, 4092, 1024, "header block exceeds");

    /* Binary garbage without an empty line, beyond the cap. */
    uint64_t seed = 42;
    for (size_t i = 0; i < 4096; i++) {
        big[i] = (char)rng(&seed);
        if (big[i] == '\n' && i > 0 && (big[i - 1] == '\n' || big[i - 1] == '\r'))
            big[i] = 'x';
    }
    big[0] = 'G';
    expect_error(big, 4096, 1024, "exceeds");
    free(big);
}

/* Random bytes, newlines and colons at random split points: errors, never a crash. */
static void test_garbage_does_not_crash(void)
{
    uint64_t seed = 1234;
    size_t frames = 0, errors = 0;
    char buf[2048];
    static const char alphabet[] = "\n\n\r::  Content-Length: 12\nContent-Type: text/event-plain\n";
    for (int round = 0; round < 300; round++) {
        size_t len = 1 + rng(&seed) % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] =
                rng(&seed) % 4 ? alphabet[rng(&seed) % (sizeof alphabet - 1)] : (char)rng(&seed);
        struct esl_parser *p = esl_parser_new(512);
        struct frames fs = {0};
        errors += feed(p, buf, len, RANDOM_SMALL, seed, &fs) == ESL_ERROR;
        for (size_t i = 0; i < fs.n; i++) {
            char err[64];
            struct esl_event *ev = esl_event_from_frame(fs.v[i], err, sizeof err);
            if (ev)
                free(esl_event_to_json(ev));
            esl_event_free(ev);
        }
        frames += fs.n;
        frames_clear(&fs);
        esl_parser_free(p);
    }
    printf("# garbage: %zu frames, %zu errors in 300 rounds\n", frames, errors);
    CHECK(errors > 0);
}

static void test_event_errors(void)
{
    char err[128];
    const char *cases[][3] = {
        {"command/reply", "x", "not an event frame"},
        {"text/event-plain", "Event-Name: X\nContent-Length: 9\n\nabc",
         "event Content-Length \"9\" is not a number <= 3"},
        {"text/event-plain", "Event-Name: X\nContent-Length: x1\n\nabc", "is not a number"},
        {"text/event-plain", "Event-Name: X\nContent-Length: -1\n\nabc", "is not a number"},
        {"text/event-plain", "Event-Name: X\nbogus\n\n", "malformed event header line 2"},
        {"text/event-plain", "Event-Name: X\n: v\n\n", "malformed event header line 2"},
        {"text/event-json", "{\"a\":", "not a JSON object"},
        {"text/event-json", "[1,2,3]", "not a JSON object"},
        {"text/event-json", "", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        strcpy(err, "");
        struct esl_event *ev = event_of(cases[i][0], cases[i][1], err, sizeof err);
        CHECK(ev == NULL);
        if (!strstr(err, cases[i][2]))
            printf("# case %zu: err \"%s\"\n", i, err);
        CHECK(strstr(err, cases[i][2]) != NULL);
        esl_event_free(ev);
    }
    struct esl_frame *f = parse_one("Content-Type: text/event-plain\n\n");
    strcpy(err, "");
    CHECK(f && esl_event_from_frame(f, err, sizeof err) == NULL && strstr(err, "without a body"));
    esl_frame_free(f);
    /* Bytes after the event's own body are ignored; a last line may lack its '\n'. */
    struct esl_event *ev =
        event_of("text/event-plain", "A: 1\nContent-Length: 2\n\nabcdef", err, sizeof err);
    CHECK(ev && ev->body_len == 2 && strcmp(ev->body, "ab") == 0);
    esl_event_free(ev);
    ev = event_of("text/event-plain", "A: 1\r\nB: 2", err, sizeof err);
    CHECK(ev && ev->header_count == 2 && strcmp(ev->headers[0].value, "1") == 0 &&
          strcmp(ev->headers[1].value, "2") == 0 && ev->body == NULL);
    esl_event_free(ev);
    /* A NULL error buffer is allowed. */
    ev = event_of("text/event-json", "nope", NULL, 0);
    CHECK(ev == NULL);
}

int main(void)
{
    /* Frame and event counts checked with grep on the captures:
     *   grep -ac '^Content-Type:' (plus the JSON frames glued after a '}'),
     *   grep -ac '^Event-Name: ' / grep -ao '"Event-Name":"' | wc -l. */
    test_replay("answered-call.plain.txt", 67, 61);
    test_replay("busy-call.plain.txt", 50, 44);
    test_replay("answered-call.json.txt", 66, 60);
    test_event_name_counts("answered-call.plain.txt", false);
    test_event_name_counts("busy-call.plain.txt", false);
    test_event_name_counts("answered-call.json.txt", true);
    test_plain_headers_oracle("answered-call.plain.txt");
    test_plain_headers_oracle("busy-call.plain.txt");
    test_answered_plain();
    test_busy_plain();
    test_answered_json();
    test_plain_json_same_sequence();
    test_to_json_fixtures("answered-call.plain.txt");
    test_to_json_fixtures("busy-call.plain.txt");
    test_to_json_fixtures("answered-call.json.txt");
    test_to_json_escaping();
    test_to_json_escaping_random();
    test_to_json_many_headers();
    test_many_plain_lines();
    test_json_values();
    test_crlf_and_leading_newlines();
    test_consumed_offsets();
    test_big_body();
    test_errors();
    test_garbage_does_not_crash();
    test_event_errors();
    return unit_done();
}
