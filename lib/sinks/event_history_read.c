/*
 * event_history_read — queries of the history (GET /api/events).
 *
 * Under the lock: count what the query selects, then copy each selected event's
 * scalars and take references on its payload and attempt records (both immutable).
 * After the lock: format the JSON with cJSON, then drop the references. A query
 * selects at most EVENT_HISTORY_QUERY_MAX_EVENTS events and about
 * EVENT_HISTORY_QUERY_MAX_BYTES of payload; past either it stops and says
 * "truncated": true. Runs on the caller's thread (the HTTP thread in eventhub).
 */
#include "sinks/event_history_internal.h"

#include "core/clock.h"
#include "core/json_print.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_OVERHEAD 512 /* roughly what an event's JSON adds to its payload */

struct snap_event {
    char event_id[EVENT_ID_MAX + 1];
    uint64_t stream_seq;
    int64_t received_ms, updated_ms;
    char api_key[API_KEY_NAME_MAX + 1];
    enum eh_status status;
    int delivery_attempt, max_deliver;
    bool will_retry;
    size_t attempts_omitted;
    struct eh_payload *payload;
    struct eh_attempt *attempts[EVENT_HISTORY_MAX_ATTEMPTS];
    size_t attempt_count;
};

/* One domain's list in the answer: events[first .. first + count). */
struct snap_group {
    size_t first, count;
    enum eh_list list;
    char domain[EVENT_DOMAIN_MAX + 1];
};

struct snapshot {
    struct snap_event *events;
    size_t event_count, event_cap;
    struct snap_group *groups;
    size_t group_count, group_cap;
    bool truncated;
};

static bool wanted(const struct event_history_query *q, int list)
{
    unsigned bit = list == EH_LIST_OK ? EVENT_HISTORY_SUCCESSFUL : EVENT_HISTORY_FAILED;
    return (q->lists & bit) != 0;
}

static size_t event_weight(const struct eh_event *ev)
{
    size_t w = EVENT_OVERHEAD + (ev->payload ? ev->payload->len : 0);
    for (size_t i = 0; i < ev->attempt_count; i++)
        w += ev->attempts[i]->size;
    return w;
}

static void snap_take(struct snap_event *s, const struct eh_event *ev)
{
    memcpy(s->event_id, ev->event_id, sizeof s->event_id);
    s->stream_seq = ev->stream_seq;
    s->received_ms = ev->received_ms;
    memcpy(s->api_key, ev->api_key, sizeof s->api_key);
    s->updated_ms = ev->updated_ms;
    s->status = ev->status;
    s->delivery_attempt = ev->delivery_attempt;
    s->max_deliver = ev->max_deliver;
    s->will_retry = ev->will_retry;
    s->attempts_omitted = ev->attempts_omitted;
    s->payload = ev->payload;
    if (s->payload)
        eh_payload_ref(s->payload);
    s->attempt_count = ev->attempt_count;
    for (size_t i = 0; i < ev->attempt_count; i++) {
        s->attempts[i] = ev->attempts[i];
        eh_attempt_ref(s->attempts[i]);
    }
}

/* h->lock held. The domains a query looks at: one, or all from the most active. */
static struct eh_domain *first_domain(struct event_history *h, const char *key)
{
    return key ? eh_domain_lookup(h, key) : h->lru_head;
}

static struct eh_domain *next_domain(const struct eh_domain *d, const char *key)
{
    return key ? NULL : d->lru_next;
}

/* h->lock held. False when out of memory. */
static bool collect(struct event_history *h, const struct event_history_query *q, const char *key,
                    struct snapshot *s)
{
    size_t limit = (size_t)q->limit;
    size_t events = 0, groups = 0;
    for (struct eh_domain *d = first_domain(h, key); d; d = next_domain(d, key))
        for (int l = 0; l < 2; l++) {
            size_t n = d->lists[l].count < limit ? d->lists[l].count : limit;
            if (n && wanted(q, l)) {
                groups++;
                events += n;
            }
        }
    s->event_cap =
        events < EVENT_HISTORY_QUERY_MAX_EVENTS ? events : EVENT_HISTORY_QUERY_MAX_EVENTS;
    s->group_cap = groups < s->event_cap ? groups : s->event_cap;
    if (s->event_cap == 0)
        return true;
    s->events = malloc(s->event_cap * sizeof *s->events);
    s->groups = malloc(s->group_cap * sizeof *s->groups);
    if (!s->events || !s->groups)
        return false;

