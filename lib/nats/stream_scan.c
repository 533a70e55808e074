/* stream_scan — see stream_scan.h. */
#include "nats/stream_scan.h"

#include "core/clock.h"
#include "config/config.h"
#include "core/json_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

natsStatus stream_scan_totals(jsCtx *js, const char *stream, const char *subject,
                              struct stream_totals *out)
{
    memset(out, 0, sizeof *out);
    out->subject_msgs = -1;
    jsOptions o;
    jsOptions_Init(&o);
    if (subject)
        o.Stream.Info.SubjectsFilter = subject;
    jsStreamInfo *si = NULL;
    natsStatus s = js_GetStreamInfo(&si, js, stream, &o, NULL);
    if (s != NATS_OK)
        return s;
    out->msgs = si->State.Msgs;
    out->bytes = si->State.Bytes;
    out->first_seq = si->State.FirstSeq;
    out->last_seq = si->State.LastSeq;
    out->consumers = si->State.Consumers;
    if (subject) {
        out->subject_msgs = 0;
        const jsStreamStateSubjects *subs = si->State.Subjects;
        for (int i = 0; subs && i < subs->Count; i++)
            if (strcmp(subs->List[i].Subject, subject) == 0)
                out->subject_msgs = (int64_t)subs->List[i].Msgs;
    }
    jsStreamInfo_Destroy(si);
    return NATS_OK;
}

struct stream_scan_limits stream_scan_limits_now(const struct config *cfg)
{
    return (struct stream_scan_limits){
        .max_visits = (uint64_t)cfg->api.scan_max_messages,
        .deadline_ms = clock_mono_ms() + cfg->api.scan_timeout_ms,
    };
}

#define MIN_REQUEST_WAIT_MS 100
#define MAX_REQUEST_WAIT_MS 5000

/* Whether the walk must stop before visiting another sequence; sets res->stop. */
static bool out_of_limits(const struct stream_scan_limits *lim, int64_t now,
                          struct stream_scan_result *res)
{
    if (res->visited == 0)
        return false; /* always one: a cursor then always moves */
    if (res->visited >= lim->max_visits) {
        res->stop = STREAM_SCAN_BUDGET;
        return true;
    }
    if (lim->deadline_ms > 0 && now >= lim->deadline_ms) {
        res->stop = STREAM_SCAN_DEADLINE;
        return true;
    }
    return false;
}

void stream_scan_walk(jsCtx *js, const char *stream, uint64_t from, uint64_t to,
                      const char *subject, const struct stream_scan_limits *limits,
                      stream_scan_fn fn, void *ctx, struct stream_scan_result *res)
{
    memset(res, 0, sizeof *res);
    res->error = NATS_OK;
    res->stop = STREAM_SCAN_END;
    if (from == 0 || to == 0)
        return;
    bool backwards = from > to;
    uint64_t seq = from;
    for (;;) {
        int64_t now = clock_mono_ms();
        if (out_of_limits(limits, now, res)) {
            res->next_seq = seq;
            return;
        }
        jsOptions o;
        jsOptions_Init(&o);
        o.Wait = MAX_REQUEST_WAIT_MS;
        if (limits->deadline_ms > 0 && limits->deadline_ms - now < o.Wait)
            o.Wait = limits->deadline_ms - now > MIN_REQUEST_WAIT_MS ? limits->deadline_ms - now
                                                                     : MIN_REQUEST_WAIT_MS;
        res->visited++;
        natsMsg *m = NULL;
        natsStatus s = js_GetMsg(&m, js, stream, seq, &o, NULL);
        if (s == NATS_OK) {
            const char *subj = natsMsg_GetSubject(m);
            bool want = !subject || (subj && strcmp(subj, subject) == 0);
            bool go_on = !want || fn(ctx, m);
            natsMsg_Destroy(m);
            if (!go_on) {
                res->stop = STREAM_SCAN_STOPPED;
                res->next_seq = seq == to ? 0 : (backwards ? seq - 1 : seq + 1);
                return;
            }
        } else if (s == NATS_TIMEOUT && limits->deadline_ms > 0 &&
                   clock_mono_ms() >= limits->deadline_ms) {
            res->stop = STREAM_SCAN_DEADLINE; /* this sequence is the next page's first */
            res->next_seq = seq;
            return;
        } else if (s != NATS_NOT_FOUND) {
            res->stop = STREAM_SCAN_ERROR;
            res->error = s;
            res->next_seq = seq;
            return;
        }
        if (seq == to)
            return;
        seq = backwards ? seq - 1 : seq + 1;
    }
}

