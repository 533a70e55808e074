/*
 * Unit tests: trace_context — which traceparent values are kept (the W3C
 * specification's rules for version 00) and the child span every webhook call gets.
 */
#include "core/trace_context.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

static void test_valid(void)
{
    /* The specification's example. */
    CHECK(trace_parent_valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    CHECK(trace_parent_valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
    static const char *const bad[] = {
        NULL,
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",   /* short */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011", /* long */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  /* upper case */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  /* zero trace-id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  /* zero parent-id */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* another version */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* forbidden version */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* separator */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  /* not hex */
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* space */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\n", /* control */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "traceparent #%zu refused", i);
        unit_check(!trace_parent_valid(bad[i]), what, __FILE__, __LINE__);
    }
    CHECK(trace_state_valid("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"));
    CHECK(!trace_state_valid(""));
    CHECK(!trace_state_valid("a=b\r\nInjected: yes"));
    char big[TRACE_STATE_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(!trace_state_valid(big));
    big[TRACE_STATE_MAX] = '\0';
    CHECK(trace_state_valid(big));
}

static void test_child(void)
{
    const char *parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    char a[TRACE_PARENT_LEN + 1], b[TRACE_PARENT_LEN + 1];
    trace_parent_child(parent, a);
    trace_parent_child(parent, b);
    CHECK(trace_parent_valid(a));
    CHECK(trace_parent_valid(b));
    CHECK(strncmp(a, parent, 36) == 0);           /* version and trace-id */
    CHECK(strcmp(a + 52, "-01") == 0);            /* the flags */
    CHECK(strncmp(a + 36, parent + 36, 16) != 0); /* a new parent-id */
    CHECK(strncmp(a + 36, b + 36, 16) != 0);      /* one per attempt */
}

int main(void)
{
    test_valid();
    test_child();
    return unit_done();
}
