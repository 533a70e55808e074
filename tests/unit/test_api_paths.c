/*
 * Unit tests: what the paths under /api/dlq and /api/v1/calls name
 * (dlq_api_parse_path, calls_api_parse_path) — the part of those handlers that needs
 * no HTTP. (The endpoints: test_dlq_api.py, test_esl_calls_api.py.)
 */
#include "api/calls_api.h"
#include "api/dlq_api.h"
#include "unit.h"

#include <string.h>

static void test_dlq(void)
{
    static const struct {
        const char *rest;
        enum dlq_api_path_status status;
        enum dlq_api_op op;
        unsigned long long seq;
        const char *method;
    } cases[] = {
        {"", DLQ_API_PATH_OK, DLQ_API_LIST, 0, "GET"},
        {"/", DLQ_API_PATH_OK, DLQ_API_LIST, 0, "GET"},
        {"/replay", DLQ_API_PATH_OK, DLQ_API_REPLAY_DOMAIN, 0, "POST"},
        {"/42", DLQ_API_PATH_OK, DLQ_API_GET, 42, "GET"},
        {"/42/replay", DLQ_API_PATH_OK, DLQ_API_REPLAY_ONE, 42, "POST"},
        {"/9223372036854775807", DLQ_API_PATH_OK, DLQ_API_GET, 9223372036854775807ULL, "GET"},
        {"/9223372036854775808", DLQ_API_PATH_BAD_SEQ, 0, 0, NULL},
        {"/0", DLQ_API_PATH_BAD_SEQ, 0, 0, NULL},
        {"/-1", DLQ_API_PATH_BAD_SEQ, 0, 0, NULL},
        {"/+1", DLQ_API_PATH_BAD_SEQ, 0, 0, NULL},
        {"/ 1", DLQ_API_PATH_BAD_SEQ, 0, 0, NULL},
        {"//replay", DLQ_API_PATH_BAD_SEQ, 0, 0, NULL},
        {"/42/", DLQ_API_PATH_NOT_FOUND, 0, 0, NULL},
        {"/42/replay/", DLQ_API_PATH_NOT_FOUND, 0, 0, NULL},
        {"x", DLQ_API_PATH_NOT_FOUND, 0, 0, NULL},
        {"/replay/1", DLQ_API_PATH_NOT_FOUND, 0, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dlq_api_path p;
        enum dlq_api_path_status st = dlq_api_parse_path(cases[i].rest, &p);
        CHECK_INT(st, cases[i].status);
        if (st == DLQ_API_PATH_OK) {
            CHECK_INT(p.op, cases[i].op);
            CHECK_INT(p.seq, cases[i].seq);
            CHECK_STR(p.method, cases[i].method);
        }
    }
}

static void test_calls(void)
{
    char id[65];
    CHECK_INT(calls_api_parse_path("", id, sizeof id), CALLS_API_LIST);
    CHECK_INT(calls_api_parse_path("/", id, sizeof id), CALLS_API_LIST);
    CHECK_INT(calls_api_parse_path("/48718434-77f1-4de1-8394-dfd80401e3aa", id, sizeof id),
              CALLS_API_ONE);
    CHECK_STR(id, "48718434-77f1-4de1-8394-dfd80401e3aa");
    char longest[66] = "/";
    memset(longest + 1, 'a', 64);
    CHECK_INT(calls_api_parse_path(longest, id, sizeof id), CALLS_API_ONE);
    CHECK_INT(strlen(id), 64);
    char too_long[67] = "/";
    memset(too_long + 1, 'a', 65);
    CHECK_INT(calls_api_parse_path(too_long, id, sizeof id), CALLS_API_BAD_ID);
    CHECK_INT(calls_api_parse_path("/a/b", id, sizeof id), CALLS_API_BAD_ID);
    CHECK_INT(calls_api_parse_path("/a.b", id, sizeof id), CALLS_API_BAD_ID);
    CHECK_INT(calls_api_parse_path("//", id, sizeof id), CALLS_API_BAD_ID);
    CHECK_INT(calls_api_parse_path("x", id, sizeof id), CALLS_API_NOT_FOUND);
    CHECK_INT(calls_api_parse_path("/abc", id, 3), CALLS_API_BAD_ID); /* does not fit */
}

int main(void)
{
    test_dlq();
    test_calls();
    return unit_done();
}
