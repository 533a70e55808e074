/*
 * esl_source — see esl_source.h. Counters written on the node thread are atomics so
 * /health can read them from the HTTP thread.
 */
#include "sources/esl/esl_source.h"

#include "sources/esl/call_tracker.h"
#include "core/clock.h"
#include "config/config.h"
#include "sinks/domain_log.h"
#include "sources/esl/esl_conn.h"
#include "sources/esl/esl_event.h"
#include "core/event.h"
#include "core/outcome.h"
#include "core/json_scan.h"
#include "core/log.h"
#include "nats/outbox.h"
#include "core/json_print.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPIRE_EVERY_MS 1000

struct esl_source_stats {
    const char *name;
    const char *state;
    uint64_t events_received;
    uint64_t signals_published; /* queued for JetStream */
    uint64_t events_published;  /* queued for JetStream */
    uint64_t no_domain;         /* events or calls skipped: no tenant domain */
    uint64_t buffered;          /* waiting in the outbox now */
    uint64_t dropped;           /* refused by a full outbox */
    uint64_t stored;            /* acked by JetStream */
    uint64_t reconnects;
    uint64_t protocol_errors;
    uint64_t live_calls;
    char last_error[200];
};

struct esl_source {
    const struct config *cfg;
    const struct esl_node *node;
    struct outbox *outbox;
    struct call_tracker *tracker;
    struct esl_conn *conn;
    struct domain_log *domain_logs;  /* may be NULL */
    const struct outcomes *outcomes; /* may be NULL */
    int64_t last_expire_ms;
    struct log_ratelimit drop_rl;

    _Atomic uint64_t signals_published;
    _Atomic uint64_t events_published;
    _Atomic uint64_t no_domain;
    _Atomic uint64_t live_calls;
};

/*
 * Returns `json` (an object, malloc'd) with members appended before its closing brace;
 * `extra` is ",\"k\":v..." text. Frees json. NULL when out of memory.
 */
static char *append_members(char *json, const char *extra, size_t *out_len)
{
    size_t len = strlen(json);
    size_t brace = json_scan_closing_brace(json, len);
    size_t extra_len = strlen(extra);
    if (brace == (size_t)-1) {
        free(json);
        return NULL;
    }
    bool empty = brace > 0 && json[brace - 1] == '{';
    /* In place: grow the buffer and write over the closing brace (no second copy). */
    char *out = realloc(json, brace + extra_len + 2);
    if (!out) {
        free(json);
        return NULL;
    }
    /* extra starts with ','; an empty object takes it without. */
    const char *e = empty ? extra + 1 : extra;
    size_t elen = empty ? extra_len - 1 : extra_len;
    memcpy(out + brace, e, elen);
    out[brace + elen] = '}';
    out[brace + elen + 1] = '\0';
    *out_len = brace + elen + 1;
    return out;
}

