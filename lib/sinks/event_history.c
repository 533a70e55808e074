/*
 * event_history — see event_history.h (what is kept, the lists, the bounds, the lock).
 *
 * The store: a hash of domains (lower-cased name → domain) with an LRU list of
 * activity; a store-wide hash of events ((domain, event_id) or (domain, stream_seq)
 * → event); per domain, two doubly linked lists (successful / failed), newest at the
 * head. Every function named *_locked, and every static helper below the sinks, runs
 * with h->lock held. Forgotten events are chained on a local free list and released
 * after the lock is dropped.
 */
#include "sinks/event_history_internal.h"

#include "core/clock.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define INITIAL_BUCKETS 64

/* --- construction --------------------------------------------------------------- */

struct event_history *event_history_new(const struct event_history_options *opts)
{
    if (!opts || opts->max_domains < 1 || opts->per_domain < 1 || opts->max_event_bytes < 1)
        return NULL;
    struct event_history *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->opts = *opts;
    if (h->opts.max_total_bytes == 0)
        h->opts.max_total_bytes = EVENT_HISTORY_DEFAULT_MAX_BYTES;
    h->dom_buckets = calloc(INITIAL_BUCKETS, sizeof *h->dom_buckets);
    h->ev_buckets = calloc(INITIAL_BUCKETS, sizeof *h->ev_buckets);
    if (!h->dom_buckets || !h->ev_buckets) {
        free(h->dom_buckets);
        free(h->ev_buckets);
        free(h);
        return NULL;
    }
    h->dom_nbuckets = h->ev_nbuckets = INITIAL_BUCKETS;
    pthread_mutex_init(&h->lock, NULL);
    return h;
}

static void event_release(struct eh_event *ev)
{
    eh_payload_unref(ev->payload);
    for (size_t i = 0; i < ev->attempt_count; i++)
        eh_attempt_unref(ev->attempts[i]);
    free(ev);
}

static void release_all(struct eh_event *garbage)
{
    while (garbage) {
        struct eh_event *next = garbage->next;
        event_release(garbage);
        garbage = next;
    }
}

void event_history_free(struct event_history *h)
{
    if (!h)
        return;
    struct eh_domain *d = h->lru_head;
    while (d) {
        struct eh_domain *next = d->lru_next;
        for (int l = 0; l < 2; l++) {
            struct eh_event *ev = d->lists[l].head;
            while (ev) {
                struct eh_event *n = ev->next;
                event_release(ev);
                ev = n;
            }
        }
        free(d);
        d = next;
    }
    free(h->dom_buckets);
    free(h->ev_buckets);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* --- hash tables (chained, power-of-two buckets, doubled past load 1) ------------ */

static void domain_table_grow(struct event_history *h)
{
    size_t n = h->dom_nbuckets * 2;
    struct eh_domain **b = calloc(n, sizeof *b);
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < h->dom_nbuckets; i++) {
        struct eh_domain *d = h->dom_buckets[i];
        while (d) {
            struct eh_domain *next = d->hnext;
            d->hnext = b[d->hash & (n - 1)];
            b[d->hash & (n - 1)] = d;
            d = next;
        }
    }
    free(h->dom_buckets);
    h->dom_buckets = b;
    h->dom_nbuckets = n;
}

static void event_table_grow(struct event_history *h)
{
    size_t n = h->ev_nbuckets * 2;
    struct eh_event **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < h->ev_nbuckets; i++) {
        struct eh_event *ev = h->ev_buckets[i];
        while (ev) {
            struct eh_event *next = ev->hnext;
            ev->hnext = b[ev->hash & (n - 1)];
            b[ev->hash & (n - 1)] = ev;
            ev = next;
        }
    }
    free(h->ev_buckets);
    h->ev_buckets = b;
    h->ev_nbuckets = n;
}

static uint64_t domain_hash(const char *key)
{
    return eh_hash_bytes(key, strlen(key), 0);
}

