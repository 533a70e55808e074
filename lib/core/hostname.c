/*
 * hostname — see hostname.h.
 *
 * One scan does both jobs: hostname_valid() runs it without an output buffer,
 * hostname_normalize() with one. ASCII only, and locale-independent on purpose (the
 * <ctype.h> classes change with setlocale(); DNS labels do not).
 */
#include "core/hostname.h"

#include <arpa/inet.h>

#include <string.h>

static bool ascii_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool ascii_alnum(char c)
{
    return ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Validates s[0..n) (trailing dot already removed); writes it lowercased to out if set. */
static bool scan(const char *s, size_t n, char *out)
{
    if (n == 0 || n > HOSTNAME_MAX)
        return false;
    size_t label = 0;
    bool digits_only = true;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : '.'; /* a virtual dot closes the last label */
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') /* i > 0 here: label > 0 */
                return false;
            if (i == n && digits_only)
                return false;
            if (out && i < n)
                out[i] = '.';
            label = 0;
            digits_only = true;
            continue;
        }
        if (!ascii_alnum(c) && c != '-')
            return false;
        if (label == 0 && c == '-')
            return false;
        if (++label > 63)
            return false;
        if (!ascii_digit(c))
            digits_only = false;
        if (out)
            out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    if (out)
        out[n] = '\0';
    return true;
}

bool hostname_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n && s[n - 1] == '.')
        n--;
    return scan(s, n, NULL);
}

bool hostname_normalize(const char *s, size_t len, char *out, size_t cap)
{
    if (!s || !out)
        return false;
    size_t n = len;
    if (n && s[n - 1] == '.')
        n--;
    if (n >= cap)
        return false;
    return scan(s, n, out);
}

static int parse_port(const char *s, size_t len)
{
    if (len == 0)
        return -1;
    if (s[0] != ':' || len < 2 || len > 6)
        return -2;
    int port = 0;
    for (size_t i = 1; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -2;
        port = port * 10 + (s[i] - '0');
    }
    return port <= 65535 ? port : -2;
}

enum host_class hostname_parse_host(const char *host, size_t len, char *name, size_t cap, int *port)
{
    char buf[HOSTNAME_MAX + 2];
    *port = -1;
    if (cap)
        name[0] = '\0';
    if (len == 0)
        return HOST_MALFORMED;
    size_t hlen;
    if (host[0] == '[') {
        const char *close = memchr(host, ']', len);
        if (!close)
            return HOST_MALFORMED;
        hlen = (size_t)(close - host) - 1;
        struct in6_addr a6;
        if (hlen == 0 || hlen >= sizeof buf)
            return HOST_MALFORMED;
        memcpy(buf, host + 1, hlen);
        buf[hlen] = '\0';
        size_t rest = len - hlen - 2;
        *port = parse_port(close + 1, rest);
        if (*port == -2 || inet_pton(AF_INET6, buf, &a6) != 1)
            return HOST_MALFORMED;
        return HOST_IP;
    }
    const char *colon = memchr(host, ':', len);
    hlen = colon ? (size_t)(colon - host) : len;
    *port = parse_port(host + hlen, len - hlen);
    if (*port == -2 || hlen == 0 || hlen >= sizeof buf)
        return HOST_MALFORMED;
    memcpy(buf, host, hlen);
    buf[hlen] = '\0';
    struct in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) == 1)
        return HOST_IP;
    if (!hostname_normalize(buf, hlen, name, cap))
        return HOST_MALFORMED;
    return HOST_NAME;
}

const char *hostname_allowed_entry_problem(const char *entry)
{
    if (strcmp(entry, "*") == 0)
        return NULL;
    if (strstr(entry, "://"))
        return "is a URL: write the host name alone";
    if (entry[0] == '*') {
        if (entry[1] != '.' || !hostname_valid(entry + 2))
            return "is not a host name, \"*\" or \"*.domain\"";
        return NULL;
    }
    char name[HOSTNAME_MAX + 2];
    int port;
    enum host_class c = hostname_parse_host(entry, strlen(entry), name, sizeof name, &port);
    if (c == HOST_MALFORMED)
        return "is not a host name, \"*\" or \"*.domain\"";
    if (port >= 0)
        return "has a port: the port is not compared, write the host name alone";
    return NULL;
}
