/*
 * json_scan — finds the top-level members of a JSON object in its original bytes.
 *
 * eventhub never re-serialises an event: the bytes a sender gave are the bytes
 * stored and delivered (a 20-digit number keeps its digits, escapes stay as sent).
 * To add or replace a member it needs the byte span of each top-level member, which
 * this scanner gives. The input must already be valid JSON (checked by cJSON first);
 * the scanner still never reads past `len`. Pure functions, any thread.
 */
#ifndef EVENTHUB_JSON_SCAN_H
#define EVENTHUB_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

struct json_member {
    size_t key_start;   /* offset of the opening quote of the key */
    size_t key_len;     /* length of the key including its quotes */
    size_t value_start; /* offset of the value's first byte */
    size_t value_len;   /* length of the value */
};

/*
 * Offset of the object's closing brace, or (size_t)-1 when `json` is not an object
 * (after leading/trailing whitespace).
 */
size_t json_scan_closing_brace(const char *json, size_t len);

/*
 * Finds the first top-level member whose raw key (between the quotes, as written,
 * escapes not decoded) equals `key`. Returns true and fills *out when found.
 */
bool json_scan_find(const char *json, size_t len, const char *key, struct json_member *out);

/*
 * Checks what cJSON does not: the text is well-formed UTF-8 (no overlong forms,
 * surrogates or code points past U+10FFFF) and has no raw control characters inside
 * strings, nor any outside them but JSON whitespace (RFC 8259 sections 7 and 8.1).
 * Returns true when clean; else false and the offending byte offset in *at.
 */
bool json_scan_text_ok(const char *json, size_t len, size_t *at);

#endif