static uint64_t event_hash(const struct eh_domain *d, const char *event_id, uint64_t seq)
{
    if (event_id[0])
        return eh_hash_bytes(event_id, strlen(event_id), d->hash);
    uint64_t x = (seq ^ d->hash) * 0x9e3779b97f4a7c15ULL;
    return x ^ (x >> 31);
}

struct eh_domain *eh_domain_lookup(struct event_history *h, const char *key)
{
    uint64_t hash = domain_hash(key);
    for (struct eh_domain *d = h->dom_buckets[hash & (h->dom_nbuckets - 1)]; d; d = d->hnext)
        if (d->hash == hash && strcmp(d->name, key) == 0)
            return d;
    return NULL;
}

static struct eh_event *event_find(struct event_history *h, struct eh_domain *d,
                                   const char *event_id, uint64_t seq)
{
    uint64_t hash = event_hash(d, event_id, seq);
    for (struct eh_event *ev = h->ev_buckets[hash & (h->ev_nbuckets - 1)]; ev; ev = ev->hnext) {
        if (ev->hash != hash || ev->dom != d)
            continue;
        if (event_id[0] ? strcmp(ev->event_id, event_id) == 0
                        : !ev->event_id[0] && ev->stream_seq == seq)
            return ev;
    }
    return NULL;
}

static void event_unhash(struct event_history *h, struct eh_event *ev)
{
    struct eh_event **p = &h->ev_buckets[ev->hash & (h->ev_nbuckets - 1)];
    while (*p && *p != ev)
        p = &(*p)->hnext;
    if (*p)
        *p = ev->hnext;
}

/* --- lists ------------------------------------------------------------------------ */

static void list_unlink(struct eh_list_head *l, struct eh_event *ev)
{
    if (ev->prev)
        ev->prev->next = ev->next;
    else
        l->head = ev->next;
    if (ev->next)
        ev->next->prev = ev->prev;
    else
        l->tail = ev->prev;
    ev->prev = ev->next = NULL;
    l->count--;
}

/* True when `a` is newer than `b`: received later, or at the same millisecond and
 * later in the stream. */
static bool newer(const struct eh_event *a, const struct eh_event *b)
{
    if (a->received_ms != b->received_ms)
        return a->received_ms > b->received_ms;
    return a->stream_seq > b->stream_seq;
}

/* Puts `ev` at its place in the list, newest first. A new event goes to the head at
 * once; one older than the tail to the tail; else a walk from the head. */
static void list_insert(struct eh_domain *d, enum eh_list which, struct eh_event *ev)
{
    struct eh_list_head *l = &d->lists[which];
    struct eh_event *after = NULL, *at = l->head;
    if (l->tail && !newer(ev, l->tail)) {
        after = l->tail;
        at = NULL;
    } else {
        while (at && !newer(ev, at)) {
            after = at;
            at = at->next;
        }
    }
    ev->list = which;
    ev->prev = after;
    ev->next = at;
    if (after)
        after->next = ev;
    else
        l->head = ev;
    if (at)
        at->prev = ev;
    else
        l->tail = ev;
    l->count++;
}

static void lru_unlink(struct event_history *h, struct eh_domain *d)
{
    if (d->lru_prev)
        d->lru_prev->lru_next = d->lru_next;
    else
        h->lru_head = d->lru_next;
    if (d->lru_next)
        d->lru_next->lru_prev = d->lru_prev;
    else
        h->lru_tail = d->lru_prev;
    d->lru_prev = d->lru_next = NULL;
}

/* Makes `d` the most recently active domain (linking it first when new). */
static void lru_push_head(struct event_history *h, struct eh_domain *d)
{
    d->lru_prev = NULL;
    d->lru_next = h->lru_head;
    if (h->lru_head)
        h->lru_head->lru_prev = d;
    else
        h->lru_tail = d;
    h->lru_head = d;
}

