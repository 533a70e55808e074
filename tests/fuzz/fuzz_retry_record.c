/*
 * fuzz_retry_record — retry_record_read: the headers of a parked delivery read back
 * from the retry stream (anyone with publish rights on the retry subjects can put a
 * message there).
 *
 * The input is header lines "Name: value\n" (an empty line ends them), then the body.
 * Each line becomes a header of a message on a retry subject. What must hold: reading
 * never crashes; a record read has attempts and status in range and its strings are
 * one line of printable text; and a record written back from what was read reads back
 * the same (retry_record_msg / retry_record_read round trip).
 */
#include "delivery/retry_record.h"

#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            abort();
}

static int same(const struct retry_record *a, const struct retry_record *b)
{
    return a->event_seq == b->event_seq && a->stored_wall_us == b->stored_wall_us &&
           a->attempts == b->attempts && a->not_before_wall_ms == b->not_before_wall_ms &&
           a->last_status == b->last_status && strcmp(a->kind, b->kind) == 0 &&
           strcmp(a->final_reason, b->final_reason) == 0 &&
           strcmp(a->last_error, b->last_error) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool opened;
    if (!opened) {
        if (nats_Open(-1) != NATS_OK)
            abort();
        opened = true;
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    natsMsg *m = NULL;
    char *body = strstr(text, "\n\n");
    const char *payload = body ? body + 2 : "";
    if (body)
        *body = '\0';
    if (natsMsg_Create(&m, "retry.EVENTS.0123456789abcdef", NULL, payload, (int)strlen(payload)) !=
        NATS_OK) {
        free(text);
        return 0;
    }
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            continue;
        *colon = '\0';
        const char *value = colon + 1;
        while (*value == ' ')
            value++;
        natsMsgHeader_Add(m, line, value); /* refused names/values are simply absent */
    }
    struct retry_record r;
    if (retry_record_read(m, &r)) {
        if (r.attempts < 0 || r.attempts > 1000000 || r.last_status < 0 || r.last_status > 999)
            abort();
        check_text(r.kind, sizeof r.kind);
        check_text(r.final_reason, sizeof r.final_reason);
        check_text(r.last_error, sizeof r.last_error);
        natsMsg *again =
            retry_record_msg("retry.EVENTS", "0123456789abcdef", &r, payload, strlen(payload));
        struct retry_record back;
        if (again && (!retry_record_read(again, &back) || !same(&r, &back)))
            abort();
        natsMsg_Destroy(again);
    }
    char key[17];
    retry_record_key(m, key);
    if (strcmp(key, "0123456789abcdef") != 0)
        abort();
    natsMsg_Destroy(m);
    free(text);
    return 0;
}
