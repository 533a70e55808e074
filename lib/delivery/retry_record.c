/*
 * retry_record — see retry_record.h.
 */
#include "delivery/retry_record.h"

#include "nats/publisher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H_SEQ "Eventhub-Event-Seq"
#define H_STORED "Eventhub-Stored-Us"
#define H_ATTEMPTS "Eventhub-Attempts"
#define H_NOT_BEFORE "Eventhub-Not-Before"
#define H_FINAL "Eventhub-Final"
#define H_STATUS "Eventhub-Last-Status"
#define H_ERROR "Eventhub-Last-Error"

static natsStatus set_num(natsMsg *m, const char *name, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    return natsMsgHeader_Set(m, name, buf);
}

/* Header values are one line of printable text. */
static void clean_copy(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    for (; in && *in && n + 1 < cap; in++)
        out[n++] = ((unsigned char)*in < 0x20 || *in == 0x7f) ? ' ' : *in;
    out[n] = '\0';
}

natsMsg *retry_record_msg(const char *subject_prefix, const char *key, const struct retry_record *r,
                          const char *data, size_t len)
{
    char subject[512];
    snprintf(subject, sizeof subject, "%s.%s", subject_prefix, key);
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, data, (int)len);
    if (s == NATS_OK)
        s = set_num(m, H_SEQ, (long long)r->event_seq);
    if (s == NATS_OK)
        s = set_num(m, H_STORED, (long long)r->stored_wall_us);
    if (s == NATS_OK)
        s = set_num(m, H_ATTEMPTS, r->attempts);
    if (s == NATS_OK && r->not_before_wall_ms > 0)
        s = set_num(m, H_NOT_BEFORE, (long long)r->not_before_wall_ms);
    if (s == NATS_OK && r->kind[0])
        s = natsMsgHeader_Set(m, PUBLISHER_KIND_HEADER, r->kind);
    if (s == NATS_OK && r->traceparent[0])
        s = natsMsgHeader_Set(m, TRACE_PARENT_HEADER, r->traceparent);
    if (s == NATS_OK && r->traceparent[0] && r->tracestate[0])
        s = natsMsgHeader_Set(m, TRACE_STATE_HEADER, r->tracestate);
    if (s == NATS_OK && r->final_reason[0])
        s = natsMsgHeader_Set(m, H_FINAL, r->final_reason);
    if (s == NATS_OK && r->last_status)
        s = set_num(m, H_STATUS, r->last_status);
    if (s == NATS_OK && r->last_error[0]) {
        char clean[sizeof r->last_error];
        clean_copy(clean, sizeof clean, r->last_error);
        s = natsMsgHeader_Set(m, H_ERROR, clean);
    }
    if (s != NATS_OK) {
        natsMsg_Destroy(m);
        return NULL;
    }
    return m;
}

void retry_record_msg_id(char *out, size_t cap, const char *stream, const char *key,
                         const struct retry_record *r)
{
    snprintf(out, cap, "park-%s-%llu-%s-%lld", stream, (unsigned long long)r->event_seq, key,
             (long long)r->stored_wall_us);
}

static bool get_num(natsMsg *m, const char *name, long long *out, bool required)
{
    const char *v = NULL;
    if (natsMsgHeader_Get(m, name, &v) != NATS_OK || !v || !*v) {
        *out = 0;
        return !required;
    }
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (*end != '\0' || n < 0)
        return false;
    *out = n;
    return true;
}

bool retry_record_read(natsMsg *msg, struct retry_record *r)
{
    memset(r, 0, sizeof *r);
    long long seq, stored, attempts, not_before, status;
    if (!get_num(msg, H_SEQ, &seq, true) || !get_num(msg, H_STORED, &stored, true) ||
        !get_num(msg, H_ATTEMPTS, &attempts, true) ||
        !get_num(msg, H_NOT_BEFORE, &not_before, false) || !get_num(msg, H_STATUS, &status, false))
        return false;
    if (attempts > 1000000 || status > 999)
        return false;
    r->event_seq = (uint64_t)seq;
    r->stored_wall_us = stored;
    r->attempts = (int)attempts;
    r->not_before_wall_ms = not_before;
    r->last_status = (int)status;
    const char *v = NULL;
    if (natsMsgHeader_Get(msg, PUBLISHER_KIND_HEADER, &v) == NATS_OK && v)
        clean_copy(r->kind, sizeof r->kind, v);
    if (natsMsgHeader_Get(msg, H_FINAL, &v) == NATS_OK && v)
        clean_copy(r->final_reason, sizeof r->final_reason, v);
    if (natsMsgHeader_Get(msg, TRACE_PARENT_HEADER, &v) == NATS_OK && trace_parent_valid(v))
        snprintf(r->traceparent, sizeof r->traceparent, "%s", v);
    if (r->traceparent[0] && natsMsgHeader_Get(msg, TRACE_STATE_HEADER, &v) == NATS_OK &&
        trace_state_valid(v))
        snprintf(r->tracestate, sizeof r->tracestate, "%s", v);
    if (natsMsgHeader_Get(msg, H_ERROR, &v) == NATS_OK && v)
        clean_copy(r->last_error, sizeof r->last_error, v);
    return true;
}

void retry_record_key(natsMsg *msg, char out[17])
{
    out[0] = '\0';
    const char *subject = natsMsg_GetSubject(msg);
    const char *dot = subject ? strrchr(subject, '.') : NULL;
    if (dot && strlen(dot + 1) == 16)
        memcpy(out, dot + 1, 17);
}
