/*
 * json_scan — validates JSON text exactly as RFC 8259 defines it, and finds the
 * top-level members of an object in its original bytes.
 *
 * eventhub never re-serialises an event: the bytes a sender gave are the bytes
 * stored and delivered (a 20-digit number keeps its digits, escapes stay as sent).
 * So the validator must accept exactly what every receiver's parser accepts, and
 * refuse what any of them might read differently: numbers with leading zeros,
 * `1.`, `.5`, `+1`, NaN, a byte order mark, invalid UTF-8, raw control characters,
 * unpaired surrogate escapes, and an object with the same key twice (whichever copy
 * a receiver keeps, it would not be the one eventhub routed by). Keys are compared
 * after decoding escapes, so `"dom\u0061in"` is `"domain"`.
 *
 * To add or replace a member eventhub needs the byte span of each top-level member,
 * which json_scan_find() gives (keys compared decoded). Pure functions, any thread;
 * nothing here reads past `len`.
 */
#ifndef EVENTHUB_JSON_SCAN_H
#define EVENTHUB_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Objects and arrays nested deeper than this are refused (bounds the validator's stack). */
#define JSON_SCAN_MAX_DEPTH 64

struct json_member {
    size_t key_start;   /* offset of the opening quote of the key */
    size_t key_len;     /* length of the key including its quotes */
    size_t value_start; /* offset of the value's first byte */
    size_t value_len;   /* length of the value */
};

/* Why a text is not valid JSON: the byte offset and a static English phrase. */
struct json_error {
    size_t at;
    const char *what;
};

/*
 * True when json[0..len) is one JSON value (RFC 8259, with the rules above),
 * optionally surrounded by JSON whitespace. Else false and *err (may be NULL) says
 * where and why. Linear time; duplicate keys are found with a sort per object.
 */
bool json_scan_valid(const char *json, size_t len, struct json_error *err);

/*
 * Offset of the object's closing brace, or (size_t)-1 when `json` is not an object
 * (after leading/trailing whitespace).
 */
size_t json_scan_closing_brace(const char *json, size_t len);

/*
 * Finds the first top-level member whose key, escapes decoded, equals `key`.
 * Returns true and fills *out when found. The text should be valid JSON.
 */
bool json_scan_find(const char *json, size_t len, const char *key, struct json_member *out);

/*
 * Decodes the JSON string at json[start..start+len) (quotes included) into out
 * (cap bytes, NUL-terminated), escapes resolved to UTF-8. Returns the decoded length,
 * or (size_t)-1 when it is not a string or does not fit. The decoded text may contain
 * NUL bytes (from \u0000): compare the length with strlen() to find them.
 */
size_t json_scan_string(const char *json, size_t start, size_t len, char *out, size_t cap);

/*
 * Length of the well-formed UTF-8 sequence at s (1..4), or 0 when it is not one
 * (overlong forms, surrogates, past U+10FFFF, truncated). `left` >= 1.
 */
size_t json_utf8_sequence(const unsigned char *s, size_t left);

/* The value of one hex digit (0-9, a-f, A-F), or -1. */
int json_scan_hex_value(unsigned char c);

#endif
