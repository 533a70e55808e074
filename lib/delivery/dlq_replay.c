/* dlq_replay — see dlq_replay.h. */
#include "delivery/dlq_replay.h"

#include "core/clock.h"
#include "config/config.h"
#include "core/json_scan.h"
#include "delivery/lanes.h"
#include "core/log.h"
#include "core/outcome.h"
#include "nats/publisher.h"
#include "delivery/retry_record.h"
#include "core/stats.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_HEADER "Eventhub-Replay-Of"

/* What one replay works on; everything borrowed is released by replay_clear(). */
struct replay {
    const struct config *cfg;
    jsCtx *js;
    uint64_t dlq_seq;
    natsMsg *owned_record; /* fetched here, or NULL */
    cJSON *rec;            /* the parsed record, which `fields` borrow from */
    struct dlq_record fields;
    natsMsg *original; /* the original in the event stream, when fetched */
    const char *event; /* the event's bytes (in the record or the original) */
    size_t event_len;
    const char *kind;
    struct event_info info;
};

static void fail(struct dlq_replay_result *res, enum dlq_replay_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct dlq_replay_result *res, enum dlq_replay_status status, const char *fmt, ...)
{
    res->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof res->detail, fmt, ap);
    va_end(ap);
}

int dlq_replay_http_status(enum dlq_replay_status status)
{
    switch (status) {
    case DLQ_REPLAY_OK:
        return 200;
    case DLQ_REPLAY_NOT_FOUND:
        return 404;
    case DLQ_REPLAY_NOT_REPLAYABLE:
        return 409;
    case DLQ_REPLAY_UNAVAILABLE:
        return 503;
    case DLQ_REPLAY_INTERNAL:
        break;
    }
    return 500;
}

static const char *rec_string(const cJSON *rec, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

cJSON *dlq_record_parse(const char *text, size_t len, struct dlq_record *out)
{
    memset(out, 0, sizeof *out);
    cJSON *rec = text && len > 0 ? cJSON_ParseWithLength(text, len) : NULL;
    if (!cJSON_IsObject(rec)) {
        cJSON_Delete(rec);
        return NULL;
    }
    struct json_member m;
    if (json_scan_find(text, len, "event", &m) && m.value_len > 0 && text[m.value_start] == '{') {
        out->event = text + m.value_start;
        out->event_len = m.value_len;
    }
    out->event_omitted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "event_omitted"));
    out->event_id = rec_string(rec, "event_id");
    out->stream = rec_string(rec, "stream");
    out->kind = rec_string(rec, "kind");
    out->reason = rec_string(rec, "reason");
    /* A double: only whole numbers a double holds exactly convert (no UB on 1e300). */
    const char *key = rec_string(rec, "endpoint_key");
    if (key && strlen(key) == 16 && strspn(key, "0123456789abcdef") == 16)
        memcpy(out->endpoint_key, key, 17);
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(rec, "stream_seq");
    double d = cJSON_IsNumber(seq) ? seq->valuedouble : 0;
    if (d >= 1 && d <= 9007199254740992.0 && d == (double)(uint64_t)d)
        out->stream_seq = (uint64_t)d;
    return rec;
}

/* The original event in the event stream, if it is still there and is the record's
 * event. NATS_NOT_FOUND when gone or not the same event. */
static natsStatus fetch_original(struct replay *r)
{
    const struct dlq_record *f = &r->fields;
    if (f->stream_seq == 0)
        return NATS_NOT_FOUND;
    if (f->stream && strcmp(f->stream, r->cfg->nats.stream_name) != 0)
        return NATS_NOT_FOUND; /* recorded under another event stream name */
    natsStatus s =
        js_GetMsg(&r->original, r->js, r->cfg->nats.stream_name, f->stream_seq, NULL, NULL);
    if (s != NATS_OK)
        return s;
    struct event_info info;
    const char *data = natsMsg_GetData(r->original);
    int len = natsMsg_GetDataLength(r->original);
    if (event_inspect(data ? data : "", len > 0 ? (size_t)len : 0, &info) != EVENT_OK ||
        (f->event_id && strcmp(info.event_id, f->event_id) != 0)) {
        natsMsg_Destroy(r->original);
        r->original = NULL;
        return NATS_NOT_FOUND;
    }
    return NATS_OK;
}

