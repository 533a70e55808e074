/*
 * test_redact — the one redaction rule (redact.h): URL userinfo, query values and
 * fragments never survive, host, port and path do; malformed input loses everything
 * that was not read as a host; lists go element by element; header values go. Every
 * result is also redacted again to check that the rule is idempotent, and produced
 * into short buffers to check that truncation never leaks more than the full result.
 */
#include "core/redact.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_url(const char *url, const char *want, const char *file, int line)
{
    char *got = redact_url(url);
    unit_check_str(got, want, url, file, line);
    /* Idempotent: what is shown redacts to itself. */
    char *again = got ? redact_url(got) : NULL;
    char what[300];
    snprintf(what, sizeof what, "again: %s", url);
    unit_check_str(again, want, what, file, line);
    /* The sized form: the same length, and every truncation a prefix of the result. */
    size_t need = redact_url_to(NULL, 0, url, strlen(url));
    snprintf(what, sizeof what, "length: %s", url);
    unit_check_int((long long)need, (long long)strlen(want), what, file, line);
    bool prefixes = true;
    for (size_t cap = 1; cap <= need + 1; cap++) {
        char buf[512];
        if (cap > sizeof buf)
            break;
        memset(buf, 'X', sizeof buf);
        size_t n = redact_url_to(buf, cap, url, strlen(url));
        if (n != need || strlen(buf) != cap - 1 || strncmp(buf, want, cap - 1) != 0)
            prefixes = false;
    }
    snprintf(what, sizeof what, "truncations: %s", url);
    unit_check(prefixes, what, file, line);
    free(got);
    free(again);
}
#define URL(url, want) check_url((url), (want), __FILE__, __LINE__)

static void check_list(const char *list, const char *want, const char *file, int line)
{
    char *got = redact_url_list(list);
    unit_check_str(got, want, list, file, line);
    free(got);
}
#define LIST(list, want) check_list((list), (want), __FILE__, __LINE__)

static void check_header(const char *h, const char *want, const char *file, int line)
{
    char *got = redact_header(h);
    unit_check_str(got, want, h, file, line);
    free(got);
}
#define HEADER(h, want) check_header((h), (want), __FILE__, __LINE__)

static void test_plain_urls_unchanged(void)
{
    URL("http://127.0.0.1:9000/hook", "http://127.0.0.1:9000/hook");
    URL("https://crm.example.com/in/calls", "https://crm.example.com/in/calls");
    URL("https://crm.example.com", "https://crm.example.com");
    URL("nats://nats.example.com:4222", "nats://nats.example.com:4222");
    URL("http://host:/x", "http://host:/x"); /* an empty port is a valid URL */
    URL("http://h.test/a%20b/c;v=1", "http://h.test/a%20b/c;v=1");
    URL("HTTPS://Host.Example/P", "HTTPS://Host.Example/P");
    URL("", "");
}

static void test_userinfo(void)
{
    URL("https://user:s3cret@example.com/hook", "https://***@example.com/hook");
    URL("https://user@example.com/hook", "https://***@example.com/hook");
    URL("https://user:@example.com/", "https://***@example.com/");
    URL("https://:pw@example.com/", "https://***@example.com/");
    URL("https://@example.com/", "https://***@example.com/"); /* empty userinfo */
    URL("nats://tok3n@nats.example.com:4222", "nats://***@nats.example.com:4222");
    URL("nats://u:p@127.0.0.1:4222", "nats://***@127.0.0.1:4222");
    /* A password holding '@' or ':': the last '@' of the authority ends the userinfo. */
    URL("http://u:p@ss:w@host:80/x", "http://***@host:80/x");
    URL("http://u@v@w@host/", "http://***@host/");
    /* Percent-encoded userinfo is userinfo all the same. */
    URL("http://us%40er:p%3Ass%2Fw@host/x", "http://***@host/x");
    /* Ports. */
    URL("http://u:p@host:8080", "http://***@host:8080");
    URL("http://u:p@host:65535/", "http://***@host:65535/");
}

static void test_ipv6(void)
{
    URL("http://[::1]:8080/hook", "http://[::1]:8080/hook");
    URL("http://[::1]/hook", "http://[::1]/hook");
    URL("http://[2001:db8::7]", "http://[2001:db8::7]");
    URL("http://u:p@[2001:db8::7]:443/x?t=1#f", "http://***@[2001:db8::7]:443/x?t=***#***");
    URL("http://[fe80::1%25eth0]:80/", "http://[fe80::1%25eth0]:80/");
    /* An address without its ']', or junk after it, is not a host. */
    URL("http://[::1:8080/hook", "http://***");
    URL("http://[::1]x/hook", "http://***");
    URL("http://u:p@[::1]secret/x", "http://***@***");
}

