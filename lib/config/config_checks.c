/*
 * config_checks — see config_checks.h.
 */
#include "config/config_checks.h"

#include "config/config_ctx.h"
#include "config/config_yaml.h"

#include <string.h>
#include <strings.h>

#define CFG_STR_(x) #x
#define CFG_STR(x) CFG_STR_(x)

/* Characters --------------------------------------------------------------------------- */

bool cfg_is_space_or_ctl(unsigned char c)
{
    return c <= 0x20 || c == 0x7f;
}

/* URLs -------------------------------------------------------------------------------- */

const char *cfg_url_problem(const char *url, const char *const *schemes, const char *bad_scheme)
{
    const char *rest = NULL;
    for (size_t i = 0; schemes[i] && !rest; i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(url, schemes[i], n) == 0 && strncmp(url + n, "://", 3) == 0)
            rest = url + n + 3;
    }
    if (!rest)
        return bad_scheme;
    for (const char *p = url; *p; p++)
        if (cfg_is_space_or_ctl((unsigned char)*p))
            return "URL must not contain spaces or control characters";
    size_t alen = strcspn(rest, "/?#");
    const char *at = NULL;
    for (const char *p = rest; p < rest + alen; p++)
        if (*p == '@')
            at = p;
    const char *host = at ? at + 1 : rest, *end = rest + alen;
    const char *port = NULL;
    if (host < end && *host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (!close || close == host + 1)
            return "URL has an invalid IPv6 address";
        if (close + 1 < end) {
            if (close[1] != ':')
                return "URL has an invalid host";
            port = close + 2;
        }
    } else {
        const char *colon = memchr(host, ':', (size_t)(end - host));
        if (colon == host || host == end)
            return "URL has no host";
        if (colon)
            port = colon + 1;
    }
    if (port) {
        long v = 0;
        if (port == end || end - port > 5)
            return "URL has an invalid port";
        for (const char *p = port; p < end; p++) {
            if (*p < '0' || *p > '9')
                return "URL has an invalid port";
            v = v * 10 + (*p - '0');
        }
        if (v < 1 || v > 65535)
            return "URL has an invalid port";
    }
    return NULL;
}

/* Event names and filters --------------------------------------------------------- */

bool cfg_is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Every byte of `s` (not empty) is alphanumeric or in `extra`. */
bool cfg_only(const char *s, const char *extra)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!cfg_is_alnum((unsigned char)*s) && !strchr(extra, *s))
            return false;
    return true;
}

const char *cfg_event_name_problem(const char *s)
{
    if (strncmp(s, "CUSTOM ", 7) == 0) {
        /* "CUSTOM sofia::register conference::maintenance": one space between names. */
        for (const char *tok = s + 7;;) {
            size_t n = strcspn(tok, " ");
            if (n == 0)
                return "is not a CUSTOM subscription: expected \"CUSTOM\" and subclass names "
                       "separated by single spaces, such as \"CUSTOM sofia::register\"";
            for (size_t i = 0; i < n; i++)
                if (!cfg_is_alnum((unsigned char)tok[i]) && !strchr("_-.:", tok[i]))
                    return "has an invalid subclass name (letters, digits, '_', '-', '.', ':')";
            if (!tok[n])
                return NULL;
            tok += n + 1;
        }
    }
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return "is not a FreeSWITCH event name: expected capitals, digits and '_' "
                   "(CHANNEL_ANSWER), ALL, or \"CUSTOM\" and subclass names";
    return NULL;
}

const char *cfg_route_kind_problem(const char *s)
{
    if (strcmp(s, "ingress") == 0 || strcmp(s, "call_signal") == 0 || !cfg_event_name_problem(s))
        return NULL;
    return "is not an event kind: expected ingress, call_signal or a FreeSWITCH event name "
           "(CHANNEL_ANSWER, ...)";
}

const char *cfg_filter_problem(const char *s)
{
    if (strpbrk(s, "\r\n"))
        return "must not contain CR or LF";
    if (strlen(s) > CFG_ESL_FILTER_MAX)
        return "is longer than " CFG_STR(CFG_ESL_FILTER_MAX) " characters";
    if (cfg_has_ctl(s))
        return "must not contain control characters";
    const char *sp = strchr(s, ' ');
    if (!sp || sp == s)
        return "is not \"Header value\"";
    size_t n = (size_t)(sp - s);
    for (size_t i = 0; i < n; i++)
        if (!cfg_is_alnum((unsigned char)s[i]) && !strchr("!#$%&'*+-.^_`|~", s[i]))
            return "has an invalid header name";
    if (n == 6 && strncasecmp(s, "delete", 6) == 0)
        return "is not a filter (\"filter delete\" removes filters)";
    if (!sp[strspn(sp, " ")])
        return "has no value (\"Header value\")";
    return NULL;
}