struct stream_scan_page stream_scan_page_of(const struct stream_scan_result *res,
                                            uint64_t first_seq, bool all_seen)
{
    struct stream_scan_page p = {0};
    p.truncated = res->next_seq != 0 && res->next_seq >= first_seq && !all_seen;
    if (!p.truncated)
        return p;
    p.next_before = res->next_seq + 1;
    switch (res->stop) {
    case STREAM_SCAN_DEADLINE:
        p.partial = "deadline";
        break;
    case STREAM_SCAN_BUDGET:
        p.partial = "scan_limit";
        break;
    case STREAM_SCAN_ERROR:
        p.partial = "error";
        break;
    default:
        break;
    }
    return p;
}

void stream_scan_add_page(cJSON *o, const struct stream_scan_result *res,
                          const struct stream_scan_page *page)
{
    cJSON_AddNumberToObject(o, "scanned", (double)res->visited);
    cJSON_AddBoolToObject(o, "truncated", page->truncated);
    cJSON_AddBoolToObject(o, "partial", page->partial != NULL);
    if (page->partial)
        cJSON_AddStringToObject(o, "partial_reason", page->partial);
    if (page->truncated)
        cJSON_AddNumberToObject(o, "next_before", (double)page->next_before);
}

void stream_scan_format_ns(int64_t ns, char *out, size_t cap)
{
    clock_format_rfc3339_ms(ns / 1000000, out, cap);
}

/* Well-formed UTF-8 (no overlongs, surrogates, or code points past U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            if (c == 0)
                return false; /* a C string cannot carry it */
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        static const unsigned min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

static char *base64(const unsigned char *in, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

bool stream_scan_add_data(cJSON *obj, const char *name, const char *data, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return false;
    memcpy(copy, data ? data : "", len);
    copy[len] = '\0';
    bool ok = false;
    if (len > 0 && json_scan_valid(copy, len, NULL)) {
        /* Its bytes as stored: cJSON would print numbers through a double. */
        ok = cJSON_AddRawToObject(obj, name, copy) != NULL;
    } else if (utf8_ok((const unsigned char *)copy, len)) {
        ok = cJSON_AddStringToObject(obj, name, copy) != NULL;
    } else {
        char key[64];
        snprintf(key, sizeof key, "%s_base64", name);
        char *b64 = base64((const unsigned char *)copy, len);
        ok = b64 && cJSON_AddStringToObject(obj, key, b64) != NULL;
        free(b64);
    }
    free(copy);
    return ok;
}

static void add_headers(cJSON *o, natsMsg *msg)
{
    const char **keys = NULL;
    int count = 0;
    if (natsMsgHeader_Keys(msg, &keys, &count) != NATS_OK || count <= 0) {
        free((void *)keys);
        return;
    }
    cJSON *h = cJSON_AddObjectToObject(o, "headers");
    for (int i = 0; h && i < count; i++) {
        const char **values = NULL;
        int n = 0;
        if (natsMsgHeader_Values(msg, keys[i], &values, &n) == NATS_OK && n > 0) {
            if (n == 1) {
                cJSON_AddStringToObject(h, keys[i], values[0]);
            } else {
                cJSON *arr = cJSON_AddArrayToObject(h, keys[i]);
                for (int k = 0; arr && k < n; k++)
                    cJSON_AddItemToArray(arr, cJSON_CreateString(values[k]));
            }
        }
        free((void *)values);
    }
    free((void *)keys);
}

cJSON *stream_scan_msg_json(natsMsg *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char ts[40];
    stream_scan_format_ns(natsMsg_GetTime(msg), ts, sizeof ts);
    cJSON_AddNumberToObject(o, "seq", (double)natsMsg_GetSequence(msg));
    const char *subj = natsMsg_GetSubject(msg);
    cJSON_AddStringToObject(o, "subject", subj ? subj : "");
    cJSON_AddStringToObject(o, "time", ts);
    add_headers(o, msg);
    int len = natsMsg_GetDataLength(msg);
    if (!stream_scan_add_data(o, "data", natsMsg_GetData(msg), len > 0 ? (size_t)len : 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
