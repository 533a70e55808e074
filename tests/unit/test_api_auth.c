/*
 * Unit tests: api_auth's pure parts — the bearer header and the token comparison —
 * and api_params' integer parsing (the request-bound parts are covered by the
 * integration tests test_dlq_api.py and test_logs_api.py).
 */
#include "http/api_auth.h"
#include "http/api_params.h"
#include "unit.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

static bool eq(const char *a, const char *b)
{
    return api_auth_token_equal(a, strlen(a), b, strlen(b));
}

static void test_token_equal(void)
{
    CHECK(eq("s3cret", "s3cret"));
    CHECK(!eq("s3cret", "s3cre"));
    CHECK(!eq("s3cret", "s3cret!"));
    CHECK(!eq("s3cret", "S3cret"));
    CHECK(!eq("s3cret", ""));
    CHECK(!eq("s3cret", "x3cret"));
    CHECK(!eq("s3cret", "s3creT"));
    /* An empty expected token never matches (no token = no access by token). */
    CHECK(!eq("", ""));
    /* Bytes after an embedded NUL count: lengths are explicit. */
    CHECK(!api_auth_token_equal("ab\0c", 4, "ab\0d", 4));
    CHECK(api_auth_token_equal("ab\0c", 4, "ab\0c", 4));
    /* A given token longer than the expected one with the same prefix. */
    CHECK(!api_auth_token_equal("abc", 3, "abcabc", 6));
}

static void test_bearer(void)
{
    size_t n = 0;
    const char *t = api_auth_bearer_token("Bearer abc", &n);
    CHECK(t && n == 3 && memcmp(t, "abc", 3) == 0);
    t = api_auth_bearer_token("bearer \t abc  ", &n);
    CHECK(t && n == 3 && memcmp(t, "abc", 3) == 0);
    t = api_auth_bearer_token("BEARER a.b-c_d~e+f/g=", &n);
    CHECK(t && n == strlen("a.b-c_d~e+f/g="));
    CHECK(api_auth_bearer_token(NULL, &n) == NULL && n == 0);
    CHECK(api_auth_bearer_token("", &n) == NULL);
    CHECK(api_auth_bearer_token("Bearer", &n) == NULL);
    CHECK(api_auth_bearer_token("Bearer   ", &n) == NULL);
    CHECK(api_auth_bearer_token("Basic dXNlcjpwYXNz", &n) == NULL);
    CHECK(api_auth_bearer_token("Bearerabc", &n) == NULL);
    CHECK(api_auth_bearer_token("abc", &n) == NULL);
}

static void test_parse_long(void)
{
    long long v = 0;
    CHECK(api_param_parse_long("42", 1, 100, &v) && v == 42);
    CHECK(api_param_parse_long("1", 1, 100, &v) && v == 1);
    CHECK(api_param_parse_long("100", 1, 100, &v) && v == 100);
    CHECK(api_param_parse_long("-5", -10, 10, &v) && v == -5);
    CHECK(api_param_parse_long("9223372036854775807", 1, INT64_MAX, &v) && v == INT64_MAX);
    CHECK(!api_param_parse_long("9223372036854775808", 1, INT64_MAX, &v));
    CHECK(!api_param_parse_long("0", 1, 100, &v));
    CHECK(!api_param_parse_long("101", 1, 100, &v));
    CHECK(!api_param_parse_long("", 1, 100, &v));
    CHECK(!api_param_parse_long(NULL, 1, 100, &v));
    CHECK(!api_param_parse_long("-", -10, 10, &v));
    CHECK(!api_param_parse_long(" 5", 1, 100, &v));
    CHECK(!api_param_parse_long("+5", 1, 100, &v));
    CHECK(!api_param_parse_long("5 ", 1, 100, &v));
    CHECK(!api_param_parse_long("1e3", 1, 10000, &v));
    CHECK(!api_param_parse_long("0x10", 1, 100, &v));
}

int main(void)
{
    test_token_equal();
    test_bearer();
    test_parse_long();
    return unit_done();
}