/* Writes `s` as a JSON string (with quotes) into out; s is ASCII-safe here. */
static void json_quote(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    if (cap < 3)
        return;
    out[o++] = '"';
    for (; *s && o + 3 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch >= 0x20) {
            out[o++] = (char)ch;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
}

static void queue(struct esl_source *src, const char *subject, const char *msg_id, const char *kind,
                  char *json, size_t len, bool retry)
{
    if (outbox_add(src->outbox, subject, msg_id, kind, json, len, retry)) {
        outbox_pump(src->outbox); /* straight on to JetStream when it is there */
        return;
    }
    int suppressed = 0;
    if (log_ratelimit_ok(&src->drop_rl, 3, 10000, &suppressed))
        log_warn("esl",
                 "node %s: buffer of %d events full (JetStream unreachable?): dropped a %s "
                 "(%d more dropped since the last message)",
                 src->node->name, src->node->buffer_events, kind ? kind : "call record",
                 suppressed);
}

static void publish_raw_event(struct esl_source *src, const struct esl_event *ev)
{
    const char *name = esl_event_get(ev, "Event-Name");
    if (!name)
        return;
    char domain[256];
    if (!esl_event_domain(ev, src->node->default_domain, domain, sizeof domain)) {
        atomic_fetch_add(&src->no_domain, 1);
        return;
    }
    const char *core = esl_event_get(ev, "Core-UUID");
    const char *seq = esl_event_get(ev, "Event-Sequence");
    char event_id[160];
    snprintf(event_id, sizeof event_id, "%s:%s", core ? core : "-", seq ? seq : "-");
    char subject[EVENT_SUBJECT_MAX];
    if (!event_subject(src->cfg->nats.subject_pattern, domain, subject, sizeof subject))
        return;

    char ts[32], q_domain[300], q_id[200], q_node[160], extra[900];
    clock_format_rfc3339_ms(clock_wall_ms(), ts, sizeof ts);
    json_quote(domain, q_domain, sizeof q_domain);
    json_quote(event_id, q_id, sizeof q_id);
    json_quote(src->node->name, q_node, sizeof q_node);
    snprintf(extra, sizeof extra,
             ",\"domain\":%s,\"event_id\":%s,\"received_at\":\"%s\",\"esl_node\":%s", q_domain,
             q_id, ts, q_node);
    size_t len = 0;
    char *json = esl_event_to_json(ev);
    json = json ? append_members(json, extra, &len) : NULL;
    if (!json)
        return;
    /* The kind routes filter on: the Event-Name, "CUSTOM <subclass>" for custom ones. */
    char kind[200];
    const char *subclass = esl_event_get(ev, "Event-Subclass");
    if (strcmp(name, "CUSTOM") == 0 && subclass)
        snprintf(kind, sizeof kind, "CUSTOM %s", subclass);
    else
        snprintf(kind, sizeof kind, "%s", name);
    atomic_fetch_add(&src->events_published, 1);
    queue(src, subject, event_id, kind, json, len, true);
}

/* A call record (live or final) into the key-value bucket: a put is a publish to
 * $KV.<bucket>.<key>. A live state is best effort — retrying it after the final
 * record was stored would overwrite the final one — the final record is retried. */
static void put_record(struct esl_source *src, const char *call_id, const char *json, bool final)
{
    char subject[256];
    snprintf(subject, sizeof subject, "$KV.%s.%s", src->cfg->calls.bucket, call_id);
    char *copy = strdup(json);
    if (copy)
        queue(src, subject, NULL, NULL, copy, strlen(copy), final);
}

static void on_call_update(void *closure, const char *domain, const char *call_id,
                           char *record_json)
{
    struct esl_source *src = closure;
    if (domain && call_id)
        put_record(src, call_id, record_json, false);
    free(record_json);
}

static void on_call_signal(void *closure, const char *domain, const char *call_id,
                           char *signal_json)
{
    struct esl_source *src = closure;
    if (!domain || !call_id) {
        atomic_fetch_add(&src->no_domain, 1);
        log_warn("esl", "node %s: call %s ended without a tenant domain; no signal published",
                 src->node->name, call_id ? call_id : "-");
        free(signal_json);
        return;
    }
    put_record(src, call_id, signal_json, true);
    if (!(src->node->publish & ESL_PUBLISH_SIGNALS)) {
        free(signal_json);
        return;
    }
    char subject[EVENT_SUBJECT_MAX];
    struct json_member m;
    char event_id[EVENT_ID_MAX + 1] = "";
    size_t len = strlen(signal_json);
    if (json_scan_find(signal_json, len, "event_id", &m) && m.value_len >= 2 &&
        m.value_len - 2 <= EVENT_ID_MAX)
        snprintf(event_id, sizeof event_id, "%.*s", (int)(m.value_len - 2),
                 signal_json + m.value_start + 1);
    if (!event_subject(src->cfg->nats.subject_pattern, domain, subject, sizeof subject)) {
        free(signal_json);
        return;
    }
    char ts[32], extra[64];
    clock_format_rfc3339_ms(clock_wall_ms(), ts, sizeof ts);
    snprintf(extra, sizeof extra, ",\"received_at\":\"%s\"", ts);
    char *json = append_members(signal_json, extra, &len);
    if (!json)
        return;
    atomic_fetch_add(&src->signals_published, 1);
    log_debug("esl", "node %s: call %s ended; signal for %s", src->node->name, call_id, domain);
    struct outcome_received r = {
        .domain = domain,
        .event_id = event_id,
        .source = esl_source_class.kind,
        .event = json,
        .event_len = len,
    };
    outcomes_received(src->outcomes, &r);
    queue(src, subject, event_id[0] ? event_id : NULL, "call_signal", json, len, true);
}

static void on_event(void *closure, const struct esl_event *ev)
{
    struct esl_source *src = closure;
    if (src->node->publish & ESL_PUBLISH_EVENTS)
        publish_raw_event(src, ev);
    call_tracker_on_event(src->tracker, ev, clock_wall_ms());
}

/* A FreeSWITCH log line (log/data): into the domain log of its channel's call. */
static void on_log(void *closure, const struct esl_frame *f)
{
    struct esl_source *src = closure;
    if (!src->domain_logs)
        return;
    const char *uuid = esl_frame_get(f, "User-Data");
    const char *domain = call_tracker_domain_of(src->tracker, uuid);
    char ts[32];
    clock_format_rfc3339_ms(clock_wall_ms(), ts, sizeof ts);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ts", ts);
    cJSON_AddStringToObject(o, "type", "freeswitch_log");
    cJSON_AddStringToObject(o, "node", src->node->name);
    static const char *const headers[][2] = {
        {"Log-Level", "level"}, {"Log-File", "file"},  {"Log-Func", "func"},
        {"Log-Line", "line"},   {"User-Data", "uuid"}, {"Text-Channel", "channel"},
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        const char *v = esl_frame_get(f, headers[i][0]);
        if (v)
            cJSON_AddStringToObject(o, headers[i][1], v);
    }
    cJSON_AddStringToObject(o, "text", f->body ? f->body : "");
    char *line = json_print(o);
    cJSON_Delete(o);
    if (line)
        domain_log_write(src->domain_logs, domain ? domain : "default", line);
    free(line);
}

static void on_idle(void *closure)
{
    struct esl_source *src = closure;
    int64_t now = clock_mono_ms();
    if (now - src->last_expire_ms >= EXPIRE_EVERY_MS) {
        src->last_expire_ms = now;
        call_tracker_expire(src->tracker, clock_wall_ms());
        atomic_store(&src->live_calls, call_tracker_live_calls(src->tracker));
    }
    outbox_pump(src->outbox);
}

static void esl_source_free(void *impl);

/* The node's outbox and call tracker; its connection starts in esl_source_start. */
static struct esl_source *esl_source_new(const struct config *cfg, const struct esl_node *node,
                                         struct publisher *pub, const struct outcomes *outcomes,
                                         struct domain_log *domain_logs)
{
    struct esl_source *src = calloc(1, sizeof *src);
    if (!src)
        return NULL;
    src->cfg = cfg;
    src->node = node;
    src->domain_logs = domain_logs;
    src->outcomes = outcomes;
    src->outbox =
        outbox_new(pub, (size_t)node->buffer_events, (size_t)cfg->nats.max_inflight_publishes);
    struct call_tracker_options topts = {
        .node = node->name,
        .default_domain = node->default_domain,
        .timezone = cfg->calls.timezone,
        .max_call_age_ms = cfg->calls.max_call_age_ms,
        .max_calls = (size_t)cfg->calls.max_calls,
        .format = cfg->calls.typed_signals ? CALL_SIGNAL_TYPED : CALL_SIGNAL_SEED,
    };
    _Static_assert(CONFIG_CALLS_FIELDS == CALL_EXTRA_COUNT, "calls.fields: one header per member");
    for (size_t i = 0; i < CONFIG_CALLS_FIELDS; i++)
        topts.extra_headers[i] = cfg->calls.field_headers[i];
    src->tracker = src->outbox ? call_tracker_new(&topts, on_call_signal, src) : NULL;
    if (!src->tracker) {
        log_error("esl", "node %s: cannot set up call tracking", node->name);
        esl_source_free(src);
        return NULL;
    }
    call_tracker_set_update_callback(src->tracker, on_call_update, src);
    return src;
}

static bool esl_source_start(void *impl)
{
    struct esl_source *src = impl;
    const struct esl_node *node = src->node;
    struct esl_conn_handlers handlers = {
        .on_event = on_event,
        .on_log = node->logs ? on_log : NULL,
        .on_idle = on_idle,
        .closure = src,
    };
    src->conn = esl_conn_start(node, &handlers);
    return src->conn != NULL;
}

static void esl_source_stop(void *impl, int64_t timeout_ms)
{
    struct esl_source *src = impl;
    esl_conn_stop(src->conn);
    if (src->outbox && !outbox_flush(src->outbox, timeout_ms))
        log_warn("esl", "node %s: events still waiting for JetStream at shutdown", src->node->name);
}

static void esl_source_free(void *impl)
{
    struct esl_source *src = impl;
    if (!src)
        return;
    esl_conn_free(src->conn);
    outbox_free(src->outbox, 0);
    call_tracker_free(src->tracker);
    free(src);
}

static void esl_source_get_stats(struct esl_source *src, struct esl_source_stats *out)
{
    memset(out, 0, sizeof *out);
    out->name = src->node->name;
    struct esl_conn_stats cs;
    esl_conn_get_stats(src->conn, &cs);
    out->state = esl_conn_state_name(cs.state);
    out->events_received = cs.events_received;
    out->reconnects = cs.reconnects;
    out->protocol_errors = cs.protocol_errors;
    snprintf(out->last_error, sizeof out->last_error, "%s", cs.last_error);
    struct outbox_stats os;
    outbox_get_stats(src->outbox, &os);
    out->buffered = os.queued + os.inflight;
    out->dropped = os.dropped;
    out->stored = os.published;
    out->signals_published = atomic_load(&src->signals_published);
    out->events_published = atomic_load(&src->events_published);
    out->no_domain = atomic_load(&src->no_domain);
    out->live_calls = atomic_load(&src->live_calls);
}

static cJSON *esl_source_stats_json(void *impl)
{
    struct esl_source *src = impl;
    struct esl_source_stats st;
    esl_source_get_stats(src, &st);
    cJSON *n = cJSON_CreateObject();
    if (!n)
        return NULL;
    cJSON_AddStringToObject(n, "name", st.name);
    cJSON_AddStringToObject(n, "state", st.state);
    cJSON_AddBoolToObject(n, "connected", strcmp(st.state, "connected") == 0);
    const struct {
        const char *key;
        uint64_t value;
    } counters[] = {
        {"events_received", st.events_received},
        {"signals_published", st.signals_published},
        {"events_published", st.events_published},
        {"stored", st.stored},
        {"buffered", st.buffered},
        {"dropped", st.dropped},
        {"no_domain", st.no_domain},
        {"live_calls", st.live_calls},
        {"reconnects", st.reconnects},
        {"protocol_errors", st.protocol_errors},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        cJSON_AddNumberToObject(n, counters[i].key, (double)counters[i].value);
    cJSON_AddStringToObject(n, "last_error", st.last_error);
    return n;
}

static const struct source_figure esl_figures[] = {
    {"eventhub_esl_connected", "gauge", "1 when the FreeSWITCH node's Event Socket is connected."},
    {"eventhub_esl_reconnects_total", "counter", "Reconnections to the FreeSWITCH node."},
    {"eventhub_esl_events_received_total", "counter", "Events read from the FreeSWITCH node."},
    {"eventhub_esl_dropped_total", "counter",
     "Messages from the node refused by its full outbox (JetStream unreachable too long)."},
    {"eventhub_esl_buffered", "gauge", "Messages from the node waiting for JetStream."},
    {"eventhub_esl_live_calls", "gauge", "Calls the node has in progress."},
};

static void esl_source_read_figures(void *impl, uint64_t *values)
{
    struct esl_source_stats st;
    esl_source_get_stats(impl, &st);
    const uint64_t v[] = {
        strcmp(st.state, "connected") == 0,
        st.reconnects,
        st.events_received,
        st.dropped,
        st.buffered,
        st.live_calls,
    };
    _Static_assert(sizeof v / sizeof v[0] == sizeof esl_figures / sizeof esl_figures[0],
                   "one value per figure");
    memcpy(values, v, sizeof v);
}

static bool esl_source_create(const struct source_env *env, struct source_set *set)
{
    const struct config *cfg = env->cfg;
    for (size_t i = 0; i < cfg->esl_node_count; i++) {
        const struct esl_node *node = &cfg->esl_nodes[i];
        struct esl_source *src =
            esl_source_new(cfg, node, env->pub, env->outcomes, env->domain_logs);
        if (!src || !source_set_add(set, (struct source){&esl_source_class, src, node->name}))
            return false;
    }
    return true;
}

const struct source_class esl_source_class = {
    .kind = "esl",
    .json_key = "esl",
    .metric_label = "node",
    .figures = esl_figures,
    .figure_count = sizeof esl_figures / sizeof esl_figures[0],
    .create = esl_source_create,
    .start = esl_source_start,
    .stop = esl_source_stop,
    .free = esl_source_free,
    .stats_json = esl_source_stats_json,
    .read_figures = esl_source_read_figures,
};
