/*
 * fuzz_esl — esl_parser + esl_event: Event Socket bytes as FreeSWITCH sends them.
 *
 * The first input byte picks the frame cap (bit 0: 256 bytes, else 1 MiB) and how the
 * rest is split across feeds (bits 1-7: pieces of 1..127 bytes, 0: all at once); a
 * protocol error resets the parser, as a reconnect would. Every frame is decoded and
 * serialised, and the JSON must parse back with cJSON. Seeds: the captures of
 * tests/unit/fixtures/esl, cut at frame boundaries (tests/fuzz/make_seeds.py).
 */
#include "sources/esl/esl_event.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_frame(struct esl_frame *f)
{
    char err[128];
    struct esl_event *ev = esl_event_from_frame(f, err, sizeof err);
    if (ev) {
        char *json = esl_event_to_json(ev);
        if (json) {
            cJSON *root = cJSON_Parse(json);
            if (!root)
                abort(); /* to_json must always produce valid JSON */
            cJSON_Delete(root);
        }
        free(json);
        (void)esl_event_get(ev, "Event-Name");
    }
    esl_event_free(ev);
    (void)esl_frame_get(f, "Content-Type");
    esl_frame_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    struct esl_parser *p = esl_parser_new(mode & 1 ? 256 : 1 << 20);
    size_t piece = (mode >> 1) == 0 ? len + 1 : (mode >> 1); /* 1..127 bytes, or all */
    for (size_t off = 0; off < len;) {
        size_t n = len - off < piece ? len - off : piece;
        const char *s = in + off;
        off += n;
        while (n > 0) {
            size_t used = 0;
            struct esl_frame *f = NULL;
            enum esl_status st = esl_parser_feed(p, s, n, &used, &f);
            if (used > n)
                abort();
            if (st == ESL_ERROR) {
                esl_parser_reset(p);
                break; /* drop this piece, as a reconnect would */
            }
            s += used;
            n -= used;
            if (f)
                use_frame(f);
        }
    }
    esl_parser_free(p);
    return 0;
}
