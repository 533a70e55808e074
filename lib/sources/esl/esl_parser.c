/*
 * esl_parser — Event Socket framing (see esl_event.h). Sans-I/O: bytes in, frames out.
 *
 * Owns: the partial state of one connection's byte stream. One parser per connection,
 * used only by the thread that reads that connection; no locks, no globals.
 *
 * A frame is a header block ("Name: value" lines, "\n" or "\r\n", ended by an empty
 * line) followed by exactly Content-Length body bytes when that header is present.
 * Outer header values are taken verbatim (FreeSWITCH does not URL-encode them:
 * "Reply-Text: +OK Job-UUID: ..."); only event bodies are URL-encoded.
 *
 * Invariants and costs:
 *  - Every input byte is looked at a bounded number of times: the header scan keeps
 *    its line state across feeds (a blank line split as "\r" | "\n" still counts),
 *    and only an unfinished header block is buffered (hbuf). Once the block is whole,
 *    the frame is allocated at its final size — struct, header array, header strings
 *    and body in one block — and body bytes are copied straight into it.
 *  - A header block whose end is not seen within max_frame_bytes, and a
 *    Content-Length that is not plain decimal or exceeds max_frame_bytes, are
 *    protocol errors (ESL_ERROR); so memory per parser stays below ~2 * max.
 *  - CR/LF bytes between frames are skipped; a header line without ':' or with a
 *    NUL byte is an error (garbage on the socket, not FreeSWITCH).
 *  - After an error the parser only answers ESL_ERROR until esl_parser_reset().
 */
#include "sources/esl/esl_event.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_FRAME ((size_t)4 << 20)
/* Keeps every size sum below SIZE_MAX, whatever the caller asks for. */
#define MAX_FRAME_LIMIT ((size_t)1 << 30)

enum parse_state { ST_HEADERS, ST_BODY, ST_FAILED };
/* What the current header line holds so far: nothing, a lone '\r', or text. */
enum line_state { LINE_START, LINE_CR, LINE_TEXT };

struct esl_parser {
    size_t max;
    enum parse_state state;
    /* ST_HEADERS */
    enum line_state line;
    size_t lines; /* non-empty lines completed in the current block */
    char *hbuf;   /* unfinished header block carried between feeds */
    size_t hlen, hcap;
    /* ST_BODY: the frame being filled */
    struct esl_frame *cur;
    char *body_dst;
    size_t body_have;
    char err[200];
};

static enum esl_status fail(struct esl_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum esl_status fail(struct esl_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    p->state = ST_FAILED;
    return ESL_ERROR;
}

/* A printable excerpt of untrusted bytes for error messages. */
static void excerpt(char *out, size_t cap, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n && i + 1 < cap; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[i] = '\0';
}

struct esl_parser *esl_parser_new(size_t max_frame_bytes)
{
    struct esl_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (max_frame_bytes == 0)
        max_frame_bytes = DEFAULT_MAX_FRAME;
    p->max = max_frame_bytes < MAX_FRAME_LIMIT ? max_frame_bytes : MAX_FRAME_LIMIT;
    return p;
}

void esl_parser_reset(struct esl_parser *p)
{
    if (!p)
        return;
    esl_frame_free(p->cur);
    p->cur = NULL;
    p->body_dst = NULL;
    p->body_have = 0;
    p->state = ST_HEADERS;
    p->line = LINE_START;
    p->lines = 0;
    free(p->hbuf); /* a reset is rare; do not keep a block grown by a bad peer */
    p->hbuf = NULL;
    p->hlen = p->hcap = 0;
    p->err[0] = '\0';
}

void esl_parser_free(struct esl_parser *p)
{
    if (!p)
        return;
    esl_frame_free(p->cur);
    free(p->hbuf);
    free(p);
}

const char *esl_parser_error(const struct esl_parser *p)
{
    return p->err;
}

void esl_frame_free(struct esl_frame *f)
{
    free(f); /* one block: struct, headers, strings, body */
}

const char *esl_frame_get(const struct esl_frame *f, const char *name)
{
    for (size_t i = 0; i < f->header_count; i++)
        if (strcasecmp(f->headers[i].name, name) == 0)
            return f->headers[i].value;
    return NULL;
}

/*
 * Follows the line state over s[0..n). Returns the offset just past the '\n' of the
 * empty line that ends the header block, or 0 when the block does not end in s.
 * The block never starts with an empty line (feed skips CR/LF between frames).
 */
static size_t scan_block(struct esl_parser *p, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t k = nl ? (size_t)(nl - s) : n;
        if (k > i) {
            if (p->line == LINE_START && k - i == 1 && s[i] == '\r')
                p->line = LINE_CR;
            else
                p->line = LINE_TEXT;
        }
        if (!nl)
            return 0;
        if (p->line != LINE_TEXT) {
            p->line = LINE_START;
            return k + 1;
        }
        p->lines++;
        p->line = LINE_START;
        i = k + 1;
    }
    return 0;
}

