/*
 * fuzz_http_params — what the API handlers make of a request's path, query and
 * Authorization header, through the same pure functions they call.
 *
 * The input is a request target as a client sends it ("/api/dlq/42/replay?limit=5"),
 * optionally followed by '\n' and an Authorization header value. It is decoded as
 * libmicrohttpd does before a handler sees it (the path and each query key and value
 * percent-decoded by MHD_http_unescape; the query split at '&' and the first '='),
 * then: the path is routed by dlq_api_parse_path / calls_api_parse_path as the
 * /api/dlq and /api/v1/calls handlers do; every query value goes through the checks
 * the handlers apply to that parameter name (api_param_parse_long with each handler's
 * bounds, domain_log_check_domain, event_domain_token / event_subject,
 * domain_log_valid_date); the header through api_auth_bearer_token, and as a
 * traceparent / tracestate through trace_context (as POST /events takes them).
 *
 * What must hold: accepted numbers are within their bounds and are what the text
 * says; an accepted dead-letter path names one operation with its single method and
 * a sequence >= 1; an accepted call id is 1-64 of [A-Za-z0-9_-]; a domain accepted for
 * the logs has a directory name of [a-z0-9_-] only; a subject token carries no '.',
 * '*', '>' or blank; a bearer token lies inside the header and has no blanks at its
 * ends; an accepted traceparent's child span is itself valid, of the same trace and
 * flags; an accepted tracestate is printable ASCII within its limit.
 */
#include "core/trace_context.h"
#include "http/api_auth.h"
#include "http/api_params.h"
#include "api/calls_api.h"
#include "api/dlq_api.h"
#include "sinks/domain_log.h"
#include "core/event.h"

#include <microhttpd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_trace(const char *header)
{
    if (trace_parent_valid(header)) {
        char child[TRACE_PARENT_LEN + 1];
        trace_parent_child(header, child);
        if (!trace_parent_valid(child) || strncmp(child, header, 36) != 0 ||
            strcmp(child + 52, header + 52) != 0)
            abort();
    }
    if (trace_state_valid(header)) {
        size_t n = strlen(header);
        if (n == 0 || n > TRACE_STATE_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)header[i] < 0x20 || (unsigned char)header[i] > 0x7e)
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* The bounds each handler gives api_param_long() (logs, stream, dlq, calls). */
static const struct {
    const char *name;
    long long min, max;
} numbers[] = {
    {"limit", 1, 10000},    {"limit", 1, 1000},       {"offset", 0, 100000000LL},
    {"offset", 0, 1000000}, {"before", 1, INT64_MAX}, {"seq", INT64_MIN, INT64_MAX},
};

static void check_number(const char *name, const char *v)
{
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        if (strcmp(name, numbers[i].name) != 0 && strcmp(numbers[i].name, "seq") != 0)
            continue;
        long long out = 0;
        if (api_param_parse_long(v, numbers[i].min, numbers[i].max, &out)) {
            check(out >= numbers[i].min && out <= numbers[i].max);
            check(strtoll(v, NULL, 10) == out);
            check(v[0] == '-' || (v[0] >= '0' && v[0] <= '9'));
        }
    }
}

static bool token_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '%';
}

static void check_domain(const char *v, size_t len)
{
    char name[DOMAIN_LOG_NAME_MAX + 1];
    if (domain_log_check_domain(v, len, name, sizeof name) == DOMAIN_LOG_OK) {
        check(name[0] && strlen(name) <= DOMAIN_LOG_NAME_MAX);
        for (const char *p = name; *p; p++)
            check((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
        check(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
    }
    if (memchr(v, '\0', len))
        return; /* api_param_string answers 400 before anything else sees it */
    char token[EVENT_DOMAIN_MAX * 3 + 1];
    if (event_domain_token(v, token, sizeof token))
        for (const char *p = token; *p; p++)
            check(token_char_ok(*p));
    char subject[EVENT_SUBJECT_MAX + 256];
    if (event_subject("dlq.EVENTS.>", v, subject, sizeof subject))
        check(strncmp(subject, "dlq.EVENTS.", 11) == 0 && !strchr(subject + 11, '.') &&
              !strchr(subject, ' ') && !strchr(subject, '*'));
    if (event_subject("events.*.in", v, subject, sizeof subject))
        check(strncmp(subject, "events.", 7) == 0 &&
              strcmp(subject + strlen(subject) - 3, ".in") == 0);
}

static void check_date(const char *v)
{
    if (!domain_log_valid_date(v))
        return;
    check(strlen(v) == DOMAIN_LOG_DATE_LEN && v[4] == '-' && v[7] == '-');
    for (size_t i = 0; i < DOMAIN_LOG_DATE_LEN; i++)
        check(i == 4 || i == 7 || (v[i] >= '0' && v[i] <= '9'));
}

static void check_path(const char *path)
{
    if (strncmp(path, "/api/dlq", 8) == 0) {
        struct dlq_api_path p;
        if (dlq_api_parse_path(path + 8, &p) == DLQ_API_PATH_OK) {
            bool is_get = strcmp(p.method, "GET") == 0;
            check(is_get || strcmp(p.method, "POST") == 0);
            check(is_get == (p.op == DLQ_API_LIST || p.op == DLQ_API_GET));
            if (p.op == DLQ_API_GET || p.op == DLQ_API_REPLAY_ONE)
                check(p.seq >= 1 && p.seq <= INT64_MAX);
            else
                check(p.seq == 0);
        }
    }
    if (strncmp(path, "/api/v1/calls", 13) == 0) {
        char id[80];
        if (calls_api_parse_path(path + 13, id, sizeof id) == CALLS_API_ONE) {
            size_t n = strlen(id);
            check(n >= 1 && n <= 64 && strcmp(id, path + 14) == 0);
            for (const char *p = id; *p; p++)
                check(token_char_ok(*p) && *p != '%');
        }
    }
}

static void check_query(char *q)
{
    while (q) {
        char *amp = strchr(q, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(q, '=');
        char *value = eq ? eq + 1 : q + strlen(q);
        if (eq)
            *eq = '\0';
        MHD_http_unescape(q);
        size_t len = MHD_http_unescape(value);
        if (strcmp(q, "domain") == 0)
            check_domain(value, len);
        else if (strcmp(q, "date") == 0)
            check_date(value);
        else
            check_number(q, value);
        q = amp ? amp + 1 : NULL;
    }
}

static void check_auth(const char *header)
{
    size_t len = 0;
    const char *token = api_auth_bearer_token(header, &len);
    if (!token)
        return;
    size_t hlen = strlen(header);
    check(token >= header && (size_t)(token - header) + len <= hlen);
    if (len) {
        check(token[0] != ' ' && token[0] != '\t');
        check(token[len - 1] != ' ' && token[len - 1] != '\t');
    }
    check(api_auth_token_equal(token, len, token, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libmicrohttpd hands out NUL-terminated strings: the request line ends at a NUL. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *nl = memchr(text, '\n', size);
    if (nl) {
        *nl = '\0';
        check_auth(nl + 1);
        check_trace(nl + 1);
    }
    char *qmark = strchr(text, '?');
    if (qmark)
        *qmark = '\0';
    MHD_http_unescape(text);
    check_path(text);
    if (qmark)
        check_query(qmark + 1);
    free(text);
    return 0;
}
