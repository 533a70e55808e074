/*
 * http1 — see http1.h. Caller's thread.
 *
 * A small state machine: lines (status, headers, chunk sizes, trailers) are
 * accumulated in `line` up to its cap; body bytes are counted down against
 * Content-Length or the current chunk, and the first HTTP1_BODY_KEEP of them
 * are kept for the caller (it looks for "duplicate":true and error details).
 */
#include "http1.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum phase {
    PH_STATUS,
    PH_HEADERS,
    PH_BODY_LENGTH,
    PH_BODY_CLOSE,
    PH_CHUNK_SIZE,
    PH_CHUNK_DATA,
    PH_CHUNK_CRLF,
    PH_TRAILERS,
    PH_DONE,
};

void http1_resp_reset(struct http1_resp *p)
{
    p->phase = PH_STATUS;
    p->status = 0;
    p->keep_alive = true;
    p->chunked = false;
    p->have_length = false;
    p->remaining = 0;
    p->line_len = 0;
    p->body_len = 0;
    p->bytes_seen = 0;
    p->body[0] = '\0';
}

static void keep_body(struct http1_resp *p, const char *data, size_t n)
{
    size_t room = HTTP1_BODY_KEEP - p->body_len;
    size_t take = n < room ? n : room;
    memcpy(p->body + p->body_len, data, take);
    p->body_len += take;
    p->body[p->body_len] = '\0';
}

static int parse_status(struct http1_resp *p, const char *line)
{
    /* "HTTP/1.1 202 Accepted" */
    if (strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') || line[8] != ' ')
        return -1;
    char *end = NULL;
    long status = strtol(line + 9, &end, 10);
    if (end != line + 12 || status < 100 || status > 599)
        return -1;
    p->status = (int)status;
    p->keep_alive = line[7] == '1';
    return 0;
}

static int parse_header(struct http1_resp *p, char *line)
{
    char *colon = strchr(line, ':');
    if (colon == NULL)
        return -1;
    *colon = '\0';
    const char *value = colon + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strcasecmp(line, "Content-Length") == 0) {
        char *end = NULL;
        unsigned long long n = strtoull(value, &end, 10);
        if (end == value)
            return -1;
        p->remaining = n;
        p->have_length = true;
    } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
        p->chunked = strcasestr(value, "chunked") != NULL;
    } else if (strcasecmp(line, "Connection") == 0) {
        if (strcasestr(value, "close") != NULL)
            p->keep_alive = false;
        else if (strcasestr(value, "keep-alive") != NULL)
            p->keep_alive = true;
    }
    return 0;
}

/* After the blank line ending the headers: pick how the body is delimited. */
static enum phase body_phase(struct http1_resp *p)
{
    if (p->status < 200) {
        /* Interim answer (100 Continue): the real one follows. */
        bool keep = p->keep_alive;
        http1_resp_reset(p);
        p->keep_alive = keep;
        return PH_STATUS;
    }
    if (p->status == 204 || p->status == 304)
        return PH_DONE;
    if (p->chunked)
        return PH_CHUNK_SIZE;
    if (p->have_length)
        return p->remaining == 0 ? PH_DONE : PH_BODY_LENGTH;
    p->keep_alive = false;
    return PH_BODY_CLOSE;
}

/* Handles one complete line (without CRLF). Returns the next phase or -1. */
static int on_line(struct http1_resp *p, char *line)
{
    switch (p->phase) {
    case PH_STATUS:
        return parse_status(p, line) == 0 ? PH_HEADERS : -1;
    case PH_HEADERS:
        if (line[0] == '\0')
            return body_phase(p);
        return parse_header(p, line) == 0 ? PH_HEADERS : -1;
    case PH_CHUNK_SIZE: {
        char *end = NULL;
        unsigned long long n = strtoull(line, &end, 16);
        if (end == line)
            return -1;
        p->remaining = n;
        return n == 0 ? PH_TRAILERS : PH_CHUNK_DATA;
    }
    case PH_TRAILERS:
        return line[0] == '\0' ? PH_DONE : PH_TRAILERS;
    default:
        return -1;
    }
}

static bool in_line_phase(int phase)
{
    return phase == PH_STATUS || phase == PH_HEADERS || phase == PH_CHUNK_SIZE ||
           phase == PH_TRAILERS;
}

enum http1_result http1_resp_feed(struct http1_resp *p, const char *data, size_t len, size_t *used)
{
    size_t i = 0;
    p->bytes_seen += len;
    while (i < len && p->phase != PH_DONE) {
        if (in_line_phase(p->phase)) {
            char c = data[i++];
            if (c == '\n') {
                if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
                    p->line_len--;
                p->line[p->line_len] = '\0';
                p->line_len = 0;
                int next = on_line(p, p->line);
                if (next < 0) {
                    *used = i;
                    return HTTP1_ERROR;
                }
                p->phase = next;
            } else if (p->line_len + 1 >= HTTP1_LINE_MAX) {
                *used = i;
                return HTTP1_ERROR;
            } else {
                p->line[p->line_len++] = c;
            }
            continue;
        }
        size_t avail = len - i;
        if (p->phase == PH_BODY_CLOSE) {
            keep_body(p, data + i, avail);
            i = len;
            break;
        }
        if (p->phase == PH_CHUNK_CRLF) {
            char c = data[i++];
            if (c == '\n')
                p->phase = PH_CHUNK_SIZE;
            else if (c != '\r') {
                *used = i;
                return HTTP1_ERROR;
            }
            continue;
        }
        size_t n = avail < p->remaining ? avail : (size_t)p->remaining;
        keep_body(p, data + i, n);
        i += n;
        p->remaining -= n;
        if (p->remaining == 0)
            p->phase = p->phase == PH_CHUNK_DATA ? PH_CHUNK_CRLF : PH_DONE;
    }
    *used = i;
    return p->phase == PH_DONE ? HTTP1_COMPLETE : HTTP1_NEED_MORE;
}

enum http1_result http1_resp_eof(struct http1_resp *p)
{
    if (p->phase == PH_BODY_CLOSE) {
        p->phase = PH_DONE;
        return HTTP1_COMPLETE;
    }
    return p->phase == PH_DONE ? HTTP1_COMPLETE : HTTP1_ERROR;
}
