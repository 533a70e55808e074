/*
 * redact — see redact.h. One writer (struct out) that copies what fits and counts what
 * the whole result needs, so the sized and the allocating forms share one walk.
 */
#include "core/redact.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct out {
    char *buf;
    size_t cap;
    size_t len; /* what the whole result needs, excluding the NUL */
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->cap > 0 && o->len + 1 < o->cap) {
        size_t room = o->cap - 1 - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void finish(struct out *o)
{
    if (o->cap > 0)
        o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Host names and IPv4 addresses; '%' for percent-encoding; '*' so that "***" (what a
 * malformed authority became) reads as itself again. Anything else is not a host. */
static bool is_host_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%' ||
           c == '*';
}

/* Inside [...]: an IPv6 address, with a zone ("fe80::1%25eth0"). */
static bool is_ipv6_char(unsigned char c)
{
    return is_host_char(c) || c == ':';
}

/* The first byte of [p, end) that is in `set`, or end. */
static const char *find_any(const char *p, const char *end, const char *set)
{
    for (; p < end; p++)
        if (*p && strchr(set, *p))
            return p;
    return end;
}

/* The last '@' in [p, end), or NULL. */
static const char *find_last_at(const char *p, const char *end)
{
    const char *at = NULL;
    for (; p < end; p++)
        if (*p == '@')
            at = p;
    return at;
}

/* ":digits" or nothing after the host; an empty port is allowed ("host:"). */
static bool port_ok(const char *p, const char *end)
{
    if (p == end)
        return true;
    if (*p != ':')
        return false;
    for (p++; p < end; p++)
        if (!is_digit((unsigned char)*p))
            return false;
    return true;
}

/* host[:port], the host a name, an IPv4 address or [IPv6]. */
static bool host_port_ok(const char *h, const char *end)
{
    if (h < end && *h == '[') {
        const char *close = memchr(h, ']', (size_t)(end - h));
        if (!close)
            return false;
        for (const char *p = h + 1; p < close; p++)
            if (!is_ipv6_char((unsigned char)*p))
                return false;
        return port_ok(close + 1, end);
    }
    const char *p = h;
    while (p < end && is_host_char((unsigned char)*p))
        p++;
    return port_ok(p, end);
}

/* "?a=1&b&c=2" (without the '?') → "a=***&b&c=***". */
static void put_query(struct out *o, const char *p, const char *end)
{
    for (;;) {
        const char *amp = find_any(p, end, "&");
        const char *eq = memchr(p, '=', (size_t)(amp - p));
        if (eq) {
            put(o, p, (size_t)(eq - p));
            put_str(o, "=" REDACTED);
        } else {
            put(o, p, (size_t)(amp - p));
        }
        if (amp == end)
            return;
        put(o, "&", 1);
        p = amp + 1;
    }
}

/* The length of "scheme://" at the start of s (RFC 3986 scheme characters), or 0. */
static size_t scheme_len(const char *s, const char *end)
{
    const char *p = s;
    if (p == end || !is_alpha((unsigned char)*p))
        return 0;
    while (p < end && (is_alpha((unsigned char)*p) || is_digit((unsigned char)*p) || *p == '+' ||
                       *p == '-' || *p == '.'))
        p++;
    if (end - p >= 3 && memcmp(p, "://", 3) == 0)
        return (size_t)(p + 3 - s);
    return 0;
}

static void put_url(struct out *o, const char *s, const char *end)
{
    size_t scheme = scheme_len(s, end);
    const char *rest = s + scheme;
    put(o, s, scheme);
    /* With a scheme the userinfo ends at the last '@' of the authority, as every URL
     * parser reads it; without one it is taken as wide as it can be. */
    const char *at = scheme ? find_last_at(rest, find_any(rest, end, "/?#"))
                            : find_last_at(rest, find_any(rest, end, "?#"));
    if (at) {
        put_str(o, REDACTED "@");
        rest = at + 1;
    }
    const char *auth_end = find_any(rest, end, "/?#");
    if (!host_port_ok(rest, auth_end)) {
        put_str(o, REDACTED); /* not a host: it may be a piece of a secret */
        return;
    }
    const char *query = find_any(auth_end, end, "?#");
    put(o, rest, (size_t)(query - rest)); /* host, port and path */
    if (query < end && *query == '?') {
        const char *frag = find_any(query, end, "#");
        put(o, "?", 1);
        put_query(o, query + 1, frag);
        query = frag;
    }
    if (query < end)
        put_str(o, "#" REDACTED);
}

size_t redact_url_to(char *out, size_t cap, const char *url, size_t len)
{
    struct out o = {.buf = out, .cap = cap};
    put_url(&o, url ? url : "", url ? url + len : "");
    finish(&o);
    return o.len;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void put_list(struct out *o, const char *s)
{
    for (;;) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        const char *b = s, *e = end;
        while (b < e && is_blank(*b))
            b++;
        while (e > b && is_blank(e[-1]))
            e--;
        put(o, s, (size_t)(b - s));
        if (b < e)
            put_url(o, b, e);
        put(o, e, (size_t)(end - e));
        if (!comma)
            return;
        put(o, ",", 1);
        s = comma + 1;
    }
}

static void put_header(struct out *o, const char *line)
{
    const char *colon = strchr(line, ':');
    if (!colon) {
        put_str(o, REDACTED);
        return;
    }
    put(o, line, (size_t)(colon - line));
    put_str(o, ": " REDACTED);
}

/* Runs `fn` once to size the result and once to write it. */
static char *build(void (*fn)(struct out *, const char *), const char *in)
{
    if (!in)
        return NULL;
    struct out o = {0};
    fn(&o, in);
    char *buf = malloc(o.len + 1);
    if (!buf)
        return NULL;
    o = (struct out){.buf = buf, .cap = o.len + 1};
    fn(&o, in);
    finish(&o);
    return buf;
}

static void put_url_str(struct out *o, const char *s)
{
    put_url(o, s, s + strlen(s));
}

char *redact_url(const char *url)
{
    return build(put_url_str, url);
}

char *redact_url_list(const char *list)
{
    return build(put_list, list);
}

char *redact_header(const char *line)
{
    return build(put_header, line);
}
