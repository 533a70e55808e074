/*
 * event_history_record — the immutable pieces an event of the history points to: the
 * payload copy and the attempt records. Built on the producer's thread before the
 * store's lock is taken; refcounted so a query can keep them after releasing the
 * lock. Also the text helpers: everything kept is valid UTF-8 with a ceiling, so any
 * answer built from it is valid JSON.
 */
#include "sinks/event_history_internal.h"

#include "core/json_scan.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (avail bytes readable), 0 when invalid
 * (a NUL counts as invalid: kept text is a C string). */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return c ? 1 : 0;
    size_t n;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, cp = c & 0x0Fu, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, cp = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

size_t eh_copy_text(char *out, size_t cap, const char *text, size_t len)
{
    if (cap == 0)
        return 0;
    const unsigned char *in = (const unsigned char *)text;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t n = utf8_seq_len(in + i, len - i);
        size_t w = n ? n : 1;
        if (o + w >= cap)
            break; /* the next character does not fit whole */
        if (n == 0) {
            out[o++] = '?';
            i++;
            continue;
        }
        /* Byte by byte: out may be text itself (o <= i always). */
        for (size_t k = 0; k < n; k++)
            out[o++] = (char)in[i++];
    }
    out[o] = '\0';
    return o;
}

bool eh_domain_key(const char *domain, char out[EVENT_DOMAIN_MAX + 1])
{
    if (!domain)
        return false;
    size_t n = eh_copy_text(out, EVENT_DOMAIN_MAX + 1, domain, strlen(domain));
    for (size_t i = 0; i < n; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] - 'A' + 'a');
    return n > 0;
}

uint64_t eh_hash_bytes(const char *s, size_t len, uint64_t seed)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

struct eh_payload *eh_payload_new(const char *event, size_t len, size_t max_bytes)
{
    bool truncated = len > max_bytes;
    size_t keep = truncated ? max_bytes : len;
    struct eh_payload *p = malloc(sizeof *p + keep + 1);
    if (!p)
        return NULL;
    atomic_init(&p->refs, 1);
    p->original_len = len;
    p->truncated = truncated;
    p->json = false;
    if (truncated) {
        p->len = eh_copy_text(p->data, keep + 1, event, len);
        return p;
    }
    memcpy(p->data, event, keep);
    p->data[keep] = '\0';
    p->len = keep;
    /* Only text that is valid JSON (json_scan's strict rules) goes out raw; anything
     * else is kept as a string. */
    bool ok = keep > 0 && json_scan_valid(p->data, keep, NULL);
    if (ok)
        p->json = true;
    else
        p->len = eh_copy_text(p->data, keep + 1, p->data, keep);
    return p;
}

void eh_payload_ref(struct eh_payload *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void eh_payload_unref(struct eh_payload *p)
{
    if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        free(p);
}

static size_t text_need(const char *s, size_t max)
{
    if (!s || !s[0])
        return 0;
    size_t n = strlen(s);
    return (n < max ? n : max) + 1;
}

/* Copies s (cut to max) at *cursor; NULL when s is empty. */
static const char *put_text(char **cursor, const char *s, size_t max)
{
    size_t need = text_need(s, max);
    if (need == 0)
        return NULL;
    char *dst = *cursor;
    size_t n = eh_copy_text(dst, need, s, strlen(s));
    *cursor += n + 1;
    return dst;
}

struct eh_attempt *eh_attempt_new(const struct outcome_delivery *d, enum eh_status outcome,
                                  int64_t now_ms)
{
    size_t n = d->endpoints ? d->endpoint_count : 0;
    size_t omitted = 0;
    if (n > EVENT_HISTORY_MAX_ENDPOINTS) {
        omitted = n - EVENT_HISTORY_MAX_ENDPOINTS;
        n = EVENT_HISTORY_MAX_ENDPOINTS;
    }
    size_t size = sizeof(struct eh_attempt) + n * sizeof(struct eh_endpoint);
    size += text_need(d->reason, EH_REASON_MAX) + text_need(d->detail, EH_DETAIL_MAX);
    for (size_t i = 0; i < n; i++)
        size += text_need(d->endpoints[i].url, EH_URL_MAX) +
                text_need(d->endpoints[i].error, EH_ERROR_MAX);
    struct eh_attempt *a = malloc(size);
    if (!a)
        return NULL;
    atomic_init(&a->refs, 1);
    a->attempt = d->attempt;
    a->at_ms = now_ms;
    a->outcome = outcome;
    a->will_retry = d->will_retry;
    a->size = size;
    a->endpoint_count = n;
    a->endpoints_omitted = omitted;
    char *cursor = (char *)&a->endpoints[n];
    a->reason = put_text(&cursor, d->reason, EH_REASON_MAX);
    a->detail = put_text(&cursor, d->detail, EH_DETAIL_MAX);
    for (size_t i = 0; i < n; i++) {
        const struct outcome_endpoint *e = &d->endpoints[i];
        struct eh_endpoint *k = &a->endpoints[i];
        k->url = put_text(&cursor, e->url, EH_URL_MAX);
        if (!k->url)
            k->url = "";
        k->error = put_text(&cursor, e->error, EH_ERROR_MAX);
        k->status = e->status;
        k->delivered = e->delivered;
        k->called = e->called;
    }
    return a;
}

void eh_attempt_ref(struct eh_attempt *a)
{
    atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
}

void eh_attempt_unref(struct eh_attempt *a)
{
    if (a && atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) == 1)
        free(a);
}

const char *eh_status_name(enum eh_status s)
{
    switch (s) {
    case EH_PENDING:
        return "pending";
    case EH_SUCCESSFUL:
        return "successful";
    case EH_FAILED:
        return "failed";
    case EH_DEAD_LETTERED:
        return "dead_lettered";
    }
    return "pending";
}
