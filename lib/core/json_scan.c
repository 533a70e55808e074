/*
 * json_scan — see json_scan.h. The validator is a recursive descent over the bytes
 * (depth capped at JSON_SCAN_MAX_DEPTH); the keys of the objects being read sit on
 * one growing stack, each object's keys a contiguous run at its top, checked for
 * duplicates when the object closes and popped.
 */
#include "core/json_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t json_utf8_sequence(const unsigned char *s, size_t left)
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

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

int json_scan_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The 4 hex digits at s[i..i+4) as a code unit, or -1. */
static long hex4(const unsigned char *s, size_t len, size_t i)
{
    if (i + 4 > len)
        return -1;
    long v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = json_scan_hex_value(s[i + k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/*
 * The next code point of an already validated string body at s[*i] (not at the
 * closing quote); advances *i. Escapes and UTF-8 are decoded.
 */
static uint32_t next_code_point(const unsigned char *s, size_t len, size_t *i)
{
    size_t p = *i;
    if (s[p] == '\\') {
        unsigned char e = s[p + 1];
        *i = p + 2;
        switch (e) {
        case 'b':
            return '\b';
        case 'f':
            return '\f';
        case 'n':
            return '\n';
        case 'r':
            return '\r';
        case 't':
            return '\t';
        case 'u': {
            uint32_t cp = (uint32_t)hex4(s, len, p + 2);
            *i = p + 6;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t lo = (uint32_t)hex4(s, len, p + 8);
                *i = p + 12;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            return cp;
        }
        default:
            return e; /* " \ / */
        }
    }
    size_t n = json_utf8_sequence(s + p, len - p);
    if (n == 0)
        n = 1; /* not reached on validated text */
    uint32_t cp = n == 1 ? s[p] : (uint32_t)(s[p] & (0x7f >> n));
    for (size_t k = 1; k < n; k++)
        cp = (cp << 6) | (s[p + k] & 0x3f);
    *i = p + n;
    return cp;
}

/* ---- the validator ---- */

struct key_span {
    size_t start; /* first byte after the opening quote */
    size_t end;   /* offset of the closing quote */
    uint64_t hash;
};

struct validator {
    const unsigned char *s;
    size_t len;
    size_t i;
    struct json_error err;
    struct key_span *keys;
    size_t nkeys, cap;
    struct key_span inline_keys[32];
};

static bool fail(struct validator *v, size_t at, const char *what)
{
    v->err.at = at;
    v->err.what = what;
    return false;
}

static void skip_ws(struct validator *v)
{
    while (v->i < v->len && is_ws(v->s[v->i]))
        v->i++;
}

/* Validates the string at v->i (an opening quote); fills *key when not NULL. */
static bool read_string(struct validator *v, struct key_span *key)
{
    const unsigned char *s = v->s;
    size_t start = ++v->i;
    while (v->i < v->len) {
        unsigned char c = s[v->i];
        if (c == '"') {
            if (key) {
                key->start = start;
                key->end = v->i;
                /* FNV-1a over the decoded code points, escaped or not: "\u00e9" and
                 * a raw U+00E9 are the same key and must hash alike. */
                uint64_t h = 1469598103934665603ULL;
                size_t k = start;
                while (k < v->i) {
                    uint32_t cp = next_code_point(s, v->len, &k);
                    h = (h ^ cp) * 1099511628211ULL;
                }
                key->hash = h;
            }
            v->i++;
            return true;
        }
        if (c == '\\') {
            size_t at = v->i;
            if (v->i + 1 >= v->len)
                return fail(v, at, "unterminated string");
            unsigned char e = s[v->i + 1];
            if (e == 'u') {
                long cu = hex4(s, v->len, v->i + 2);
                if (cu < 0)
                    return fail(v, at, "\\u must be followed by 4 hex digits");
                v->i += 6;
                if (cu >= 0xdc00 && cu <= 0xdfff)
                    return fail(v, at, "unpaired UTF-16 surrogate escape");
                if (cu >= 0xd800 && cu <= 0xdbff) {
                    long lo = v->i + 1 < v->len && s[v->i] == '\\' && s[v->i + 1] == 'u'
                                  ? hex4(s, v->len, v->i + 2)
                                  : -1;
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return fail(v, at, "unpaired UTF-16 surrogate escape");
                    v->i += 6;
                }
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                       e == 'r' || e == 't') {
                v->i += 2;
            } else {
                return fail(v, at, "invalid escape in a string");
            }
            continue;
        }
        if (c < 0x20)
            return fail(v, v->i, "raw control character in a string (it must be escaped)");
        if (c >= 0x80) {
            size_t n = json_utf8_sequence(s + v->i, v->len - v->i);
            if (n == 0)
                return fail(v, v->i, "invalid UTF-8");
            v->i += n;
            continue;
        }
        v->i++;
    }
    return fail(v, start - 1, "unterminated string");
}

static bool read_number(struct validator *v)
{
    const unsigned char *s = v->s;
    size_t at = v->i;
    if (s[v->i] == '-')
        v->i++;
    if (v->i >= v->len || !is_digit(s[v->i]))
        return fail(v, at, "a number must start with a digit");
    if (s[v->i] == '0') {
        v->i++;
        if (v->i < v->len && is_digit(s[v->i]))
            return fail(v, at, "leading zeros are not allowed in numbers");
    } else {
        while (v->i < v->len && is_digit(s[v->i]))
            v->i++;
    }
    if (v->i < v->len && s[v->i] == '.') {
        v->i++;
        if (v->i >= v->len || !is_digit(s[v->i]))
            return fail(v, at, "a decimal point must be followed by digits");
        while (v->i < v->len && is_digit(s[v->i]))
            v->i++;
    }
    if (v->i < v->len && (s[v->i] == 'e' || s[v->i] == 'E')) {
        v->i++;
        if (v->i < v->len && (s[v->i] == '+' || s[v->i] == '-'))
            v->i++;
        if (v->i >= v->len || !is_digit(s[v->i]))
            return fail(v, at, "an exponent must have digits");
        while (v->i < v->len && is_digit(s[v->i]))
            v->i++;
    }
    return true;
}

static bool read_literal(struct validator *v, const char *word)
{
    size_t n = strlen(word);
    if (v->len - v->i < n || memcmp(v->s + v->i, word, n) != 0)
        return fail(v, v->i, "unexpected character (not a JSON value)");
    v->i += n;
    return true;
}

static bool keys_equal(const unsigned char *s, size_t len, const struct key_span *a,
                       const struct key_span *b)
{
    size_t i = a->start, j = b->start;
    while (i < a->end && j < b->end) {
        if (next_code_point(s, len, &i) != next_code_point(s, len, &j))
            return false;
    }
    return i == a->end && j == b->end;
}

static int by_hash(const void *x, const void *y)
{
    const struct key_span *a = x, *b = y;
    return a->hash < b->hash ? -1 : a->hash > b->hash;
}

/* Checks the keys base..nkeys of the object just closed; pops them. */
static bool check_duplicates(struct validator *v, size_t base)
{
    struct key_span *k = v->keys + base;
    size_t n = v->nkeys - base;
    v->nkeys = base;
    if (n > 8)
        qsort(k, n, sizeof *k, by_hash);
    for (size_t a = 0; a < n; a++) {
        for (size_t b = a + 1; b < n; b++) {
            if (k[a].hash != k[b].hash) {
                if (n > 8)
                    break; /* sorted: no later key shares the hash */
                continue;
            }
            if (keys_equal(v->s, v->len, &k[a], &k[b])) {
                size_t later = k[a].start > k[b].start ? k[a].start : k[b].start;
                return fail(v, later - 1, "duplicate key in an object");
            }
        }
    }
    return true;
}

static bool push_key(struct validator *v, const struct key_span *key)
{
    if (v->nkeys == v->cap) {
        size_t cap = v->cap * 2;
        struct key_span *grown = malloc(cap * sizeof *grown);
        if (!grown)
            return fail(v, key->start - 1, "out of memory while checking keys");
        memcpy(grown, v->keys, v->nkeys * sizeof *grown);
        if (v->keys != v->inline_keys)
            free(v->keys);
        v->keys = grown;
        v->cap = cap;
    }
    v->keys[v->nkeys++] = *key;
    return true;
}

static bool read_value(struct validator *v, int depth);

static bool read_object(struct validator *v, int depth)
{
    size_t base = v->nkeys;
    v->i++;
    skip_ws(v);
    if (v->i < v->len && v->s[v->i] == '}') {
        v->i++;
        return true;
    }
    for (;;) {
        if (v->i >= v->len)
            return fail(v, v->i, "unterminated object");
        if (v->s[v->i] != '"')
            return fail(v, v->i, "expected a string key");
        struct key_span key;
        if (!read_string(v, &key) || !push_key(v, &key))
            return false;
        skip_ws(v);
        if (v->i >= v->len || v->s[v->i] != ':')
            return fail(v, v->i, "expected ':' after a key");
        v->i++;
        skip_ws(v);
        if (!read_value(v, depth + 1))
            return false;
        skip_ws(v);
        if (v->i >= v->len)
            return fail(v, v->i, "unterminated object");
        if (v->s[v->i] == '}') {
            v->i++;
            return check_duplicates(v, base);
        }
        if (v->s[v->i] != ',')
            return fail(v, v->i, "expected ',' or '}'");
        v->i++;
        skip_ws(v);
    }
}

static bool read_array(struct validator *v, int depth)
{
    v->i++;
    skip_ws(v);
    if (v->i < v->len && v->s[v->i] == ']') {
        v->i++;
        return true;
    }
    for (;;) {
        if (!read_value(v, depth + 1))
            return false;
        skip_ws(v);
        if (v->i >= v->len)
            return fail(v, v->i, "unterminated array");
        if (v->s[v->i] == ']') {
            v->i++;
            return true;
        }
        if (v->s[v->i] != ',')
            return fail(v, v->i, "expected ',' or ']'");
        v->i++;
        skip_ws(v);
    }
}

static bool read_value(struct validator *v, int depth)
{
    if (v->i >= v->len)
        return fail(v, v->i, "expected a value");
    unsigned char c = v->s[v->i];
    if ((c == '{' || c == '[') && depth >= JSON_SCAN_MAX_DEPTH)
        return fail(v, v->i, "nested too deeply");
    switch (c) {
    case '"':
        return read_string(v, NULL);
    case '{':
        return read_object(v, depth);
    case '[':
        return read_array(v, depth);
    case 't':
        return read_literal(v, "true");
    case 'f':
        return read_literal(v, "false");
    case 'n':
        return read_literal(v, "null");
    case '-':
        return read_number(v);
    case '+':
        return fail(v, v->i, "a number must not start with '+'");
    case '.':
        return fail(v, v->i, "a number must start with a digit");
    case 'N':
    case 'I':
        return fail(v, v->i, "NaN and Infinity are not JSON numbers");
    default:
        if (is_digit(c))
            return read_number(v);
        if (c == 0xef && v->i == 0)
            return fail(v, 0, "a byte order mark is not allowed before JSON text");
        return fail(v, v->i, "unexpected character (not a JSON value)");
    }
}

bool json_scan_valid(const char *json, size_t len, struct json_error *err)
{
    struct validator v = {.s = (const unsigned char *)json, .len = len};
    v.keys = v.inline_keys;
    v.cap = sizeof v.inline_keys / sizeof v.inline_keys[0];
    skip_ws(&v);
    bool ok;
    if (v.i >= len) {
        ok = fail(&v, v.i, "no JSON value");
    } else {
        ok = read_value(&v, 0);
        if (ok) {
            skip_ws(&v);
            if (v.i < len)
                ok = fail(&v, v.i, "unexpected data after the JSON value");
        }
    }
    if (v.keys != v.inline_keys)
        free(v.keys);
    if (!ok && err)
        *err = v.err;
    return ok;
}

/* ---- member lookup in valid text ---- */

static size_t skip_ws_at(const char *s, size_t len, size_t i)
{
    while (i < len && is_ws((unsigned char)s[i]))
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
    while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_ws((unsigned char)s[i]))
        i++;
    return i;
}

size_t json_scan_closing_brace(const char *json, size_t len)
{
    size_t start = skip_ws_at(json, len, 0);
    if (start >= len || json[start] != '{')
        return (size_t)-1;
    size_t end = len;
    while (end > start && is_ws((unsigned char)json[end - 1]))
        end--;
    if (end == start || json[end - 1] != '}')
        return (size_t)-1;
    return end - 1;
}

static size_t put_utf8(uint32_t cp, char *out);

/* Whether the key between quotes at json[start..end) decodes to `key` (UTF-8). */
static bool key_is(const char *json, size_t len, size_t start, size_t end, const char *key,
                   size_t key_len)
{
    if (!memchr(json + start, '\\', end - start))
        return end - start == key_len && memcmp(json + start, key, key_len) == 0;
    size_t i = start, j = 0;
    while (i < end) {
        char buf[4];
        size_t n = put_utf8(next_code_point((const unsigned char *)json, len, &i), buf);
        if (j + n > key_len || memcmp(key + j, buf, n) != 0)
            return false;
        j += n;
    }
    return j == key_len;
}

bool json_scan_find(const char *json, size_t len, const char *key, struct json_member *out)
{
    size_t key_len = strlen(key);
    size_t i = skip_ws_at(json, len, 0);
    if (i >= len || json[i] != '{')
        return false;
    i = skip_ws_at(json, len, i + 1);
    while (i < len && json[i] == '"') {
        size_t key_start = i;
        size_t key_end = skip_string(json, len, i);
        i = skip_ws_at(json, len, key_end);
        if (i >= len || json[i] != ':')
            return false;
        i = skip_ws_at(json, len, i + 1);
        size_t value_start = i;
        size_t value_end = skip_value(json, len, i);
        if (key_end >= key_start + 2 &&
            key_is(json, len, key_start + 1, key_end - 1, key, key_len)) {
            out->key_start = key_start;
            out->key_len = key_end - key_start;
            out->value_start = value_start;
            out->value_len = value_end - value_start;
            return true;
        }
        i = skip_ws_at(json, len, value_end);
        if (i < len && json[i] == ',')
            i = skip_ws_at(json, len, i + 1);
        else
            break;
    }
    return false;
}

static size_t put_utf8(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t json_scan_string(const char *json, size_t start, size_t len, char *out, size_t cap)
{
    if (len < 2 || json[start] != '"' || json[start + len - 1] != '"' || cap == 0)
        return (size_t)-1;
    const unsigned char *s = (const unsigned char *)json;
    size_t end = start + len - 1;
    size_t i = start + 1, o = 0;
    while (i < end) {
        uint32_t cp = next_code_point(s, end, &i);
        char buf[4];
        size_t n = put_utf8(cp, buf);
        if (o + n >= cap)
            return (size_t)-1;
        memcpy(out + o, buf, n);
        o += n;
    }
    out[o] = '\0';
    return o;
}
