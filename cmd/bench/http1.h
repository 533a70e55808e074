/*
 * http1 — sans-I/O HTTP/1.1 response parser for the load generator: bytes in,
 * "need more", "complete" or "error" out. Knows Content-Length, chunked bodies,
 * bodies that end at connection close, 1xx interim answers and keep-alive
 * rules. Every size from the network is capped: a header line at
 * HTTP1_LINE_MAX, the kept body prefix at HTTP1_BODY_KEEP (the rest is counted
 * and dropped).
 *
 * Pure data structure; each connection owns one, on the load generator thread.
 */
#ifndef BENCH_HTTP1_H
#define BENCH_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_LINE_MAX 1024
#define HTTP1_BODY_KEEP 256

enum http1_result {
    HTTP1_NEED_MORE,
    HTTP1_COMPLETE,
    HTTP1_ERROR,
};

struct http1_resp {
    int phase;
    int status;
    bool keep_alive;
    bool chunked;
    bool have_length;
    uint64_t remaining; /* body or chunk bytes still to come */
    size_t line_len;
    size_t body_len;   /* bytes kept in body */
    size_t bytes_seen; /* anything received for this response */
    char line[HTTP1_LINE_MAX];
    char body[HTTP1_BODY_KEEP + 1]; /* NUL-terminated prefix of the body */
};

void http1_resp_reset(struct http1_resp *p);
/* Consumes bytes; *used tells how many (less than len only when complete or
 * on error). */
enum http1_result http1_resp_feed(struct http1_resp *p, const char *data, size_t len, size_t *used);
/* The peer closed the connection: completes a body delimited by close. */
enum http1_result http1_resp_eof(struct http1_resp *p);

#endif
