/*
 * stream_scan — reading JetStream streams message by message for the browsing APIs
 * (the event stream, the dead-letter stream): stream totals, a bounded walk over a
 * sequence range, and a stored message as JSON.
 *
 * A walk asks for one sequence at a time (js_GetMsg), so its cost is the number of
 * sequences visited, deleted ones included: every walk has a budget of sequences and
 * a deadline, reports which one stopped it and where to continue. It always visits at
 * least one sequence, so a client following the cursor always progresses.
 * Blocking JetStream requests: API worker thread only.
 */
#ifndef EVENTHUB_STREAM_SCAN_H
#define EVENTHUB_STREAM_SCAN_H

#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

struct config;

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

struct stream_scan_limits {
    uint64_t max_visits; /* sequences to visit at most (api.scan_max_messages) */
    int64_t deadline_ms; /* clock_mono_ms() at which to stop (api.scan_timeout); 0 = none */
};

/* The limits of a request starting now, from the api: section of `cfg` (borrowed). */
struct stream_scan_limits stream_scan_limits_now(const struct config *cfg);

enum stream_scan_stop {
    STREAM_SCAN_END,      /* the whole range was visited (or it was empty) */
    STREAM_SCAN_STOPPED,  /* the callback said stop */
    STREAM_SCAN_BUDGET,   /* max_visits sequences were visited */
    STREAM_SCAN_DEADLINE, /* the deadline passed */
    STREAM_SCAN_ERROR,    /* a JetStream error (`error`) */
};

struct stream_scan_result {
    uint64_t visited; /* sequences asked for */
    enum stream_scan_stop stop;
    uint64_t next_seq; /* the sequence the walk would have visited next (0 = none) */
    natsStatus error;  /* NATS_OK, or the error that stopped the walk */
};

/*
 * Visits sequences from `from` towards `to` (inclusive; backwards when from > to),
 * within `limits` (borrowed), calling fn for each message stored there whose subject
 * equals `subject` (NULL = any). Missing sequences (deleted, trimmed) are skipped;
 * any other error stops the walk and is reported. Each request to JetStream waits at
 * most until the deadline (and at least 100 ms).
 */
void stream_scan_walk(jsCtx *js, const char *stream, uint64_t from, uint64_t to,
                      const char *subject, const struct stream_scan_limits *limits,
                      stream_scan_fn fn, void *ctx, struct stream_scan_result *res);

/* Where a newest-first page (a backwards walk) stopped, as a client sees it. */
struct stream_scan_page {
    bool truncated;       /* more may lie below: continue with before = next_before */
    uint64_t next_before; /* when truncated */
    const char *partial;  /* why the walk stopped before finishing the page when that was
                             a limit, not the page being full: "deadline", "scan_limit"
                             or "error"; NULL otherwise */
};

/*
 * From a backwards walk's result; `first_seq` is the stream's first sequence and
 * `all_seen` says every message of the filter has been found (nothing can lie below).
 * Pure.
 */
struct stream_scan_page stream_scan_page_of(const struct stream_scan_result *res,
                                            uint64_t first_seq, bool all_seen);

/* Adds "scanned", "truncated", "partial" (with "partial_reason") and "next_before". */
void stream_scan_add_page(cJSON *o, const struct stream_scan_result *res,
                          const struct stream_scan_page *page);

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
