/*
 * retry_record — the message that parks one endpoint's delivery of one event in the
 * retry stream: the event's bytes as stored, and in headers what the endpoint's lane
 * needs to go on (which stored event, how many attempts failed, not before when, why
 * it may have to be dead-lettered at once).
 *
 * Subject `<retry_subject_prefix>.<endpoint key>`; Nats-Msg-Id
 * `park-<stream>-<seq>-<key>-<stored time>`, so parking the same delivery twice (a
 * retry after a lost publish ack, another instance) stores it once.
 *
 * Pure: builds and reads messages; any thread.
 */
#ifndef EVENTHUB_RETRY_RECORD_H
#define EVENTHUB_RETRY_RECORD_H

#include "core/trace_context.h"

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct retry_record {
    uint64_t event_seq;         /* the event's sequence in the events stream (0 = replay) */
    int64_t stored_wall_us;     /* when the event was stored (age, end-to-end latency) */
    int attempts;               /* failed attempts so far */
    int64_t not_before_wall_ms; /* do not call before (backoff, Retry-After); 0 = at once */
    char kind[64];              /* the event's Eventhub-Kind ("" = ingress) */
    char traceparent[TRACE_PARENT_LEN + 1]; /* the event's trace context ("" = none) */
    char tracestate[TRACE_STATE_MAX + 1];
    char final_reason[40]; /* non-empty: dead-letter at once with this reason */
    int last_status;       /* the endpoint's last answer (0 = none) */
    char last_error[160];
};

/* NULL when out of memory. */
natsMsg *retry_record_msg(const char *subject_prefix, const char *key, const struct retry_record *r,
                          const char *data, size_t len);

void retry_record_msg_id(char *out, size_t cap, const char *stream, const char *key,
                         const struct retry_record *r);

/* Reads the headers; false when a required one is missing or malformed. */
bool retry_record_read(natsMsg *msg, struct retry_record *r);

/* The endpoint key from a record's subject (the last token), or "" (16 hex + NUL). */
void retry_record_key(natsMsg *msg, char out[17]);

#endif