static void domain_touch(struct event_history *h, struct eh_domain *d)
{
    if (h->lru_head == d)
        return;
    lru_unlink(h, d);
    lru_push_head(h, d);
}

/* --- forgetting --------------------------------------------------------------------- */

static void event_forget(struct event_history *h, struct eh_event *ev, struct eh_event **garbage)
{
    list_unlink(&ev->dom->lists[ev->list], ev);
    event_unhash(h, ev);
    h->ev_count--;
    h->bytes -= ev->size;
    ev->next = *garbage;
    *garbage = ev;
}

static void domain_forget(struct event_history *h, struct eh_domain *d, struct eh_event **garbage)
{
    for (int l = 0; l < 2; l++)
        while (d->lists[l].head)
            event_forget(h, d->lists[l].head, garbage);
    struct eh_domain **p = &h->dom_buckets[d->hash & (h->dom_nbuckets - 1)];
    while (*p && *p != d)
        p = &(*p)->hnext;
    if (*p)
        *p = d->hnext;
    lru_unlink(h, d);
    h->dom_count--;
    h->bytes -= sizeof *d;
    free(d);
}

/* The oldest event of the least recently active domain that has one, `keep` aside. */
static struct eh_event *oldest_evictable(struct event_history *h, const struct eh_event *keep)
{
    for (struct eh_domain *d = h->lru_tail; d; d = d->lru_prev) {
        struct eh_event *best = NULL;
        for (int l = 0; l < 2; l++) {
            struct eh_event *ev = d->lists[l].tail;
            if (ev == keep)
                ev = ev->prev;
            if (ev && (!best || newer(best, ev)))
                best = ev;
        }
        if (best)
            return best;
    }
    return NULL;
}

/*
 * After `ev` was added, changed or moved: its list's length (only that list can have
 * grown), the domain count, the budget. `ev` itself goes when it is older than every
 * event its full list keeps; the caller must not use it afterwards.
 */
static void enforce_bounds(struct event_history *h, struct eh_event *ev, struct eh_event **garbage)
{
    struct eh_domain *dom = ev->dom;
    const struct eh_event *keep = ev;
    struct eh_list_head *list = &dom->lists[ev->list];
    while (list->count > (size_t)h->opts.per_domain) {
        if (list->tail == keep)
            keep = NULL;
        event_forget(h, list->tail, garbage);
        h->evicted_events++;
    }
    while (h->dom_count > (size_t)h->opts.max_domains && h->lru_tail != dom) {
        domain_forget(h, h->lru_tail, garbage);
        h->evicted_domains++;
    }
    while (h->bytes > h->opts.max_total_bytes) {
        struct eh_event *victim = oldest_evictable(h, keep);
        if (!victim)
            break;
        struct eh_domain *vd = victim->dom;
        event_forget(h, victim, garbage);
        h->evicted_events++;
        if (vd != dom && vd->lists[0].count + vd->lists[1].count == 0)
            domain_forget(h, vd, garbage);
    }
}

/* Recounts what `ev` weighs against the budget. */
static void account(struct event_history *h, struct eh_event *ev)
{
    size_t size = sizeof *ev;
    if (ev->payload)
        size += sizeof *ev->payload + ev->payload->len + 1;
    for (size_t i = 0; i < ev->attempt_count; i++)
        size += ev->attempts[i]->size;
    h->bytes = h->bytes - ev->size + size;
    ev->size = size;
}

/* --- finding or creating the event of an outcome ------------------------------------ */

/* What identifies the event an outcome is about, prepared before locking. */
struct eh_key {
    char domain[EVENT_DOMAIN_MAX + 1];
    char event_id[EVENT_ID_MAX + 1];
    uint64_t stream_seq;
    int64_t now_ms;
    int64_t stored_ms; /* when JetStream stored it, as far as known; else now_ms */
};

