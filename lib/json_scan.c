/* json_scan — see json_scan.h. */
#include "json_scan.h"

#include <string.h>

static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* i at an opening quote; returns the offset just past the closing quote. */
static size_t skip_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return len;
}

/* i at a value's first byte; returns the offset just past the value. */
static size_t skip_value(const char *s, size_t len, size_t i)
{
    if (i >= len)
        return len;
    if (s[i] == '"')
        return skip_string(s, len, i);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < len) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, len, i);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return i + 1;
            }
            i++;
        }
        return len;
    }
    /* number, true, false, null */
    while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
           s[i] != '\n' && s[i] != '\r')
        i++;
    return i;
}

size_t json_scan_closing_brace(const char *json, size_t len)
{
    size_t start = skip_ws(json, len, 0);
    if (start >= len || json[start] != '{')
        return (size_t)-1;
    size_t end = len;
    while (end > start && (json[end - 1] == ' ' || json[end - 1] == '\t' || json[end - 1] == '\n' ||
                           json[end - 1] == '\r'))
        end--;
    if (end == start || json[end - 1] != '}')
        return (size_t)-1;
    return end - 1;
}

bool json_scan_find(const char *json, size_t len, const char *key, struct json_member *out)
{
    size_t key_len = strlen(key);
    size_t i = skip_ws(json, len, 0);
    if (i >= len || json[i] != '{')
        return false;
    i = skip_ws(json, len, i + 1);
    while (i < len && json[i] == '"') {
        size_t key_start = i;
        size_t key_end = skip_string(json, len, i);
        i = skip_ws(json, len, key_end);
        if (i >= len || json[i] != ':')
            return false;
        i = skip_ws(json, len, i + 1);
        size_t value_start = i;
        size_t value_end = skip_value(json, len, i);
        if (key_end - key_start == key_len + 2 && memcmp(json + key_start + 1, key, key_len) == 0) {
            out->key_start = key_start;
            out->key_len = key_end - key_start;
            out->value_start = value_start;
            out->value_len = value_end - value_start;
            return true;
        }
        i = skip_ws(json, len, value_end);
        if (i < len && json[i] == ',')
            i = skip_ws(json, len, i + 1);
        else
            break;
    }
    return false;
}

/* Length of the UTF-8 sequence at s (1..4), or 0 when it is not well-formed. */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        min = 0x80;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        min = 0x800;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        min = 0x10000;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

bool json_scan_text_ok(const char *json, size_t len, size_t *at)
{
    const unsigned char *s = (const unsigned char *)json;
    bool in_string = false;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t n = utf8_sequence(s + i, len - i);
            if (n == 0) {
                *at = i;
                return false;
            }
            i += n;
            continue;
        }
        if (in_string) {
            if (c < 0x20) {
                *at = i;
                return false;
            }
            if (c == '\\')
                i++; /* the escaped byte is checked by cJSON's escape rules */
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            *at = i;
            return false;
        }
        i++;
    }
    return true;
}
