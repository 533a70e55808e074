/*
 * dlq_replay — puts a dead-lettered event back into the event stream.
 *
 * One replay: read the record at `dlq_seq` in the dead-letter stream; take the event
 * it embeds (its bytes as stored), or — when the record left it out because it was
 * too large ("event_omitted") — the original from the event stream at the record's
 * stream_seq, if the limits have not trimmed it yet (its event_id must match);
 * publish it to the subject of its domain with its event_id unchanged and its kind
 * header (Eventhub-Kind) restored; then delete the record, so it cannot be replayed
 * twice.
 *
 * The replay's Nats-Msg-Id is "<event_id>:replay:<dlq_seq>", not the event_id: the
 * event stream's duplicate window would otherwise drop a replay made soon after the
 * original was stored. Being fixed per record, it also makes a second replay of the
 * same record within the window (say, after the delete failed) a duplicate.
 *
 * One endpoint's record ("endpoint_key", delivery.h) is replayed to that endpoint alone
 * while the routes still have it: a fresh retry record (no attempts counted) under its
 * subject in the retry stream, Nats-Msg-Id "replay-<dlq stream>-<dlq_seq>". When no
 * route has that endpoint any more (the route was fixed by replacing it), the event
 * goes to the route as it is now, like any replay. `lanes` (NULL on an instance that
 * does not deliver: then the endpoint is taken as still routed) tells which.
 *
 * Records that hold no valid event ("event_raw": the stored message was not an
 * event) cannot be replayed: they would be dead-lettered again.
 *
 * Blocking JetStream requests: API worker thread only. Counts STAT_REPLAYED, logs
 * each replay (info, subsystem "dlq") and announces it to the outcome hub as
 * "received" with source "replay".
 */
#ifndef EVENTHUB_DLQ_REPLAY_H
#define EVENTHUB_DLQ_REPLAY_H

#include "core/event.h"

#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

/* The `source` of a replayed event in the outcome hub (and in /metrics). */
#define DLQ_REPLAY_SOURCE "replay"

struct config;
struct lanes;
struct outcomes;

enum dlq_replay_status {
    DLQ_REPLAY_OK = 0,
    DLQ_REPLAY_NOT_FOUND,      /* 404: no record at that sequence */
    DLQ_REPLAY_NOT_REPLAYABLE, /* 409: no event to replay (detail says why) */
    DLQ_REPLAY_UNAVAILABLE,    /* 503: JetStream did not answer */
    DLQ_REPLAY_INTERNAL,       /* 500: out of memory */
};

struct dlq_replay_result {
    enum dlq_replay_status status;
    char detail[256];
    char domain[EVENT_DOMAIN_MAX + 1];
    char event_id[EVENT_ID_MAX + 1];
    uint64_t stream_seq; /* the replay's sequence in the event stream (or, for one
                            endpoint's record, in the retry stream) */
    bool to_endpoint;    /* one endpoint's record: replayed to that endpoint alone */
    bool duplicate;      /* JetStream had this replay already (same record) */
    bool record_deleted; /* the dead-letter record is gone */
};

/*
 * Replays the record at `dlq_seq`. `record` is that record's message when the caller
 * has it already (borrowed), else NULL to fetch it. `outcomes` may be NULL.
 */
void dlq_replay_one(const struct config *cfg, jsCtx *js, const struct outcomes *outcomes,
                    struct lanes *lanes, uint64_t dlq_seq, natsMsg *record,
                    struct dlq_replay_result *res);

/* HTTP status for a result status. */
int dlq_replay_http_status(enum dlq_replay_status status);

/* What a stored dead-letter record says about its event (see dead_letter.h). */
struct dlq_record {
    const char *event;    /* the embedded event's bytes, as stored (inside the text), or NULL */
    size_t event_len;     /* (not NUL-terminated: a span of the record's text) */
    bool event_omitted;   /* "event_omitted": left out as too large, the original has it */
    const char *event_id; /* "event_id", "stream", "kind", "reason": NULL when absent */
    const char *stream;
    const char *kind;
    const char *reason;
    uint64_t stream_seq;   /* "stream_seq" when a whole number 1..2^53, else 0 */
    char endpoint_key[17]; /* "endpoint_key" (16 hex digits): one endpoint's record, "" */
};

/*
 * Reads a record's text (`len` bytes, borrowed). Returns the parsed record, which the
 * strings in *out borrow from (caller deletes it with cJSON_Delete), or NULL when the
 * text is not a JSON object. Pure; any thread (the API worker; the fuzzer).
 */
cJSON *dlq_record_parse(const char *text, size_t len, struct dlq_record *out);

#endif