static bool key_init(struct eh_key *k, const char *domain, const char *event_id, uint64_t seq)
{
    if (!eh_domain_key(domain, k->domain))
        return false;
    eh_copy_text(k->event_id, sizeof k->event_id, event_id ? event_id : "",
                 event_id ? strlen(event_id) : 0);
    k->stream_seq = seq;
    k->now_ms = k->stored_ms = clock_wall_ms();
    return k->event_id[0] || seq != 0; /* else nothing could ever match it again */
}

static struct eh_domain *domain_create(struct event_history *h, const char *key)
{
    struct eh_domain *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    memcpy(d->name, key, strlen(key) + 1);
    d->hash = domain_hash(key);
    if (h->dom_count >= h->dom_nbuckets)
        domain_table_grow(h);
    size_t b = d->hash & (h->dom_nbuckets - 1);
    d->hnext = h->dom_buckets[b];
    h->dom_buckets[b] = d;
    h->dom_count++;
    h->bytes += sizeof *d;
    lru_push_head(h, d);
    return d;
}

/*
 * The event `k` names, its domain marked active. When it is not there and `create`
 * is set, *fresh (zeroed, allocated by the caller before locking) becomes it, as a
 * pending event at the head of the successful list, and *fresh is cleared.
 */
static struct eh_event *locate(struct event_history *h, const struct eh_key *k, bool create,
                               struct eh_event **fresh)
{
    struct eh_domain *d = eh_domain_lookup(h, k->domain);
    struct eh_event *ev = d ? event_find(h, d, k->event_id, k->stream_seq) : NULL;
    if (ev) {
        domain_touch(h, d);
        return ev;
    }
    if (!create || !*fresh)
        return NULL;
    if (!d && !(d = domain_create(h, k->domain)))
        return NULL;
    domain_touch(h, d);
    ev = *fresh;
    *fresh = NULL;
    ev->dom = d;
    memcpy(ev->event_id, k->event_id, sizeof ev->event_id);
    ev->stream_seq = k->stream_seq;
    ev->received_ms = k->stored_ms;
    ev->updated_ms = k->now_ms;
    ev->status = EH_PENDING;
    ev->max_deliver = h->opts.max_deliver;
    ev->hash = event_hash(d, ev->event_id, ev->stream_seq);
    if (h->ev_count >= h->ev_nbuckets)
        event_table_grow(h);
    size_t b = ev->hash & (h->ev_nbuckets - 1);
    ev->hnext = h->ev_buckets[b];
    h->ev_buckets[b] = ev;
    h->ev_count++;
    list_insert(d, EH_LIST_OK, ev);
    return ev;
}

/* --- the sinks ------------------------------------------------------------------------ */

void event_history_received(struct event_history *h, const struct outcome_received *r)
{
    struct eh_key k;
    if (!h || !r || !key_init(&k, r->domain, r->event_id, r->stream_seq))
        return;
    /* A duplicate's fate was decided by the first copy: add nothing for it. */
    struct eh_payload *payload = NULL;
    struct eh_event *fresh = NULL;
    if (!r->duplicate) {
        if (r->event && r->event_len > 0)
            payload = eh_payload_new(r->event, r->event_len, h->opts.max_event_bytes);
        fresh = calloc(1, sizeof *fresh);
    }
    struct eh_event *garbage = NULL;

    pthread_mutex_lock(&h->lock);
    struct eh_event *ev = locate(h, &k, !r->duplicate, &fresh);
    if (ev) {
        /* Already there: a delivery outcome may come first (another thread). */
        if (!ev->stream_seq)
            ev->stream_seq = k.stream_seq;
        if (!ev->payload && payload) {
            ev->payload = payload;
            payload = NULL;
        }
        if (!ev->api_key[0] && r->api_key && !r->duplicate)
            snprintf(ev->api_key, sizeof ev->api_key, "%s", r->api_key);
        account(h, ev);
        enforce_bounds(h, ev, &garbage);
    }
    pthread_mutex_unlock(&h->lock);

    free(fresh);
    eh_payload_unref(payload);
    release_all(garbage);
}

