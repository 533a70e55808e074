/*
 * fuzz_dlq_record — stored dead-letter records and stream messages, read back.
 *
 * The input is a message's data as JetStream returns it. dlq_record_parse() (what a
 * replay reads: the embedded event's span, event_id, stream, stream_seq, kind) must
 * keep the event's span inside the text and starting at '{'; the event found is then
 * checked as a replay does (event_inspect) and, when valid, given its delivery
 * attempt. The same bytes as the browsing APIs show them — stream_scan_add_data(),
 * the "record" of GET /api/dlq and the "data" of GET /api/stream/messages — must print
 * as JSON that parses back: data embedded raw must really be a JSON text. (Not through
 * a natsMsg: nats.c frees those on its own thread, which libFuzzer takes for leaks.)
 */
#include "delivery/dlq_replay.h"
#include "core/event.h"
#include "nats/stream_scan.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* `o` prints as JSON that cJSON parses back; deletes it. */
static void check_prints(cJSON *o)
{
    check(o != NULL);
    char *text = cJSON_PrintUnformatted(o);
    check(text != NULL);
    cJSON *back = cJSON_Parse(text);
    check(back != NULL);
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct dlq_record rec;
    cJSON *root = dlq_record_parse(text, size, &rec);
    if (root) {
        if (rec.event) {
            check(rec.event >= text && rec.event_len > 0);
            check((size_t)(rec.event - text) + rec.event_len <= size);
            check(rec.event[0] == '{');
            struct event_info info;
            if (event_inspect(rec.event, rec.event_len, &info) == EVENT_OK) {
                size_t out_len = 0;
                char *out = event_with_attempt(rec.event, rec.event_len, 1, &out_len);
                check(out != NULL);
                cJSON *o = cJSON_ParseWithLength(out, out_len);
                check(cJSON_IsObject(o));
                cJSON_Delete(o);
                free(out);
            }
        }
        check(rec.stream_seq <= UINT64_C(9007199254740992));
        cJSON_Delete(root);
    } else {
        check(!rec.event && !rec.event_id && rec.stream_seq == 0);
    }

    cJSON *o = cJSON_CreateObject();
    check(stream_scan_add_data(o, "record", text, size));
    check_prints(o);
    return 0;
}
