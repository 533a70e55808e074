/* Unit tests: json_scan (strict RFC 8259 validation, member lookup, string decoding)
 * and json_print (valid UTF-8 out whatever cJSON was given). */
#include "core/json_print.h"
#include "core/json_scan.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool valid(const char *text)
{
    return json_scan_valid(text, strlen(text), NULL);
}

/* Texts every strict parser accepts. */
static const char *const accepted[] = {
    "{}",
    "[]",
    " {\"a\":1} \n",
    "0",
    "-0",
    "1.5e+10",
    "-0.0E-2",
    "12345678901234567890",
    "\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
    "true",
    "false",
    "null",
    "{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}]}", /* the same key in different objects */
    "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
    "\"\x7f\"",
    "[1,[2,[3]],{}]",
    "{\"A\":1,\"a\":2}", /* keys are case sensitive */
};

/* Texts RFC 8259 forbids, or that receivers could read differently. */
static const char *const refused[] = {
    "",
    " ",
    "01",
    "-01",
    "1.",
    ".5",
    "+1",
    "-",
    "1e",
    "1e+",
    "NaN",
    "Infinity",
    "-Infinity",
    "0x10",
    "\xef\xbb\xbf{\"domain\":\"example.com\"}",
    "{\"a\":1,}",
    "[1,]",
    "{\"a\" 1}",
    "{a:1}",
    "{'a':1}",
    "\"a",
    "\"\\x\"",
    "\"\\u12\"",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "\"\\ud800\\u0041\"",
    "\"raw\ttab\"",
    "\"\xff\"",
    "\"\xc0\xaf\"",
    "\"\xed\xa0\x80\"",
    "\"\xf4\x90\x80\x80\"",
    "{\"a\":1}{",
    "{\"a\":1} x",
    "tru",
    "nul",
    "truex",
    "[1 2]",
    "{\"a\":1,\"a\":2}",
    "{\"domain\":\"x\",\"dom\\u0061in\":\"y\"}",
    "{\"a\":{\"b\":1,\"b\":1}}",
    "\x01{}",
    "{\"a\":1}\x0c",
    "//c\n{}",
    "[\"a\"\x00]",
};

static void test_accepts_and_refuses(void)
{
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
        unit_check(valid(accepted[i]), accepted[i], __FILE__, __LINE__);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        unit_check(!valid(refused[i]), refused[i], __FILE__, __LINE__);
    /* A NUL byte inside the length is refused, not a terminator. */
    CHECK(!json_scan_valid("{\"a\":\"x\0\"}", 10, NULL));
}

static void test_error_positions(void)
{
    struct json_error err;
    CHECK(!json_scan_valid("{\"a\":01}", 8, &err));
    CHECK_INT(err.at, 5);
    CHECK_STR(err.what, "leading zeros are not allowed in numbers");
    CHECK(!json_scan_valid("\xef\xbb\xbf{}", 5, &err));
    CHECK_INT(err.at, 0);
    CHECK_STR(err.what, "a byte order mark is not allowed before JSON text");
    const char *dup = "{\"x\":1,\"y\":2,\"x\":3}";
    CHECK(!json_scan_valid(dup, strlen(dup), &err));
    CHECK_INT(err.at, 13);
    CHECK_STR(err.what, "duplicate key in an object");
}

static void test_depth_limit(void)
{
    char deep[2 * JSON_SCAN_MAX_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i < JSON_SCAN_MAX_DEPTH; i++)
        deep[n++] = '[';
    for (int i = 0; i < JSON_SCAN_MAX_DEPTH; i++)
        deep[n++] = ']';
    CHECK(json_scan_valid(deep, n, NULL));
    char deeper[2 * JSON_SCAN_MAX_DEPTH + 8];
    n = 0;
    for (int i = 0; i <= JSON_SCAN_MAX_DEPTH; i++)
        deeper[n++] = '[';
    for (int i = 0; i <= JSON_SCAN_MAX_DEPTH; i++)
        deeper[n++] = ']';
    CHECK(!json_scan_valid(deeper, n, NULL));
}

/* Many keys: duplicates are found after the sort, and distinct keys pass. */
static void test_many_keys(void)
{
    size_t cap = 20000 * 16;
    char *text = malloc(cap);
    size_t n = 0;
    text[n++] = '{';
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    text[n++] = '}';
    CHECK(json_scan_valid(text, n, NULL));
    /* Make the last key a copy of the first: "k19999" -> "k0" with an escape. */
    char *last = strstr(text, "\"k19999\"");
    memcpy(last, "\"\\u006b0\"", 9);
    CHECK(!json_scan_valid(text, n - 0, NULL));
    free(text);
}

static void test_find_decodes_keys(void)
{
    struct json_member m;
    const char *j = " {\"a\":\"x,}\\\"y\" , \"b\" : [1,{\"c\":2}], \"c\":true}";
    CHECK(json_scan_find(j, strlen(j), "c", &m));
    CHECK(strncmp(j + m.value_start, "true", m.value_len) == 0);
    CHECK(json_scan_find(j, strlen(j), "b", &m));
    CHECK(strncmp(j + m.value_start, "[1,{\"c\":2}]", m.value_len) == 0);
    CHECK(!json_scan_find(j, strlen(j), "zz", &m));
    const char *esc = "{\"x\":1,\"delivery_\\u0061ttempt\":7,\"\\u00e9\":2}";
    CHECK(json_scan_find(esc, strlen(esc), "delivery_attempt", &m));
    CHECK(strncmp(esc + m.value_start, "7", m.value_len) == 0);
    CHECK(json_scan_find(esc, strlen(esc), "\xc3\xa9", &m));
    CHECK(!json_scan_find(esc, strlen(esc), "delivery_attemp", &m));
    CHECK_INT(json_scan_closing_brace("{} ", 3), 1);
    CHECK_INT(json_scan_closing_brace("[]", 2), (size_t)-1);
    CHECK_INT(json_scan_closing_brace("\xef\xbb\xbf{}", 5), (size_t)-1);
}

static void test_string_decoding(void)
{
    char out[16];
    const char *s = "\"a\\u00e9\\ud83d\\ude00\\n\"";
    CHECK_INT(json_scan_string(s, 0, strlen(s), out, sizeof out), 8);
    CHECK_STR(out, "a\xc3\xa9\xf0\x9f\x98\x80\n");
    const char *nul = "\"ex\\u0000ample\"";
    size_t n = json_scan_string(nul, 0, strlen(nul), out, sizeof out);
    CHECK_INT(n, 8);
    CHECK_INT(strlen(out), 2);
    CHECK_INT(json_scan_string("\"0123456789abcdef\"", 0, 18, out, sizeof out), (size_t)-1);
    CHECK_INT(json_scan_string("12", 0, 2, out, sizeof out), (size_t)-1);
}

static void test_print_repairs_utf8(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "h", "caller \xff\xc3(x)\xe2\x82\xac");
    char *text = json_print(o);
    CHECK_STR(text, "{\"h\":\"caller \xef\xbf\xbd\xef\xbf\xbd(x)\xe2\x82\xac\"}");
    CHECK(json_scan_valid(text, strlen(text), NULL));
    free(text);
    cJSON_Delete(o);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ok", "\xc3\xa9");
    text = json_print(o);
    CHECK_STR(text, "{\"ok\":\"\xc3\xa9\"}");
    free(text);
    cJSON_Delete(o);
}

int main(void)
{
    test_accepts_and_refuses();
    test_error_positions();
    test_depth_limit();
    test_many_keys();
    test_find_decodes_keys();
    test_string_decoding();
    test_print_repairs_utf8();
    return unit_done();
}