static bool hbuf_append(struct esl_parser *p, const char *s, size_t n)
{
    if (p->hlen + n > p->hcap) {
        size_t cap = p->hcap ? p->hcap * 2 : 512;
        if (cap < p->hlen + n)
            cap = p->hlen + n;
        char *nb = realloc(p->hbuf, cap);
        if (!nb)
            return false;
        p->hbuf = nb;
        p->hcap = cap;
    }
    memcpy(p->hbuf + p->hlen, s, n);
    p->hlen += n;
    return true;
}

/* A Content-Length value: digits, optionally surrounded by blanks; at most max. */
static bool parse_length(const char *s, size_t n, size_t max, size_t *out)
{
    size_t i = 0, v = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t digits = i;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (size_t)(s[i] - '0');
        if (v > max)
            return false;
    }
    if (i == digits)
        return false;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
        i++;
    *out = v;
    return i == n;
}

/*
 * Validates the complete header block b[0..n) (p->lines lines, then the empty line)
 * and finds its Content-Length. Returns false after fail().
 */
static bool check_block(struct esl_parser *p, const char *b, size_t n, bool *has_body,
                        size_t *body_len)
{
    *has_body = false;
    *body_len = 0;
    if (memchr(b, '\0', n)) {
        fail(p, "NUL byte in a frame header block");
        return false;
    }
    const char *s = b;
    for (size_t l = 0; l < p->lines; l++) {
        const char *nl = memchr(s, '\n', (size_t)(b + n - s));
        size_t len = (size_t)(nl - s); /* scan_block counted this line's '\n' */
        const char *colon = memchr(s, ':', len);
        char ex[48];
        if (!colon || colon == s) {
            excerpt(ex, sizeof ex, s, len);
            fail(p, "malformed frame header line \"%s\"", ex);
            return false;
        }
        if ((size_t)(colon - s) == 14 && strncasecmp(s, "Content-Length", 14) == 0) {
            size_t v = 0, vlen = len - 15;
            if (!parse_length(colon + 1, vlen, p->max, &v)) {
                const char *val = colon + 1;
                while (vlen > 0 && *val == ' ') {
                    val++;
                    vlen--;
                }
                excerpt(ex, sizeof ex, val, vlen);
                fail(p, "bad Content-Length \"%s\" (want a decimal number <= %zu)", ex, p->max);
                return false;
            }
            if (*has_body && v != *body_len) {
                fail(p, "conflicting Content-Length headers (%zu, %zu)", *body_len, v);
                return false;
            }
            *has_body = true;
            *body_len = v;
        }
        s = nl + 1;
    }
    return true;
}