    size_t bytes = 0;
    for (struct eh_domain *d = first_domain(h, key); d; d = next_domain(d, key)) {
        for (int l = 0; l < 2; l++) {
            if (!wanted(q, l) || d->lists[l].count == 0)
                continue;
            if (s->group_count == s->group_cap || s->event_count == s->event_cap) {
                s->truncated = true;
                return true;
            }
            struct snap_group *g = &s->groups[s->group_count++];
            g->first = s->event_count;
            g->count = 0;
            g->list = (enum eh_list)l;
            memcpy(g->domain, d->name, sizeof g->domain);
            for (const struct eh_event *ev = d->lists[l].head; ev && g->count < limit;
                 ev = ev->next) {
                size_t w = event_weight(ev);
                if (s->event_count == s->event_cap ||
                    (s->event_count > 0 && bytes + w > EVENT_HISTORY_QUERY_MAX_BYTES)) {
                    s->truncated = true;
                    if (g->count == 0)
                        s->group_count--;
                    return true;
                }
                bytes += w;
                snap_take(&s->events[s->event_count++], ev);
                g->count++;
            }
        }
    }
    return true;
}

static void snapshot_release(struct snapshot *s)
{
    for (size_t i = 0; i < s->event_count; i++) {
        eh_payload_unref(s->events[i].payload);
        for (size_t k = 0; k < s->events[i].attempt_count; k++)
            eh_attempt_unref(s->events[i].attempts[k]);
    }
    free(s->events);
    free(s->groups);
}

/* --- formatting (no lock) ------------------------------------------------------------ */

static void add_time(cJSON *o, const char *name, int64_t ms)
{
    char ts[32];
    clock_format_rfc3339_ms(ms, ts, sizeof ts);
    cJSON_AddStringToObject(o, name, ts);
}

static void add_text_or_null(cJSON *o, const char *name, const char *text)
{
    if (text)
        cJSON_AddStringToObject(o, name, text);
    else
        cJSON_AddNullToObject(o, name);
}

static cJSON *endpoints_json(const struct eh_attempt *a)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && a && i < a->endpoint_count; i++) {
        const struct eh_endpoint *e = &a->endpoints[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "url", e->url);
        if (e->status)
            cJSON_AddNumberToObject(j, "status", e->status);
        else
            cJSON_AddNullToObject(j, "status");
        add_text_or_null(j, "error", e->error);
        cJSON_AddBoolToObject(j, "delivered", e->delivered);
        cJSON_AddBoolToObject(j, "called", e->called);
        cJSON_AddItemToArray(arr, j);
    }
    return arr;
}

static const char *attempt_outcome(enum eh_status s)
{
    return s == EH_SUCCESSFUL ? "forwarded" : eh_status_name(s);
}

static cJSON *attempt_json(const struct eh_attempt *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "attempt", a->attempt);
    add_time(o, "at", a->at_ms);
    cJSON_AddStringToObject(o, "outcome", attempt_outcome(a->outcome));
    cJSON_AddBoolToObject(o, "will_retry", a->will_retry);
    if (a->reason)
        cJSON_AddStringToObject(o, "reason", a->reason);
    if (a->detail)
        cJSON_AddStringToObject(o, "detail", a->detail);
    cJSON_AddItemToObject(o, "endpoints", endpoints_json(a));
    if (a->endpoints_omitted)
        cJSON_AddNumberToObject(o, "endpoints_omitted", (double)a->endpoints_omitted);
    return o;
}

