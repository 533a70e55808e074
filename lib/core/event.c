/*
 * event — see event.h. json_scan validates (RFC 8259 exactly, duplicate keys
 * refused) and locates members in the original bytes, so nothing the sender wrote is
 * re-encoded and eventhub reads the same members every receiver's parser reads.
 */
#include "core/event.h"

#include "core/clock.h"
#include "core/json_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

const char *event_status_name(enum event_status status)
{
    switch (status) {
    case EVENT_OK:
        return "ok";
    case EVENT_ERR_JSON:
        return "invalid_json";
    case EVENT_ERR_NOT_OBJECT:
        return "not_an_object";
    case EVENT_ERR_DOMAIN:
        return "invalid_domain";
    case EVENT_ERR_EVENT_ID:
        return "invalid_event_id";
    case EVENT_ERR_NOMEM:
        return "out_of_memory";
    }
    return "unknown";
}

void event_new_uuid(char out[37])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static bool has_control_chars(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

/*
 * Decodes the top-level string member `key` into out (cap bytes). Returns its
 * decoded length; (size_t)-1 when absent, -2 when not a string, -3 when too long.
 */
#define MEMBER_ABSENT ((size_t)-1)
#define MEMBER_NOT_STRING ((size_t)-2)
#define MEMBER_TOO_LONG ((size_t)-3)
static size_t string_member(const char *data, size_t len, const char *key, char *out, size_t cap)
{
    struct json_member m;
    if (!json_scan_find(data, len, key, &m))
        return MEMBER_ABSENT;
    if (data[m.value_start] != '"')
        return MEMBER_NOT_STRING;
    size_t n = json_scan_string(data, m.value_start, m.value_len, out, cap);
    return n == (size_t)-1 ? MEMBER_TOO_LONG : n;
}

/* Validates the text and the members eventhub reads (domain, event_id). */
/* An event id: 1-128 printable ASCII bytes, no space, quote or backslash. */
static bool usable_id(const char *id, size_t n)
{
    bool ok = n > 0;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        ok = c > 0x20 && c < 0x7f && c != '"' && c != '\\';
    }
    return ok;
}

static enum event_status check_object(const char *data, size_t len, struct event_info *info)
{
    memset(info, 0, sizeof *info);
    struct json_error err;
    if (!json_scan_valid(data, len, &err)) {
        snprintf(info->detail, sizeof info->detail, "request body is not valid JSON: %s (byte %zu)",
                 err.what, err.at);
        return EVENT_ERR_JSON;
    }
    if (json_scan_closing_brace(data, len) == (size_t)-1) {
        snprintf(info->detail, sizeof info->detail, "the event must be a JSON object");
        return EVENT_ERR_NOT_OBJECT;
    }
    size_t n = string_member(data, len, "domain", info->domain, sizeof info->domain);
    const char *problem = NULL;
    if (n == MEMBER_ABSENT)
        problem = "the field \"domain\" is required";
    else if (n == MEMBER_NOT_STRING)
        problem = "the field \"domain\" must be a string";
    else if (n == MEMBER_TOO_LONG)
        problem = "the field \"domain\" is longer than 255 bytes";
    else if (n == 0)
        problem = "the field \"domain\" must not be empty";
    else if (has_control_chars(info->domain, n))
        problem = "the field \"domain\" contains control characters";
    if (problem) {
        info->domain[0] = '\0';
        snprintf(info->detail, sizeof info->detail, "%s", problem);
        return EVENT_ERR_DOMAIN;
    }

    n = string_member(data, len, "event_id", info->event_id, sizeof info->event_id);
    if (n != MEMBER_ABSENT) {
        bool ok = n != MEMBER_NOT_STRING && n != MEMBER_TOO_LONG && usable_id(info->event_id, n);
        if (!ok) {
            info->event_id[0] = '\0';
            snprintf(info->detail, sizeof info->detail,
                     "the field \"event_id\" must be a string of 1-128 printable ASCII "
                     "characters without spaces, quotes or backslashes");
            return EVENT_ERR_EVENT_ID;
        }
        info->has_event_id = true;
    }
    return EVENT_OK;
}

enum event_status event_prepare(const char *body, size_t len, int64_t now_wall_ms,
                                struct event_info *info, char **stored, size_t *stored_len)
{
    return event_prepare_keyed(body, len, now_wall_ms, NULL, info, stored, stored_len);
}