static bool delivery_status(const char *type, enum eh_status *out)
{
    if (!type)
        return false;
    if (strcmp(type, "forwarded") == 0)
        *out = EH_SUCCESSFUL;
    else if (strcmp(type, "failed") == 0)
        *out = EH_FAILED;
    else if (strcmp(type, "dead_lettered") == 0)
        *out = EH_DEAD_LETTERED;
    else
        return false;
    return true;
}

/* Records attempt *att on `ev` (moving it to the list of its new status); *att becomes the record
 * to drop (the one it replaced or pushed out, or itself when the outcome is stale), or NULL. */
static void apply_delivery(struct event_history *h, struct eh_event *ev,
                           const struct outcome_delivery *d, enum eh_status st,
                           struct eh_attempt **att, int64_t now_ms)
{
    /* A replayed dead letter is a newer copy of the event (a higher stream_seq) whose
     * attempts start again at 1; outcomes of an older copy, or of an older attempt of
     * this copy, reported late are stale: what we have is newer. */
    bool newer_copy = d->stream_seq && ev->stream_seq && d->stream_seq > ev->stream_seq;
    bool older_copy = d->stream_seq && ev->stream_seq && d->stream_seq < ev->stream_seq;
    if (older_copy || (!newer_copy && !d->one_endpoint && d->attempt < ev->delivery_attempt))
        return;
    if (!ev->stream_seq || newer_copy)
        ev->stream_seq = d->stream_seq;
    ev->status = st;
    ev->delivery_attempt = d->attempt;
    if (d->max_deliver > 0)
        ev->max_deliver = d->max_deliver;
    ev->will_retry = st == EH_FAILED &&
                     (d->will_retry || (d->one_endpoint && strcmp(d->type, "forwarded") == 0));
    ev->updated_ms = now_ms;

    struct eh_attempt *drop = NULL;
    size_t n = ev->attempt_count;
    if (n > 0 && !newer_copy && ev->attempts[n - 1]->attempt == d->attempt) {
        drop = ev->attempts[n - 1]; /* e.g. "failed" then "dead_lettered" of one attempt */
        ev->attempts[n - 1] = *att;
    } else {
        if (n == EVENT_HISTORY_MAX_ATTEMPTS) {
            drop = ev->attempts[0];
            memmove(&ev->attempts[0], &ev->attempts[1], (n - 1) * sizeof ev->attempts[0]);
            ev->attempt_count = --n;
            ev->attempts_omitted++;
        }
        ev->attempts[ev->attempt_count++] = *att;
    }
    *att = drop;

    enum eh_list target = st == EH_SUCCESSFUL ? EH_LIST_OK : EH_LIST_FAILED;
    if (ev->list != target) {
        list_unlink(&ev->dom->lists[ev->list], ev);
        list_insert(ev->dom, target, ev);
    }
}

/* A parked delivery's retry reports one endpoint (outcome.h one_endpoint): the attempt
 * kept shows it next to the others as they last stood (delivered earlier, not called
 * now), and the event is successful once every endpoint is. Lock held; `last` is the
 * event's latest attempt (NULL: none kept). Returns a new attempt, or NULL. */
