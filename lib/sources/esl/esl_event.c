/*
 * esl_event — FreeSWITCH events decoded from Event Socket frames, and their JSON form
 * (see esl_event.h).
 *
 * Owns: nothing long-lived. Each event is one heap block — struct, header array and
 * every string — so decoding costs one malloc (plus cJSON's own for JSON events) and
 * esl_event_free is one free. Pure functions on their arguments: any thread may call
 * them on data it owns (the ESL connection thread decodes; consumers read the result).
 *
 * Decisions taken from the FreeSWITCH 1.11 captures (tests/unit/fixtures/esl):
 *  - text/event-plain values are URL-encoded with %XX only: spaces arrive as "%20",
 *    and a literal '+' stays '+' (e.g. "+OK" in BACKGROUND_JOB output), so '+' is NOT
 *    decoded to a space. Malformed escapes and "%00" are kept verbatim (a NUL would
 *    silently cut the value). Names are not encoded.
 *  - A plain event's own "Content-Length" stays a header (as in the JSON form, where
 *    FreeSWITCH sends it as a member) and the bytes after the empty line become body.
 *  - text/event-json members become headers in document order, duplicates kept
 *    (cJSON keeps duplicate keys as separate children). Strings are taken as they are;
 *    an array of strings becomes "ARRAY::a|:b" — the plain form of the same header, so
 *    both formats read alike and serialise alike; anything else keeps its JSON text
 *    (numbers as their text). The first "_body" member is the body (later ones are
 *    dropped).
 *  - In esl_event_to_json, duplicates are grouped by exact (case-sensitive) name, as
 *    FreeSWITCH sends both "Channel-Read-Codec-Name" and "channel-read-codec-name".
 *    Strings are escaped for JSON and invalid UTF-8 becomes U+FFFD, so the output is
 *    always RFC 8259 text.
 */
#include "sources/esl/esl_event.h"
#include "core/json_print.h"
#include "core/json_scan.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void set_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* One block: the event, `count` headers, then `arena` bytes for the strings. */
static struct esl_event *event_alloc(size_t count, size_t arena, char **strings)
{
    size_t hdr_bytes = count * sizeof(struct esl_header);
    struct esl_event *ev = malloc(sizeof *ev + hdr_bytes + arena);
    if (!ev)
        return NULL;
    ev->headers = (struct esl_header *)(ev + 1);
    ev->header_count = count;
    ev->body = NULL;
    ev->body_len = 0;
    *strings = (char *)ev->headers + hdr_bytes;
    return ev;
}

void esl_event_free(struct esl_event *ev)
{
    free(ev);
}

const char *esl_event_get(const struct esl_event *ev, const char *name)
{
    /* Events carry ~100 headers and consumers ask for several: a first-byte filter
     * (case folded for letters; strcasecmp has the last word) skips most calls. */
    unsigned first = (unsigned char)name[0] | 0x20;
    for (size_t i = 0; i < ev->header_count; i++) {
        const char *h = ev->headers[i].name;
        if (((unsigned char)h[0] | 0x20) == first && strcasecmp(h, name) == 0)
            return ev->headers[i].value;
    }
    return NULL;
}

/* ---- text/event-plain ---- */

