/*
 * Unit tests: hostname — what counts as a tenant domain, and its normal form.
 */
#include "core/hostname.h"
#include "unit.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static void test_valid(void)
{
    static const char *const good[] = {
        "example.com",
        "Example.COM",
        "localhost",
        "a",
        "a.b",
        "xn--bcher-kva.example", /* IDNA: the ASCII form only */
        "1.2.3.example",
        "123.example",
        "a-b.c-d.example",
        "example.com.", /* one trailing dot */
        "a.b.c1",       /* last label has a letter */
        "0x1",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", /* 63 */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!hostname_valid(good[i]))
            printf("# refused: %s\n", good[i]);
        CHECK(hostname_valid(good[i]));
    }
    static const char *const bad[] = {
        NULL,
        "",
        ".",
        "..",
        "example.com..",
        ".example.com",
        "a..b",
        "-a.example",
        "a-.example",
        "a.-b.example",
        "under_score.example",
        "space .example",
        "tab\t.example",
        "192.0.2.1",
        "192.0.2.1.",
        "12345",
        "a.123",
        "[::1]",
        "fd00::2",
        "user@example.com",
        "example.com:5060",
        "caf\xc3\xa9.example", /* UTF-8: not ASCII */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", /* 64 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (hostname_valid(bad[i]))
            printf("# accepted: %s\n", bad[i]);
        CHECK(!hostname_valid(bad[i]));
    }

    /* 253 characters is the limit (254 with the trailing dot). */
    char name[300];
    memset(name, 'a', sizeof name);
    for (int i = 63; i < 254; i += 64)
        name[i] = '.';
    name[253] = '\0';
    CHECK(hostname_valid(name));
    name[253] = '.';
    name[254] = '\0';
    CHECK(hostname_valid(name)); /* 253 + trailing dot */
    name[253] = 'a';
    CHECK(!hostname_valid(name)); /* 254 */
}

static void test_normalize(void)
{
    char out[256];
    CHECK(hostname_normalize("PBX.Example.", 12, out, sizeof out));
    CHECK_STR(out, "pbx.example");
    /* Only len bytes are read: no NUL needed. */
    const char buf[] = {'A', '.', 'b', 'X'};
    CHECK(hostname_normalize(buf, 3, out, sizeof out));
    CHECK_STR(out, "a.b");
    /* The capacity counts the NUL. */
    CHECK(hostname_normalize("abc.de", 6, out, 7));
    CHECK_STR(out, "abc.de");
    CHECK(!hostname_normalize("abc.de", 6, out, 6));
    CHECK(hostname_normalize("abc.de.", 7, out, 7)); /* the dot is dropped first */
    CHECK(!hostname_normalize("a_b", 3, out, sizeof out));
    CHECK(!hostname_normalize(NULL, 0, out, sizeof out));
    CHECK(!hostname_normalize("a", 1, NULL, 0));
    CHECK(!hostname_normalize("", 0, out, sizeof out));

    /* The locale does not change the answer. */
    if (setlocale(LC_CTYPE, "C.UTF-8")) {
        CHECK(!hostname_valid("caf\xc3\xa9.example"));
        CHECK(hostname_normalize("EXAMPLE.COM", 11, out, sizeof out));
        CHECK_STR(out, "example.com");
        setlocale(LC_CTYPE, "C");
    }
}

int main(void)
{
    test_valid();
    test_normalize();
    return unit_done();
}
