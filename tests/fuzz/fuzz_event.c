/*
 * fuzz_event — the ingress JSON path: event_prepare() on a POST /events body, then
 * what delivery does to the stored bytes (event_inspect, event_with_attempt), and the
 * json_scan functions on the raw input.
 *
 * The input is the request body. Whatever event_prepare() accepts must come out as
 * one JSON object (cJSON parses it) that still names the same domain and event_id and
 * has a received_at; event_inspect() must accept the stored bytes, and the delivery
 * body built from them must parse too and have a delivery_attempt. event_prepare() and
 * event_inspect() must agree on the raw input. json_scan's answers must stay inside the input.
 * The same body with an Idempotency-Key (the input's first line, the rest as the body):
 * accepted only with a usable key that the body's event_id does not contradict, and
 * then stored under that id.
 */
#include "core/event.h"
#include "core/json_scan.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS INT64_C(1795257146260) /* 2026-11-21T10:32:26.260Z */

static void check(bool ok)
{
    if (!ok)
        abort();
}

static const char *string_member(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* `text` (len bytes, NUL-terminated) is one JSON object naming info's domain/id. */
static void check_event_text(const char *text, size_t len, const struct event_info *info)
{
    check(strlen(text) == len);
    check(json_scan_valid(text, len, NULL)); /* what is stored and delivered is strict JSON */
    cJSON *o = cJSON_ParseWithLength(text, len);
    check(cJSON_IsObject(o));
    const char *domain = string_member(o, "domain");
    const char *id = string_member(o, "event_id");
    check(domain && strcmp(domain, info->domain) == 0);
    check(id && strcmp(id, info->event_id) == 0);
    check(cJSON_GetObjectItemCaseSensitive(o, "received_at") != NULL); /* the sender's, any type */
    cJSON_Delete(o);

    struct event_info again;
    check(event_inspect(text, len, &again) == EVENT_OK);
    check(strcmp(again.domain, info->domain) == 0);
    check(strcmp(again.event_id, info->event_id) == 0);
}

static void check_scan(const char *s, size_t len)
{
    size_t brace = json_scan_closing_brace(s, len);
    check(brace == (size_t)-1 || (brace < len && s[brace] == '}'));
    static const char *const keys[] = {"domain", "event_id", "delivery_attempt", "received_at", ""};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        struct json_member m;
        if (json_scan_find(s, len, keys[i], &m)) {
            check(m.key_start < len && s[m.key_start] == '"');
            check(m.key_len >= strlen(keys[i]) + 2 && m.key_start + m.key_len <= len);
            check(m.value_start <= len && m.value_len <= len - m.value_start);
        }
    }
    struct json_error err;
    if (!json_scan_valid(s, len, &err))
        check(err.at <= len && err.what && err.what[0]);
}

/* The first line of the input as an Idempotency-Key, the rest as the body. */
static void check_keyed(const char *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    if (!nl || (size_t)(nl - data) > 200)
        return;
    char key[201];
    memcpy(key, data, (size_t)(nl - data));
    key[nl - data] = '\0';
    const char *body = nl + 1;
    size_t len = size - (size_t)(nl - data) - 1;
    struct event_info info;
    char *stored = NULL;
    size_t stored_len = 0;
    enum event_status st = event_prepare_keyed(body, len, NOW_MS, key, &info, &stored, &stored_len);
    if (st != EVENT_OK) {
        check(stored == NULL);
        return;
    }
    check(strcmp(info.event_id, key) == 0); /* the key, or the same id in the body */
    check_event_text(stored, stored_len, &info);
    free(stored);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_keyed((const char *)data, size);
    const char *body = (const char *)data;
    check_scan(body, size);

    struct event_info info;
    char *stored = NULL;
    size_t stored_len = 0;
    enum event_status st = event_prepare(body, size, NOW_MS, &info, &stored, &stored_len);
    struct event_info raw;
    enum event_status raw_st = event_inspect(body, size, &raw);
    if (st != EVENT_ERR_NOMEM)
        check(raw_st == st);
    check(event_status_name(st) != NULL);
    if (st != EVENT_OK) {
        check(stored == NULL);
        check(memchr(info.detail, '\0', sizeof info.detail) != NULL && info.detail[0]);
        return 0;
    }
    check(stored != NULL);
    check(info.domain[0] != '\0' && strlen(info.domain) <= EVENT_DOMAIN_MAX);
    check(strlen(info.event_id) <= EVENT_ID_MAX && info.event_id[0]);
    check_event_text(stored, stored_len, &info);

    char subject[EVENT_SUBJECT_MAX];
    check(event_subject("events.*", info.domain, subject, sizeof subject));
    for (const char *p = subject + strlen("events."); *p; p++)
        check(*p != '.' && *p != '*' && *p != '>' && *p != ' ' && (unsigned char)*p > 0x20 &&
              (unsigned char)*p < 0x7f);

    /* Delivery: the attempt number is set on the stored bytes (appended or replaced). */
    int attempts[] = {1, (int)(size % 1000) + 2, 2147483647};
    for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
        size_t out_len = 0;
        char *out = event_with_attempt(stored, stored_len, attempts[i], &out_len);
        check(out != NULL);
        check_event_text(out, out_len, &info);
        cJSON *o = cJSON_ParseWithLength(out, out_len);
        check(cJSON_GetObjectItemCaseSensitive(o, "delivery_attempt") != NULL);
        cJSON_Delete(o);
        free(out);
    }
    free(stored);
    return 0;
}