static void test_query_and_fragment(void)
{
    URL("https://h.test/hook?token=abc", "https://h.test/hook?token=***");
    URL("https://h.test/hook?token=abc&a=1", "https://h.test/hook?token=***&a=***");
    URL("https://h.test/hook?debug", "https://h.test/hook?debug"); /* no '=': a name */
    URL("https://h.test/hook?debug&k=v", "https://h.test/hook?debug&k=***");
    URL("https://h.test/hook?k=", "https://h.test/hook?k=***");
    URL("https://h.test/hook?=v", "https://h.test/hook?=***");
    URL("https://h.test/hook?k=a=b", "https://h.test/hook?k=***");
    URL("https://h.test/hook?", "https://h.test/hook?");
    URL("https://h.test/hook?&&k=v&", "https://h.test/hook?&&k=***&");
    URL("https://h.test/hook?sig=a%3Db%26c", "https://h.test/hook?sig=***");
    URL("https://h.test?token=abc", "https://h.test?token=***"); /* no path */
    URL("https://h.test/x#frag", "https://h.test/x#***");
    URL("https://h.test/x#", "https://h.test/x#***");
    URL("https://h.test/x?a=1#k=v", "https://h.test/x?a=***#***");
    URL("https://h.test#frag?x=1", "https://h.test#***");
    /* '?' or '#' inside a query value is not a second query. */
    URL("https://h.test/x?a=1?b=2", "https://h.test/x?a=***");
}

static void test_at_after_authority(void)
{
    /* '@' in the path or the query is not userinfo: the authority ended before it. */
    URL("http://host/path@x", "http://host/path@x");
    URL("http://host/users/@me/hook", "http://host/users/@me/hook");
    URL("http://host/path@x?q=a@b#f@g", "http://host/path@x?q=***#***");
    URL("http://host/hook?email=a@b.example", "http://host/hook?email=***");
    URL("http://u:p@host?x=1", "http://***@host?x=***");
    URL("http://u:p@host#x", "http://***@host#***");
}

static void test_malformed(void)
{
    /* A password with an unencoded '/', '?' or '#' cuts the authority short: what is
     * left is not host[:port], so nothing after the scheme is shown. */
    URL("http://user:pa/ss@host/", "http://***");
    URL("http://user:pa?ss@host/", "http://***");
    URL("http://user:pa#ss@host/", "http://***");
    URL("http://host:80x/", "http://***");
    URL("http://ho st/", "http://***");
    URL("http://host\t/", "http://***");
    URL("nats://::1:4222", "nats://***");
    URL("http://a,b@c/", "http://***@c/");
    /* Without "scheme://": the widest userinfo goes, then the same rule. */
    URL("user:pass@host:4222", "***@host:4222");
    URL("user:pass@host:4222/x@y", "***@y");
    URL("u:p@h?token=x@y", "***@h?token=***");
    URL("host:4222", "host:4222");
    URL("embedded", "embedded");
    URL("user:secret", "***");
    URL("mailto:someone@example.com", "***@example.com");
    URL("//u:p@host/x", "***@host/x");
    URL("@host", "***@host");
    URL("/relative/path?x=1", "/relative/path?x=***");
    URL("http:/host/x?t=1", "http:/host/x?t=***"); /* "http:" reads as a host */
    URL(":", ":");
}

static void test_nul_bounded(void)
{
    /* The sized form reads `len` bytes, not up to a NUL. */
    char out[64];
    const char *two = "http://u:p@a/x,http://b/y";
    CHECK_INT(redact_url_to(out, sizeof out, two, 12), strlen("http://***@a"));
    CHECK_STR(out, "http://***@a");
    CHECK_INT(redact_url_to(out, sizeof out, NULL, 0), 0);
    CHECK_STR(out, "");
    CHECK(redact_url(NULL) == NULL);
    CHECK(redact_url_list(NULL) == NULL);
    CHECK(redact_header(NULL) == NULL);
}

static void test_lists(void)
{
    LIST("nats://a:b@h1:4222", "nats://***@h1:4222");
    LIST("nats://a:b@h1:4222,nats://c:d@h2:4222,nats://h3:4222",
         "nats://***@h1:4222,nats://***@h2:4222,nats://h3:4222");
    LIST("nats://a:b@h1:4222, nats://c:d@h2:4222 ,tls://t0k@h3",
         "nats://***@h1:4222, nats://***@h2:4222 ,tls://***@h3");
    LIST("", "");
    LIST(",", ",");
    LIST(" , nats://u:p@h", " , nats://***@h");
    /* A ',' inside a password splits the URL: both halves are still redacted. */
    LIST("nats://u:pa,ss@h:4222", "nats://***,***@h:4222");
    LIST("nats://u:pa,ss/x@h:4222", "nats://***,***@h:4222");
}

static void test_headers(void)
{
    HEADER("Authorization: Bearer abc", "Authorization: ***");
    HEADER("X-Api-Key:abc", "X-Api-Key: ***");
    HEADER("X-Empty:", "X-Empty: ***");
    HEADER("X-Time: 12:30", "X-Time: ***");
    HEADER("no colon at all", "***");
    HEADER("", "***");
}

int main(void)
{
    test_plain_urls_unchanged();
    test_userinfo();
    test_ipv6();
    test_query_and_fragment();
    test_at_after_authority();
    test_malformed();
    test_nul_bounded();
    test_lists();
    test_headers();
    return unit_done();
}