/* Finds the event's bytes and its kind; false (res filled) when there is none. */
static bool find_event(struct replay *r, struct dlq_replay_result *res)
{
    const struct dlq_record *f = &r->fields;
    r->kind = f->kind;
    if (f->event) {
        r->event = f->event;
        r->event_len = f->event_len;
        /* Records written before "kind" was kept: the original still knows it. */
        if (!r->kind && fetch_original(r) == NATS_OK)
            natsMsgHeader_Get(r->original, PUBLISHER_KIND_HEADER, &r->kind);
        return true;
    }
    if (!f->event_omitted) {
        fail(res, DLQ_REPLAY_NOT_REPLAYABLE,
             "dead letter %llu holds no valid event (reason %s): replaying it would "
             "dead-letter it again",
             (unsigned long long)r->dlq_seq, f->reason ? f->reason : "unknown");
        return false;
    }
    natsStatus s = fetch_original(r);
    if (s == NATS_NOT_FOUND) {
        fail(res, DLQ_REPLAY_NOT_REPLAYABLE,
             "dead letter %llu left its event out (too large) and the original is no longer "
             "in stream %s (trimmed by the stream limits)",
             (unsigned long long)r->dlq_seq, r->cfg->nats.stream_name);
        return false;
    }
    if (s != NATS_OK) {
        fail(res, DLQ_REPLAY_UNAVAILABLE, "cannot read the original event: %s",
             natsStatus_GetText(s));
        return false;
    }
    const char *data = natsMsg_GetData(r->original);
    int dlen = natsMsg_GetDataLength(r->original);
    r->event = data ? data : "";
    r->event_len = dlen > 0 ? (size_t)dlen : 0;
    if (!r->kind)
        natsMsgHeader_Get(r->original, PUBLISHER_KIND_HEADER, &r->kind);
    return true;
}

/* Reads and checks the record; false (res filled) when it cannot be replayed. */
static bool load(struct replay *r, natsMsg *record, struct dlq_replay_result *res)
{
    if (!record) {
        natsStatus s =
            js_GetMsg(&r->owned_record, r->js, r->cfg->nats.dlq_stream, r->dlq_seq, NULL, NULL);
        if (s == NATS_NOT_FOUND) {
            fail(res, DLQ_REPLAY_NOT_FOUND,
                 "no dead letter at sequence %llu (replayed already, expired, or never there)",
                 (unsigned long long)r->dlq_seq);
            return false;
        }
        if (s != NATS_OK) {
            fail(res, DLQ_REPLAY_UNAVAILABLE, "cannot read the dead-letter stream: %s",
                 natsStatus_GetText(s));
            return false;
        }
        record = r->owned_record;
    }
    const char *text = natsMsg_GetData(record);
    int len = natsMsg_GetDataLength(record);
    r->rec = dlq_record_parse(text, len > 0 ? (size_t)len : 0, &r->fields);
    if (!r->rec) {
        fail(res, DLQ_REPLAY_NOT_REPLAYABLE, "dead letter %llu is not a JSON record",
             (unsigned long long)r->dlq_seq);
        return false;
    }
    if (!find_event(r, res))
        return false;
    if (event_inspect(r->event, r->event_len, &r->info) != EVENT_OK) {
        fail(res, DLQ_REPLAY_NOT_REPLAYABLE, "the event of dead letter %llu is not valid: %s",
             (unsigned long long)r->dlq_seq, r->info.detail);
        return false;
    }
    const char *rec_id = r->fields.event_id;
    if (!r->info.event_id[0] && rec_id)
        snprintf(r->info.event_id, sizeof r->info.event_id, "%s", rec_id);
    return true;
}

/* Marks msg as the replay of its dead letter and publishes it (synchronously); takes msg. */
static natsStatus send_replay(struct replay *r, natsMsg *msg, const char *origin,
                              const char *msg_id, jsPubAck **pa, jsErrCode *jerr)
{
    natsStatus s = natsMsgHeader_Set(msg, REPLAY_HEADER, origin);
    if (s == NATS_OK) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = msg_id;
        po.MaxWait = r->cfg->nats.publish_timeout_ms;
        s = js_PublishMsg(pa, r->js, msg, &po, jerr);
    }
    natsMsg_Destroy(msg);
    return s;
}

static natsStatus publish(struct replay *r, const char *subject, jsPubAck **pa, jsErrCode *jerr)
{
    char msg_id[EVENT_ID_MAX + 64];
    if (r->info.event_id[0])
        snprintf(msg_id, sizeof msg_id, "%s:replay:%llu", r->info.event_id,
                 (unsigned long long)r->dlq_seq);
    else
        snprintf(msg_id, sizeof msg_id, "replay:%s:%llu", r->cfg->nats.dlq_stream,
                 (unsigned long long)r->dlq_seq);
    char origin[300];
    snprintf(origin, sizeof origin, "%s:%llu", r->cfg->nats.dlq_stream,
             (unsigned long long)r->dlq_seq);
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, subject, NULL, r->event, (int)r->event_len);
    if (s == NATS_OK && r->kind)
        s = natsMsgHeader_Set(msg, PUBLISHER_KIND_HEADER, r->kind);
    if (s != NATS_OK) {
        natsMsg_Destroy(msg);
        return s;
    }
    return send_replay(r, msg, origin, msg_id, pa, jerr);
}