/* Splits a copy of the checked block into name/value strings in place. */
static void split_block(struct esl_frame *f, char *s)
{
    static const char empty[] = "";
    f->content_type = empty;
    for (size_t l = 0; l < f->header_count; l++) {
        char *nl = strchr(s, '\n'); /* present: counted by scan_block, no NUL inside */
        char *end = nl;
        if (end > s && end[-1] == '\r')
            end--;
        *end = '\0';
        char *colon = strchr(s, ':');
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        f->headers[l].name = s;
        f->headers[l].value = v;
        if (f->content_type == empty && strcasecmp(s, "Content-Type") == 0)
            f->content_type = v;
        s = nl + 1;
    }
}

/* Allocates the frame for the block b[0..n); state becomes ST_BODY. */
static bool start_frame(struct esl_parser *p, const char *b, size_t n)
{
    bool has_body;
    size_t body_len;
    if (!check_block(p, b, n, &has_body, &body_len))
        return false;
    size_t hdr_bytes = p->lines * sizeof(struct esl_header);
    size_t total = sizeof(struct esl_frame) + hdr_bytes + n + 1 + (has_body ? body_len + 1 : 0);
    struct esl_frame *f = malloc(total);
    if (!f) {
        fail(p, "out of memory for a %zu-byte frame", total);
        return false;
    }
    f->headers = (struct esl_header *)(f + 1);
    f->header_count = p->lines;
    char *arena = (char *)f->headers + hdr_bytes;
    memcpy(arena, b, n);
    arena[n] = '\0';
    split_block(f, arena);
    f->body = NULL;
    f->body_len = body_len;
    p->body_dst = NULL;
    if (has_body) {
        p->body_dst = arena + n + 1;
        f->body = p->body_dst;
    }
    p->cur = f;
    p->body_have = 0;
    p->state = ST_BODY;
    p->lines = 0;
    p->hlen = 0;
    return true;
}

enum esl_status esl_parser_feed(struct esl_parser *p, const char *data, size_t len,
                                size_t *consumed, struct esl_frame **frame)
{
    size_t pos = 0;
    *consumed = 0;
    *frame = NULL;
    if (p->state == ST_FAILED)
        return ESL_ERROR;

    if (p->state == ST_HEADERS) {
        if (p->hlen == 0)
            while (pos < len && (data[pos] == '\n' || data[pos] == '\r'))
                pos++;
        if (pos == len) {
            *consumed = len;
            return ESL_NEED_MORE;
        }
        size_t end = scan_block(p, data + pos, len - pos);
        size_t block = p->hlen + (end ? end : len - pos);
        if (block > p->max)
            return fail(p, "frame header block exceeds %zu bytes without an empty line", p->max);
        if (!end) {
            if (!hbuf_append(p, data + pos, len - pos))
                return fail(p, "out of memory buffering a frame header block");
            *consumed = len;
            return ESL_NEED_MORE;
        }
        bool ok;
        if (p->hlen) {
            if (!hbuf_append(p, data + pos, end))
                return fail(p, "out of memory buffering a frame header block");
            ok = start_frame(p, p->hbuf, p->hlen);
        } else {
            ok = start_frame(p, data + pos, end); /* whole block in this feed: no copy */
        }
        if (!ok)
            return ESL_ERROR;
        pos += end;
    }

    /* ST_BODY */
    struct esl_frame *f = p->cur;
    if (f->body) {
        size_t take = f->body_len - p->body_have;
        if (take > len - pos)
            take = len - pos;
        if (take)
            memcpy(p->body_dst + p->body_have, data + pos, take);
        p->body_have += take;
        pos += take;
        if (p->body_have < f->body_len) {
            *consumed = len;
            return ESL_NEED_MORE;
        }
        p->body_dst[f->body_len] = '\0';
    }
    p->cur = NULL;
    p->body_dst = NULL;
    p->state = ST_HEADERS;
    *frame = f;
    *consumed = pos;
    return ESL_FRAME;
}

bool esl_parser_mid_frame(const struct esl_parser *p)
{
    return (p->state == ST_HEADERS && (p->hlen > 0 || p->lines > 0)) || p->state == ST_BODY;
}
