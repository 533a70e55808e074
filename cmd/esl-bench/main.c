/*
 * esl-bench — throughput of the Event Socket parser and event decoder on a captured
 * stream (the captures in tests/unit/fixtures/esl), with no sockets.
 *
 * Replays the file N times through one parser, fed in CHUNK-byte pieces as read()
 * would deliver them; decodes every event frame. Measures two passes: parse-only
 * (framing + decoding) and parse + esl_event_to_json. Single thread.
 *
 * usage: esl-bench [-n ITERATIONS] [-c CHUNK_BYTES] FILE
 */
#include "sources/esl/esl_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct totals {
    size_t frames, events, json_bytes;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1))) {
            *len = fread(buf, 1, (size_t)size, f);
            if (*len != (size_t)size) {
                free(buf);
                buf = NULL;
            }
        }
    }
    fclose(f);
    return buf;
}

static bool is_event(const struct esl_frame *f)
{
    return strncasecmp(f->content_type, "text/event-", 11) == 0;
}

/* One replay of data through p. Returns false on a parse or decode error. */
static bool replay(struct esl_parser *p, const char *data, size_t len, size_t chunk, bool to_json,
                   struct totals *t)
{
    for (size_t off = 0; off < len;) {
        size_t n = len - off < chunk ? len - off : chunk;
        const char *piece = data + off;
        off += n;
        while (n > 0) {
            size_t used;
            struct esl_frame *f;
            enum esl_status st = esl_parser_feed(p, piece, n, &used, &f);
            if (st == ESL_ERROR) {
                fprintf(stderr, "esl-bench: %s\n", esl_parser_error(p));
                return false;
            }
            piece += used;
            n -= used;
            if (st != ESL_FRAME)
                continue;
            t->frames++;
            if (is_event(f)) {
                char err[128];
                struct esl_event *ev = esl_event_from_frame(f, err, sizeof err);
                if (!ev) {
                    fprintf(stderr, "esl-bench: %s\n", err);
                    esl_frame_free(f);
                    return false;
                }
                t->events++;
                if (to_json) {
                    char *json = esl_event_to_json(ev);
                    t->json_bytes += json ? strlen(json) : 0;
                    free(json);
                }
                esl_event_free(ev);
            }
            esl_frame_free(f);
        }
    }
    return true;
}

static int run(const char *label, const char *data, size_t len, size_t iters, size_t chunk,
               bool to_json)
{
    struct esl_parser *p = esl_parser_new((size_t)16 << 20);
    struct totals t = {0};
    if (!p)
        return 1;
    double t0 = now_s();
    bool ok = true;
    for (size_t i = 0; i < iters && ok; i++)
        ok = replay(p, data, len, chunk, to_json, &t);
    double dt = now_s() - t0;
    esl_parser_free(p);
    if (!ok)
        return 1;
    printf("%-16s %8zu events %7zu frames  %10.0f events/s  %7.1f ns/event  %7.1f MB/s", label,
           t.events, t.frames, (double)t.events / dt, dt * 1e9 / (double)t.events,
           (double)len * (double)iters / dt / 1e6);
    if (to_json)
        printf("  %.0f B json/event", (double)t.json_bytes / (double)t.events);
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    size_t iters = 200, chunk = 65536;
    int opt;
    while ((opt = getopt(argc, argv, "n:c:")) != -1) {
        char *end;
        unsigned long v = strtoul(optarg, &end, 10);
        if (*end || v == 0) {
            fprintf(stderr, "esl-bench: -%c wants a positive number\n", opt);
            return 2;
        }
        if (opt == 'n')
            iters = v;
        else
            chunk = v;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: esl-bench [-n ITERATIONS] [-c CHUNK_BYTES] FILE\n");
        return 2;
    }
    size_t len = 0;
    char *data = load(argv[optind], &len);
    if (!data) {
        perror(argv[optind]);
        return 1;
    }
    printf("%s: %zu bytes x %zu replays, fed in %zu-byte chunks\n", argv[optind], len, iters,
           chunk);
    int rc = run("parse", data, len, iters, chunk, false);
    if (rc == 0)
        rc = run("parse+to_json", data, len, iters, chunk, true);
    free(data);
    return rc;
}