enum event_status event_prepare_keyed(const char *body, size_t len, int64_t now_wall_ms,
                                      const char *idempotency_key, struct event_info *info,
                                      char **stored, size_t *stored_len)
{
    enum event_status st = check_object(body, len, info);
    if (st != EVENT_OK)
        return st;
    if (idempotency_key) {
        size_t klen = strlen(idempotency_key);
        if (klen > EVENT_ID_MAX || !usable_id(idempotency_key, klen)) {
            snprintf(info->detail, sizeof info->detail,
                     "the Idempotency-Key header must be 1-128 printable ASCII characters "
                     "without spaces, quotes or backslashes");
            return EVENT_ERR_EVENT_ID;
        }
        if (info->has_event_id && strcmp(info->event_id, idempotency_key) != 0) {
            snprintf(info->detail, sizeof info->detail,
                     "the body's event_id and the Idempotency-Key header differ; send one, "
                     "or the same value in both");
            return EVENT_ERR_EVENT_ID;
        }
        if (!info->has_event_id) {
            memcpy(info->event_id, idempotency_key, klen + 1);
            info->from_idempotency_key = true;
        }
    }
    struct json_member m;
    bool has_received_at = json_scan_find(body, len, "received_at", &m);

    if (!info->has_event_id && !info->from_idempotency_key)
        event_new_uuid(info->event_id);

    char extra[256];
    int n = 0;
    const char *sep = ","; /* never empty: domain is required */
    if (!info->has_event_id) {
        n += snprintf(extra + n, sizeof extra - (size_t)n, "%s\"event_id\":\"%s\"", sep,
                      info->event_id);
        sep = ",";
    }
    if (!has_received_at) {
        char ts[32];
        clock_format_rfc3339_ms(now_wall_ms, ts, sizeof ts);
        n += snprintf(extra + n, sizeof extra - (size_t)n, "%s\"received_at\":\"%s\"", sep, ts);
    }

    size_t brace = json_scan_closing_brace(body, len);
    char *out = malloc(brace + (size_t)n + 2);
    if (!out)
        return EVENT_ERR_NOMEM;
    memcpy(out, body, brace);
    memcpy(out + brace, extra, (size_t)n);
    out[brace + (size_t)n] = '}';
    out[brace + (size_t)n + 1] = '\0';
    *stored = out;
    *stored_len = brace + (size_t)n + 1;
    return EVENT_OK;
}

enum event_status event_inspect(const char *data, size_t len, struct event_info *info)
{
    return check_object(data, len, info);
}

char *event_with_attempt(const char *data, size_t len, int attempt, size_t *out_len)
{
    char num[16];
    int num_len = snprintf(num, sizeof num, "%d", attempt);
    struct json_member m;
    char *out;
    if (json_scan_find(data, len, "delivery_attempt", &m)) {
        size_t total = len - m.value_len + (size_t)num_len;
        out = malloc(total + 1);
        if (!out)
            return NULL;
        memcpy(out, data, m.value_start);
        memcpy(out + m.value_start, num, (size_t)num_len);
        memcpy(out + m.value_start + (size_t)num_len, data + m.value_start + m.value_len,
               len - m.value_start - m.value_len);
        out[total] = '\0';
        *out_len = total;
        return out;
    }
    size_t brace = json_scan_closing_brace(data, len);
    if (brace == (size_t)-1)
        return NULL;
    /* An empty object takes no separating comma. */
    size_t k = brace;
    while (k > 0 && (data[k - 1] == ' ' || data[k - 1] == '\t' || data[k - 1] == '\n' ||
                     data[k - 1] == '\r'))
        k--;
    bool empty = k > 0 && data[k - 1] == '{';
    static const char key[] = "\"delivery_attempt\":";
    size_t total = brace + (empty ? 0 : 1) + sizeof key - 1 + (size_t)num_len + 1;
    out = malloc(total + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    memcpy(out, data, brace);
    o = brace;
    if (!empty)
        out[o++] = ',';
    memcpy(out + o, key, sizeof key - 1);
    o += sizeof key - 1;
    memcpy(out + o, num, (size_t)num_len);
    o += (size_t)num_len;
    out[o++] = '}';
    out[o] = '\0';
    *out_len = o;
    return out;
}

bool event_domain_token(const char *domain, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)domain; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-') {
            if (o + 1 >= cap)
                return false;
            out[o++] = (char)c;
        } else if (c == '.') {
            if (o + 1 >= cap)
                return false;
            out[o++] = '_';
        } else {
            if (o + 3 >= cap)
                return false;
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o >= cap)
        return false;
    out[o] = '\0';
    return o > 0;
}

bool event_subject(const char *pattern, const char *domain, char *out, size_t cap)
{
    char token[EVENT_DOMAIN_MAX * 3 + 1];
    if (!event_domain_token(domain, token, sizeof token))
        return false;
    /* Find the wildcard token: a "*" token anywhere or a final ">". */
    size_t plen = strlen(pattern);
    size_t tok_start = 0;
    for (size_t i = 0; i <= plen; i++) {
        if (i == plen || pattern[i] == '.') {
            size_t tlen = i - tok_start;
            if (tlen == 1 && (pattern[tok_start] == '*' || pattern[tok_start] == '>')) {
                int n = snprintf(out, cap, "%.*s%s%s", (int)tok_start, pattern, token, pattern + i);
                return n > 0 && (size_t)n < cap;
            }
            tok_start = i + 1;
        }
    }
    return false;
}