static cJSON *event_json(const struct snap_event *e, const char *domain)
{
    cJSON *o = cJSON_CreateObject();
    add_text_or_null(o, "event_id", e->event_id[0] ? e->event_id : NULL);
    cJSON_AddStringToObject(o, "domain", domain);
    if (e->stream_seq)
        cJSON_AddNumberToObject(o, "stream_seq", (double)e->stream_seq);
    else
        cJSON_AddNullToObject(o, "stream_seq");
    add_time(o, "received_at", e->received_ms);
    add_time(o, "updated_at", e->updated_ms);
    add_text_or_null(o, "api_key", e->api_key[0] ? e->api_key : NULL);
    cJSON_AddStringToObject(o, "status", eh_status_name(e->status));
    cJSON_AddNumberToObject(o, "delivery_attempt", e->delivery_attempt);
    cJSON_AddNumberToObject(o, "max_deliver", e->max_deliver);
    cJSON_AddBoolToObject(o, "will_retry", e->will_retry);
    const struct eh_attempt *last = e->attempt_count ? e->attempts[e->attempt_count - 1] : NULL;
    if (last && last->reason)
        cJSON_AddStringToObject(o, "reason", last->reason);
    if (last && last->detail)
        cJSON_AddStringToObject(o, "detail", last->detail);
    cJSON_AddItemToObject(o, "endpoints", endpoints_json(last));
    cJSON *attempts = cJSON_AddArrayToObject(o, "attempts");
    for (size_t i = 0; attempts && i < e->attempt_count; i++)
        cJSON_AddItemToArray(attempts, attempt_json(e->attempts[i]));
    cJSON_AddNumberToObject(o, "attempts_omitted", (double)e->attempts_omitted);
    const struct eh_payload *p = e->payload;
    if (!p)
        cJSON_AddNullToObject(o, "payload");
    else if (p->json)
        cJSON_AddRawToObject(o, "payload", p->data); /* checked: valid JSON, clean UTF-8 */
    else
        cJSON_AddStringToObject(o, "payload", p->data);
    cJSON_AddBoolToObject(o, "truncated", p && p->truncated);
    cJSON_AddNumberToObject(o, "payload_bytes", p ? (double)p->original_len : 0);
    return o;
}

static char *render(const struct snapshot *s, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *maps[2];
    maps[EH_LIST_OK] = cJSON_AddObjectToObject(root, "events_by_domain");
    maps[EH_LIST_FAILED] = cJSON_AddObjectToObject(root, "failed_events_by_domain");
    if (!maps[EH_LIST_OK] || !maps[EH_LIST_FAILED]) {
        cJSON_Delete(root);
        return NULL;
    }
    for (size_t i = 0; i < s->group_count; i++) {
        const struct snap_group *g = &s->groups[i];
        cJSON *arr = cJSON_AddArrayToObject(maps[g->list], g->domain);
        for (size_t k = 0; arr && k < g->count; k++)
            cJSON_AddItemToArray(arr, event_json(&s->events[g->first + k], g->domain));
    }
    if (s->truncated)
        cJSON_AddBoolToObject(root, "truncated", true);
    char *text = json_print(root);
    cJSON_Delete(root);
    if (text && len)
        *len = strlen(text);
    return text;
}

char *event_history_query_json(struct event_history *h, const struct event_history_query *q,
                               size_t *len)
{
    if (!h || !q || q->limit < 1)
        return NULL;
    char key[EVENT_DOMAIN_MAX + 1];
    bool filtered = q->domain && q->domain[0];
    bool known = filtered && eh_domain_key(q->domain, key);
    struct snapshot s = {0};
    bool ok = true;
    if (!filtered || known) {
        pthread_mutex_lock(&h->lock);
        ok = collect(h, q, filtered ? key : NULL, &s);
        pthread_mutex_unlock(&h->lock);
    }
    char *text = ok ? render(&s, len) : NULL;
    snapshot_release(&s);
    return text;
}