/* Decodes %XX in place from the first '%' (pct) to end; NUL-terminates. */
static void url_decode(char *pct, char *end)
{
    char *w = pct;
    const char *r = pct;
    while (r < end) {
        int hi, lo;
        if (*r == '%' && end - r >= 3 && (hi = json_scan_hex_value((unsigned char)r[1])) >= 0 &&
            (lo = json_scan_hex_value((unsigned char)r[2])) >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi << 4 | lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* Content-Length of a plain event: digits only, at most max. */
static bool parse_length(const char *s, size_t max, size_t *out)
{
    size_t v = 0;
    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (size_t)(*s - '0');
        if (v > max)
            return false;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    *out = v;
    return *s == '\0';
}

#define KNOWN_LINES 512

static struct esl_event *decode_plain(const char *b, size_t n, char *err, size_t errcap)
{
    /* Pass 1: count header lines, find where they end, remember the first line ends. */
    size_t lines = 0, hdr_end = n;
    uint32_t ends[KNOWN_LINES]; /* offset of each line's '\n' (or of the end) */
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(b + i, '\n', n - i);
        size_t k = nl ? (size_t)(nl - b) : n;
        size_t len = k - i;
        if (len > 0 && b[k - 1] == '\r')
            len--;
        if (len == 0) {
            hdr_end = nl ? k + 1 : n;
            break;
        }
        if (lines < KNOWN_LINES)
            ends[lines] = (uint32_t)k; /* frames are capped far below 4 GiB */
        lines++;
        i = nl ? k + 1 : n;
    }
    if (memchr(b, '\0', hdr_end)) {
        set_err(err, errcap, "NUL byte in event headers");
        return NULL;
    }
    /* Body room is taken from what follows the headers; trimmed after Content-Length. */
    size_t rest = n - hdr_end;
    char *s;
    struct esl_event *ev = event_alloc(lines, hdr_end + 1 + rest + 1, &s);
    if (!ev) {
        set_err(err, errcap, "out of memory");
        return NULL;
    }
    char *const base = s;
    memcpy(s, b, hdr_end);
    s[hdr_end] = '\0';
    char *body_dst = s + hdr_end + 1;

    /* Pass 2: split and decode in place. */
    const char *length = NULL;
    for (size_t l = 0; l < lines; l++) {
        char *end =
            l < KNOWN_LINES ? base + ends[l] : memchr(s, '\n', (size_t)(base + hdr_end - s));
        if (!end)
            end = base + hdr_end; /* the last line of a body without its empty line */
        char *next = end + (end < base + hdr_end);
        if (end > s && end[-1] == '\r')
            end--;
        *end = '\0';
        char *colon = memchr(s, ':', (size_t)(end - s));
        if (!colon || colon == s) {
            set_err(err, errcap, "malformed event header line %zu", l + 1);
            esl_event_free(ev);
            return NULL;
        }
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char *pct = memchr(v, '%', (size_t)(end - v));
        if (pct)
            url_decode(pct, end);
        ev->headers[l].name = s;
        ev->headers[l].value = v;
        if (colon - s == 14 && !length && strcasecmp(s, "Content-Length") == 0)
            length = v;
        s = next;
    }
    if (length) {
        size_t blen = 0;
        if (!parse_length(length, rest, &blen)) {
            set_err(err, errcap, "event Content-Length \"%.32s\" is not a number <= %zu", length,
                    rest);
            esl_event_free(ev);
            return NULL;
        }
        memcpy(body_dst, b + hdr_end, blen);
        body_dst[blen] = '\0';
        ev->body = body_dst;
        ev->body_len = blen;
    }
    return ev;
}

/* ---- text/event-json ---- */

/* Length of an array of strings in "ARRAY::a|:b" form, or 0 when it is not one. */
static size_t string_array_len(const cJSON *a)
{
    size_t len = 7, k = 0;
    for (const cJSON *it = a->child; it; it = it->next, k++) {
        if (!cJSON_IsString(it) || !it->valuestring)
            return 0;
        len += strlen(it->valuestring) + (k ? 2 : 0);
    }
    return k ? len : 0;
}

static char *put_str(char *d, const char *s)
{
    size_t n = strlen(s);
    memcpy(d, s, n);
    return d + n;
}

/* What decode_json measured before allocating the event. */
struct json_plan {
    size_t members, count, arena;
    const cJSON *body; /* the first "_body" member */
    char *body_text;   /* its JSON text when it is not a string (owned) */
    char **printed;    /* by member index: JSON text of other non-string values (owned) */
};

/* A member's value as a string, or NULL for an array of strings (written as ARRAY::). */
static const char *member_text(const cJSON *c, const struct json_plan *pl, size_t i)
{
    if (cJSON_IsString(c) && c->valuestring)
        return c->valuestring;
    return pl->printed ? pl->printed[i] : NULL;
}

static bool json_plan(const cJSON *root, struct json_plan *pl)
{
    for (const cJSON *c = root->child; c; c = c->next)
        pl->members++;
    size_t i = 0;
    for (const cJSON *c = root->child; c; c = c->next, i++) {
        if (!c->string)
            continue;
        if (strcmp(c->string, "_body") == 0) {
            if (!pl->body)
                pl->body = c;
            continue; /* a repeated "_body" is dropped: it would clash in to_json */
        }
        size_t vlen = 0;
        if (cJSON_IsString(c) && c->valuestring) {
            vlen = strlen(c->valuestring);
        } else if (!cJSON_IsArray(c) || (vlen = string_array_len(c)) == 0) {
            if (!pl->printed && !(pl->printed = calloc(pl->members, sizeof *pl->printed)))
                return false;
            if (!(pl->printed[i] = json_print(c)))
                return false;
            vlen = strlen(pl->printed[i]);
        }
        pl->arena += strlen(c->string) + 1 + vlen + 1;
        pl->count++;
    }
    if (pl->body) {
        if (!cJSON_IsString(pl->body) || !pl->body->valuestring)
            if (!(pl->body_text = json_print(pl->body)))
                return false;
        pl->arena += strlen(pl->body_text ? pl->body_text : pl->body->valuestring) + 1;
    }
    return true;
}

static struct esl_event *json_build(const cJSON *root, const struct json_plan *pl)
{
    char *s;
    struct esl_event *ev = event_alloc(pl->count, pl->arena, &s);
    if (!ev)
        return NULL;
    size_t h = 0, i = 0;
    for (const cJSON *c = root->child; c; c = c->next, i++) {
        if (!c->string || strcmp(c->string, "_body") == 0)
            continue;
        ev->headers[h].name = s;
        s = put_str(s, c->string);
        *s++ = '\0';
        ev->headers[h++].value = s;
        const char *text = member_text(c, pl, i);
        if (text) {
            s = put_str(s, text);
        } else {
            s = put_str(s, "ARRAY::");
            for (const cJSON *it = c->child; it; it = it->next)
                s = put_str(put_str(s, it == c->child ? "" : "|:"), it->valuestring);
        }
        *s++ = '\0';
    }
    if (pl->body) {
        const char *text = pl->body_text ? pl->body_text : pl->body->valuestring;
        ev->body = s;
        ev->body_len = strlen(text);
        memcpy(s, text, ev->body_len + 1);
    }
    return ev;
}

static struct esl_event *decode_json(const char *b, size_t n, char *err, size_t errcap)
{
    struct esl_event *ev = NULL;
    struct json_plan plan = {0};
    cJSON *root = cJSON_ParseWithLength(b, n);
    if (!root || !cJSON_IsObject(root)) {
        set_err(err, errcap, "event body is not a JSON object");
        goto out;
    }
    if (!json_plan(root, &plan) || !(ev = json_build(root, &plan)))
        set_err(err, errcap, "out of memory");
out:
    if (plan.printed)
        for (size_t i = 0; i < plan.members; i++)
            cJSON_free(plan.printed[i]);
    free(plan.printed);
    cJSON_free(plan.body_text);
    cJSON_Delete(root);
    return ev;
}

struct esl_event *esl_event_from_frame(const struct esl_frame *f, char *err, size_t errcap)
{
    const char *ct = f->content_type ? f->content_type : "";
    bool plain = strcasecmp(ct, "text/event-plain") == 0;
    if (!plain && strcasecmp(ct, "text/event-json") != 0) {
        set_err(err, errcap, "not an event frame (Content-Type \"%.64s\")", ct);
        return NULL;
    }
    if (!f->body) {
        set_err(err, errcap, "event frame without a body");
        return NULL;
    }
    return plain ? decode_plain(f->body, f->body_len, err, errcap)
                 : decode_json(f->body, f->body_len, err, errcap);
}

/* ---- esl_event_to_json ---- */

struct jbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static bool jb_grow(struct jbuf *b, size_t n)
{
    size_t cap = b->cap * 2;
    if (cap < b->len + n)
        cap = b->len + n;
    char *np = b->oom ? NULL : realloc(b->p, cap);
    if (!np) {
        b->oom = true;
        return false;
    }
    b->p = np;
    b->cap = cap;
    return true;
}

static inline bool jb_reserve(struct jbuf *b, size_t n)
{
    return (b->cap - b->len >= n && !b->oom) || jb_grow(b, n);
}

static inline void jb_put(struct jbuf *b, const char *s, size_t n)
{
    if (jb_reserve(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len = 4;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3;
    else if (s[0] < 0xf0 || s[0] > 0xf4)
        return 0;
    if (s[0] == 0xe0)
        lo = 0xa0;
    else if (s[0] == 0xed)
        hi = 0x9f;
    else if (s[0] == 0xf0)
        lo = 0x90;
    else if (s[0] == 0xf4)
        hi = 0x8f;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

#define ESC_CHUNK 256
#define ONES 0x0101010101010101u
#define HIGHS 0x8080808080808080u

/* Whether any of the 8 bytes in x must be escaped or checked: a control byte, a
 * byte >= 0x80, '"' or '\\' (false positives are fine: the slow path decides). */
static inline bool needs_care(uint64_t x)
{
    uint64_t quote = x ^ (ONES * '"'), bslash = x ^ (ONES * '\\');
    uint64_t t = ((x - ONES * 0x20) | x) & HIGHS;
    t |= (quote - ONES) & ~quote & HIGHS;
    t |= (bslash - ONES) & ~bslash & HIGHS;
    return t != 0;
}

/*
 * Writes s[0..n) as a JSON string. Works in chunks with room reserved for the worst
 * case (6 output bytes per input byte) so the loop writes without checks, and copies
 * 8 bytes at a time while none needs care. Invalid UTF-8 bytes become U+FFFD.
 */
static void jb_string(struct jbuf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    for (bool done = false, first = true; !done; first = false) {
        if (!jb_reserve(b, 6 * ESC_CHUNK + 8)) /* + the quotes */
            return;
        char *w = b->p + b->len;
        if (first)
            *w++ = '"';
        size_t stop = n - i > ESC_CHUNK ? i + ESC_CHUNK : n;
        done = stop == n;
        while (i < stop) {
            if (stop - i >= 8) {
                uint64_t x;
                memcpy(&x, s + i, 8);
                if (!needs_care(x)) {
                    memcpy(w, &x, 8);
                    w += 8;
                    i += 8;
                    continue;
                }
            }
            unsigned char c = s[i];
            size_t seq = 1;
            if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                *w++ = (char)c;
            } else if (c == '"' || c == '\\') {
                *w++ = '\\';
                *w++ = (char)c;
            } else if (c == '\n' || c == '\r' || c == '\t') {
                *w++ = '\\';
                *w++ = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            } else if (c < 0x20) {
                memcpy(w, "\\u00", 4);
                w[4] = hex[c >> 4];
                w[5] = hex[c & 15];
                w += 6;
            } else if ((seq = utf8_seq(s + i, n - i)) > 0) {
                memcpy(w, s + i, seq);
                w += seq;
            } else {
                memcpy(w, "\\ufffd", 6);
                w += 6;
                seq = 1;
            }
            i += seq;
        }
        if (done)
            *w++ = '"';
        b->len = (size_t)(w - b->p);
    }
}

/* A header value: "ARRAY::a|:b" becomes ["a","b"], anything else a string. */
static void jb_value(struct jbuf *b, const char *v)
{
    if (v[0] != 'A' || strncmp(v, "ARRAY::", 7) != 0) {
        jb_string(b, v, strlen(v));
        return;
    }
    const char *item = v + 7;
    jb_put(b, "[", 1);
    for (;;) {
        const char *sep = strstr(item, "|:");
        size_t n = sep ? (size_t)(sep - item) : strlen(item);
        jb_string(b, item, n);
        if (!sep)
            break;
        jb_put(b, ",", 1);
        item = sep + 2;
    }
    jb_put(b, "]", 1);
}

#define NONE UINT32_MAX
#define STACK_HEADERS 256

/* Names share long prefixes ("variable_sip_..."): hash the length, the first and
 * the last 8 bytes. Collisions only cost a strcmp. */
static size_t name_hash(const char *name)
{
    size_t n = strlen(name);
    uint64_t head = 0, tail = 0;
    if (n >= 8) {
        memcpy(&head, name, 8);
        memcpy(&tail, name + n - 8, 8);
    } else {
        memcpy(&head, name, n);
    }
    uint64_t h = (head * 0x9e3779b97f4a7c15u) ^ ((tail + n) * 0xc2b2ae3d27d4eb4fu);
    return (size_t)(h ^ (h >> 29) ^ (h >> 47));
}

/*
 * Links each header to the next one with the same (exact) name: link[i] is that
 * index or NONE; later[i] is set on every occurrence but the first. An open-addressed
 * table of (first, last) indices keeps it O(n).
 */
static void link_duplicates(const struct esl_event *ev, uint32_t *link, unsigned char *later,
                            uint32_t (*slots)[2], size_t nslots)
{
    for (size_t s = 0; s < nslots; s++)
        slots[s][0] = NONE;
    for (size_t i = 0; i < ev->header_count; i++) {
        size_t s = name_hash(ev->headers[i].name) & (nslots - 1);
        while (slots[s][0] != NONE && strcmp(ev->headers[slots[s][0]].name, ev->headers[i].name))
            s = (s + 1) & (nslots - 1);
        link[i] = NONE;
        later[i] = slots[s][0] != NONE;
        if (later[i])
            link[slots[s][1]] = (uint32_t)i;
        else
            slots[s][0] = (uint32_t)i;
        slots[s][1] = (uint32_t)i;
    }
}

char *esl_event_to_json(const struct esl_event *ev)
{
    size_t n = ev->header_count;
    if (n >= NONE / 4)
        return NULL;
    size_t nslots = 16;
    while (nslots < 2 * n)
        nslots *= 2;
    uint32_t link_stack[STACK_HEADERS], slots_stack[2 * STACK_HEADERS][2];
    unsigned char later_stack[STACK_HEADERS];
    uint32_t *link = link_stack, (*slots)[2] = slots_stack;
    unsigned char *later = later_stack;
    void *heap = NULL;
    if (n > STACK_HEADERS) {
        heap = malloc(nslots * sizeof *slots + n * (sizeof *link + 1));
        if (!heap)
            return NULL;
        slots = heap;
        link = (uint32_t *)(slots + nslots);
        later = (unsigned char *)(link + n);
    }
    link_duplicates(ev, link, later, slots, nslots);

    /* About the usual size (~50 bytes a header); it grows geometrically. */
    size_t guess = 64 * n + ev->body_len + 6 * ESC_CHUNK + 64;
    struct jbuf b = {.p = malloc(guess), .cap = guess};
    b.oom = b.p == NULL;
    jb_put(&b, "{", 1);
    for (size_t i = 0; i < n; i++) {
        const char *name = ev->headers[i].name;
        if (later[i] || (ev->body && name[0] == '_' && strcmp(name, "_body") == 0))
            continue;
        if (b.len > 1)
            jb_put(&b, ",", 1);
        jb_string(&b, name, strlen(name));
        jb_put(&b, ":", 1); /* a "_body" header gives way to the body */
        if (link[i] == NONE) {
            jb_value(&b, ev->headers[i].value);
            continue;
        }
        jb_put(&b, "[", 1);
        for (uint32_t j = (uint32_t)i; j != NONE; j = link[j]) {
            if (j != i)
                jb_put(&b, ",", 1);
            jb_value(&b, ev->headers[j].value);
        }
        jb_put(&b, "]", 1);
    }
    if (ev->body) {
        jb_put(&b, b.len > 1 ? ",\"_body\":" : "\"_body\":", b.len > 1 ? 9 : 8);
        jb_string(&b, ev->body, ev->body_len);
    }
    jb_put(&b, "}", 2); /* with its NUL */
    free(heap);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
