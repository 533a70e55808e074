/*
 * stream_scan — reading JetStream streams message by message for the browsing APIs
 * (the event stream, the dead-letter stream): stream totals, a bounded walk over a
 * sequence range, and a stored message as JSON.
 *
 * A walk asks for one sequence at a time (js_GetMsg), so its cost is the number of
 * sequences visited, deleted ones included: every walk has a budget and reports
 * when it ran out. Blocking JetStream requests: API worker thread only.
 */
#ifndef EVENTHUB_STREAM_SCAN_H
#define EVENTHUB_STREAM_SCAN_H

#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

struct stream_totals {
    uint64_t msgs, bytes, first_seq, last_seq;
    int64_t consumers;
    int64_t subject_msgs; /* messages on `subject` when one was given, else -1 */
};

/* Totals of `stream`; with `subject` non-NULL also its message count. */
natsStatus stream_scan_totals(jsCtx *js, const char *stream, const char *subject,
                              struct stream_totals *out);

/* Called for each message found; borrows `msg` for the call. Return false to stop. */
typedef bool (*stream_scan_fn)(void *ctx, natsMsg *msg);

struct stream_scan_result {
    uint64_t visited;      /* sequences asked for */
    bool budget_exhausted; /* stopped by the budget before the end of the range */
    uint64_t next_seq;     /* the sequence the walk would have visited next (0 = none) */
    natsStatus error;      /* NATS_OK, or the error that stopped the walk */
};

/*
 * Visits sequences from `from` towards `to` (inclusive; backwards when from > to),
 * at most `budget` of them, calling fn for each message stored there whose subject
 * equals `subject` (NULL = any). Missing sequences (deleted, trimmed) are skipped;
 * any other error stops the walk and is reported.
 */
void stream_scan_walk(jsCtx *js, const char *stream, uint64_t from, uint64_t to,
                      const char *subject, uint64_t budget, stream_scan_fn fn, void *ctx,
                      struct stream_scan_result *res);

/*
 * `msg` as {"seq":N,"subject":…,"time":"RFC 3339","headers":{…},"data":…}. The data
 * is embedded as JSON when it is a clean JSON text (its bytes as stored), else as a
 * string when it is UTF-8 text, else as "data_base64". Headers appear only when the
 * message has any (a header with several values becomes an array).
 */
cJSON *stream_scan_msg_json(natsMsg *msg);

/* Adds `data` under `name` as stream_scan_msg_json does ("<name>_base64" for binary). */
bool stream_scan_add_data(cJSON *obj, const char *name, const char *data, size_t len);

/* Nanoseconds since the epoch as RFC 3339 with milliseconds (cap >= 32). */
void stream_scan_format_ns(int64_t ns, char *out, size_t cap);

#endif