static struct eh_attempt *merge_one_endpoint(const struct outcome_delivery *d, enum eh_status *st,
                                             const struct eh_attempt *last, int64_t now_ms)
{
    if (!last || d->endpoint_count != 1)
        return NULL;
    size_t n = last->endpoint_count;
    struct outcome_endpoint eps[EVENT_HISTORY_MAX_ENDPOINTS + 1];
    if (n > EVENT_HISTORY_MAX_ENDPOINTS)
        n = EVENT_HISTORY_MAX_ENDPOINTS;
    const struct outcome_endpoint *mine = &d->endpoints[0];
    bool found = false, all_delivered = true;
    for (size_t i = 0; i < n; i++) {
        const struct eh_endpoint *e = &last->endpoints[i];
        if (e->url && mine->url && strcmp(e->url, mine->url) == 0 && !found) {
            eps[i] = *mine;
            found = true;
        } else {
            eps[i] = (struct outcome_endpoint){.url = e->url,
                                               .error = e->error,
                                               .status = e->status,
                                               .delivered = e->delivered,
                                               .called = false};
        }
        all_delivered &= eps[i].delivered;
    }
    if (!found) {
        eps[n++] = *mine;
        all_delivered &= mine->delivered;
    }
    if (*st == EH_SUCCESSFUL && !all_delivered)
        *st = EH_FAILED; /* this endpoint is done; another one is still parked */
    struct outcome_delivery merged = *d;
    merged.endpoints = eps;
    merged.endpoint_count = n;
    if (*st == EH_FAILED && !d->will_retry && strcmp(d->type, "forwarded") == 0)
        merged.will_retry = true;
    return eh_attempt_new(&merged, *st, now_ms);
}

void event_history_delivery(struct event_history *h, const struct outcome_delivery *d)
{
    enum eh_status st;
    struct eh_key k;
    if (!h || !d || !delivery_status(d->type, &st) ||
        !key_init(&k, d->domain, d->event_id, d->stream_seq))
        return;
    /* An event first seen here dates from when it was stored: an old one evicted
     * before lands behind the newer events kept (and goes again when the list is full). */
    if (d->e2e_latency_us > 0 && d->e2e_latency_us / 1000 < k.now_ms)
        k.stored_ms = k.now_ms - d->e2e_latency_us / 1000;
    struct eh_attempt *att = eh_attempt_new(d, st, k.now_ms);
    if (!att)
        return;
    struct eh_event *fresh = calloc(1, sizeof *fresh);
    struct eh_payload *payload = NULL;
    struct eh_event *garbage = NULL;
    bool has_event = d->event && d->event_len > 0;

    pthread_mutex_lock(&h->lock);
    struct eh_event *ev = locate(h, &k, !has_event, &fresh);
    if (!ev && has_event) {
        /* Not seen before (a restart, or the outcome beat the publish ack): copy and
         * check the payload off the lock, then look again. */
        pthread_mutex_unlock(&h->lock);
        payload = eh_payload_new(d->event, d->event_len, h->opts.max_event_bytes);
        pthread_mutex_lock(&h->lock);
        ev = locate(h, &k, true, &fresh);
    }
    if (ev && d->one_endpoint) {
        struct eh_attempt *merged = merge_one_endpoint(
            d, &st, ev->attempt_count ? ev->attempts[ev->attempt_count - 1] : NULL, k.now_ms);
        if (merged) {
            eh_attempt_unref(att);
            att = merged;
        }
    }
    if (ev) {
        if (!ev->payload && payload) {
            ev->payload = payload;
            payload = NULL;
        }
        apply_delivery(h, ev, d, st, &att, k.now_ms);
        account(h, ev);
        enforce_bounds(h, ev, &garbage);
    }
    pthread_mutex_unlock(&h->lock);

    eh_attempt_unref(att);
    free(fresh);
    eh_payload_unref(payload);
    release_all(garbage);
}

static void sink_received(void *ctx, const struct outcome_received *r)
{
    event_history_received(ctx, r);
}

static void sink_delivery(void *ctx, const struct outcome_delivery *d)
{
    event_history_delivery(ctx, d);
}

struct outcome_sink event_history_sink(struct event_history *h)
{
    return (struct outcome_sink){.received = sink_received, .delivery = sink_delivery, .ctx = h};
}

void event_history_get_stats(struct event_history *h, struct event_history_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    out->domains = h->dom_count;
    out->events = h->ev_count;
    out->bytes = h->bytes;
    out->evicted_events = h->evicted_events;
    out->evicted_domains = h->evicted_domains;
    pthread_mutex_unlock(&h->lock);
}
