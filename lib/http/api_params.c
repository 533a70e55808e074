/* api_params — see api_params.h. */
#include "http/api_params.h"

#include "http/http_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool api_param_parse_long(const char *text, long long min, long long max, long long *out)
{
    if (!text || !text[0])
        return false;
    /* strtoll accepts leading blanks and '+': a parameter is digits only. */
    const char *p = text[0] == '-' ? text + 1 : text;
    if (!*p)
        return false;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool api_param_long(struct http_request *req, const char *name, long long min, long long max,
                    long long def, long long *out)
{
    const char *text = http_request_query(req, name);
    if (!text || !text[0]) {
        *out = def;
        return true;
    }
    if (api_param_parse_long(text, min, max, out))
        return true;
    char detail[160];
    snprintf(detail, sizeof detail, "%s must be an integer %lld..%lld", name, min, max);
    http_respond_error(req, 400, "invalid_parameter", detail);
    return false;
}

bool api_param_string(struct http_request *req, const char *name, char *out, size_t cap)
{
    size_t n = 0;
    const char *text = http_request_query_len(req, name, &n);
    out[0] = '\0';
    if (!text)
        return true;
    if (memchr(text, 0, n)) {
        char detail[160];
        snprintf(detail, sizeof detail, "%s contains a NUL byte", name);
        http_respond_error(req, 400, "invalid_parameter", detail);
        return false;
    }
    if (n >= cap) {
        char detail[160];
        snprintf(detail, sizeof detail, "%s is too long (at most %zu bytes)", name, cap - 1);
        http_respond_error(req, 400, "invalid_parameter", detail);
        return false;
    }
    memcpy(out, text, n + 1);
    return true;
}