/* One endpoint's record: a fresh retry record for that endpoint alone. */
static natsStatus publish_to_endpoint(struct replay *r, jsPubAck **pa, jsErrCode *jerr)
{
    struct retry_record rr = {.event_seq = r->fields.stream_seq, .stored_wall_us = clock_wall_us()};
    if (r->kind)
        snprintf(rr.kind, sizeof rr.kind, "%s", r->kind);
    natsMsg *msg = retry_record_msg(r->cfg->nats.retry_subject_prefix, r->fields.endpoint_key, &rr,
                                    r->event, r->event_len);
    if (!msg)
        return NATS_NO_MEMORY;
    char origin[300], msg_id[300];
    snprintf(origin, sizeof origin, "%s:%llu", r->cfg->nats.dlq_stream,
             (unsigned long long)r->dlq_seq);
    snprintf(msg_id, sizeof msg_id, "replay-%s-%llu", r->cfg->nats.dlq_stream,
             (unsigned long long)r->dlq_seq);
    return send_replay(r, msg, origin, msg_id, pa, jerr);
}

static void announce(const struct outcomes *outcomes, const struct replay *r,
                     const struct dlq_replay_result *res)
{
    struct outcome_received o = {
        .domain = r->info.domain,
        .event_id = r->info.event_id,
        .stream_seq = res->stream_seq,
        .duplicate = res->duplicate,
        .source = DLQ_REPLAY_SOURCE,
        .event = r->event,
        .event_len = r->event_len,
    };
    outcomes_received(outcomes, &o);
}

static void delete_record(struct replay *r, struct dlq_replay_result *res)
{
    jsErrCode jerr = 0;
    natsStatus s = js_DeleteMsg(r->js, r->cfg->nats.dlq_stream, r->dlq_seq, NULL, &jerr);
    res->record_deleted = s == NATS_OK || s == NATS_NOT_FOUND;
    if (!res->record_deleted)
        log_warn("dlq",
                 "dead letter %llu was replayed but could not be deleted: %s (a second replay "
                 "within the duplicate window is dropped as a duplicate)",
                 (unsigned long long)r->dlq_seq, natsStatus_GetText(s));
}

void dlq_replay_one(const struct config *cfg, jsCtx *js, const struct outcomes *outcomes,
                    struct lanes *lanes, uint64_t dlq_seq, natsMsg *record,
                    struct dlq_replay_result *res)
{
    memset(res, 0, sizeof *res);
    struct replay r = {.cfg = cfg, .js = js, .dlq_seq = dlq_seq};
    if (!load(&r, record, res))
        goto out;
    snprintf(res->domain, sizeof res->domain, "%s", r.info.domain);
    snprintf(res->event_id, sizeof res->event_id, "%s", r.info.event_id);
    char subject[EVENT_SUBJECT_MAX];
    if (!event_subject(cfg->nats.subject_pattern, r.info.domain, subject, sizeof subject)) {
        fail(res, DLQ_REPLAY_NOT_REPLAYABLE, "no subject fits the domain of dead letter %llu",
             (unsigned long long)dlq_seq);
        goto out;
    }
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    res->to_endpoint =
        r.fields.endpoint_key[0] != '\0' && (!lanes || lanes_routed(lanes, r.fields.endpoint_key));
    natsStatus s =
        res->to_endpoint ? publish_to_endpoint(&r, &pa, &jerr) : publish(&r, subject, &pa, &jerr);
    if (s != NATS_OK) {
        fail(res, DLQ_REPLAY_UNAVAILABLE,
             "the event stream did not take the replay (%s, code %d); the record is kept — "
             "replaying it again is safe (same message id)",
             natsStatus_GetText(s), (int)jerr);
        log_warn("dlq", "replay of dead letter %llu failed: %s", (unsigned long long)dlq_seq,
                 res->detail);
        goto out;
    }
    res->status = DLQ_REPLAY_OK;
    res->stream_seq = pa->Sequence;
    res->duplicate = pa->Duplicate;
    jsPubAck_Destroy(pa);
    if (!res->duplicate)
        stats_inc(STAT_REPLAYED);
    delete_record(&r, res);
    log_info("dlq", "dead letter %llu replayed: event %s (domain %s) is %s seq %llu%s",
             (unsigned long long)dlq_seq, r.info.event_id[0] ? r.info.event_id : "-", r.info.domain,
             res->to_endpoint ? "retry stream (for its endpoint alone)" : "stream",
             (unsigned long long)res->stream_seq,
             res->duplicate ? " (a duplicate of an earlier replay)" : "");
    announce(outcomes, &r, res);
out:
    cJSON_Delete(r.rec);
    natsMsg_Destroy(r.original);
    natsMsg_Destroy(r.owned_record);
}
