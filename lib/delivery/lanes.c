/*
 * lanes — see lanes.h.
 *
 * The registry is an array of lanes (never shrinks: a retired lane stays, cheap, so
 * pointers handed to nats.c subscriptions and queued calls stay valid until
 * lanes_free) and an open-addressing index by key. `lock` guards both, each lane's
 * `endpoint`, the current route table and the published views.
 */
#include "delivery/lanes.h"

#include "core/clock.h"
#include "config/config.h"
#include "core/log.h"
#include "nats/nats_link.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SUBSYS = "lanes";
#define POLL_MS 1000
#define NS_PER_MS 1000000LL

struct lanes {
    const struct config *settings;
    struct nats_link *link;
    lanes_record_fn on_record;
    void *closure;

    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct config *routes; /* under lock */
    struct lane **all;     /* under lock (append only) */
    size_t count, cap;
    struct lane **index; /* by key; size index_cap (power of two) */
    size_t index_cap;
    bool stopping, poked;
    struct lane_view *views; /* under lock */
    size_t view_count;

    pthread_t thread;
    bool started;
};

static uint64_t key_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return h;
}

/* Lock held. */
static struct lane *find(struct lanes *ls, const char *key)
{
    if (!ls->index_cap)
        return NULL;
    size_t mask = ls->index_cap - 1;
    for (size_t i = key_hash(key) & mask;; i = (i + 1) & mask) {
        struct lane *l = ls->index[i];
        if (!l)
            return NULL;
        if (strcmp(l->key, key) == 0)
            return l;
    }
}

/* Lock held. */
static bool index_grow(struct lanes *ls)
{
    size_t cap = ls->index_cap ? ls->index_cap * 2 : 64;
    struct lane **index = calloc(cap, sizeof *index);
    if (!index)
        return false;
    for (size_t j = 0; j < ls->count; j++) {
        size_t i = key_hash(ls->all[j]->key) & (cap - 1);
        while (index[i])
            i = (i + 1) & (cap - 1);
        index[i] = ls->all[j];
    }
    free(ls->index);
    ls->index = index;
    ls->index_cap = cap;
    return true;
}

/* Lock held. A new lane for `key`; endpoint may be NULL (a backlog found in the
 * stream for no current route). */
static struct lane *make(struct lanes *ls, const char *key, const struct endpoint *ep,
                         const char *domain)
{
    if ((ls->count + 1) * 2 > ls->index_cap && !index_grow(ls))
        return NULL;
    if (ls->count == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 64;
        struct lane **all = realloc(ls->all, cap * sizeof *all);
        if (!all)
            return NULL;
        ls->all = all;
        ls->cap = cap;
    }
    struct lane *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    snprintf(l->key, sizeof l->key, "%s", key);
    l->domain = strdup(domain ? domain : "");
    l->label = strdup(ep ? ep->label : "(endpoint no longer routed)");
    l->display_url = strdup(ep ? ep->display_url : "");
    const struct config *s = ls->settings;
    l->max_concurrent = ep && ep->max_concurrent > 0 ? ep->max_concurrent : 4;
    l->rate_per_s = ep ? ep->rate_per_s : 0;
    breaker_init(&l->breaker, s->delivery.breaker_failures, s->delivery.breaker_cooldown_ms,
                 s->delivery.breaker_max_cooldown_ms);
    token_bucket_init(&l->bucket, l->rate_per_s, 0, clock_mono_ms());
    atomic_init(&l->parked, -1);
    atomic_init(&l->poll_gen, 0);
    atomic_init(&l->want_consumer, false);
    atomic_init(&l->recheck, false);
    l->owner = ls;
    if (!l->domain || !l->label || !l->display_url) {
        free(l->domain);
        free(l->label);
        free(l->display_url);
        free(l);
        return NULL;
    }
    ls->all[ls->count++] = l;
    size_t i = key_hash(key) & (ls->index_cap - 1);
    while (ls->index[i])
        i = (i + 1) & (ls->index_cap - 1);
    ls->index[i] = l;
    return l;
}

struct lanes *lanes_new(const struct config *settings, struct config *routes,
                        struct nats_link *link, lanes_record_fn on_record, void *closure)
{
    struct lanes *ls = calloc(1, sizeof *ls);
    if (!ls)
        return NULL;
    ls->settings = settings;
    ls->link = link;
    ls->on_record = on_record;
    ls->closure = closure;
    pthread_mutex_init(&ls->lock, NULL);
    pthread_cond_init(&ls->wake, NULL);
    lanes_bind(ls, routes); /* before any other thread can see `ls` */
    return ls;
}

void lanes_bind(struct lanes *ls, struct config *cfg)
{
    config_ref(cfg);
    pthread_mutex_lock(&ls->lock);
    struct config *old = ls->routes;
    ls->routes = cfg;
    for (size_t j = 0; j < ls->count; j++)
        ls->all[j]->endpoint = NULL;
    for (size_t r = 0; r < cfg->route_count; r++) {
        const struct route *route = &cfg->routes[r];
        for (size_t e = 0; e < route->endpoint_count; e++) {
            const struct endpoint *ep = &route->endpoints[e];
            struct lane *l = find(ls, ep->key);
            if (!l)
                l = make(ls, ep->key, ep, route->domain);
            if (!l)
                continue;
            l->endpoint = ep;
            if (l->label[0] == '(') { /* found in the stream before its route came back */
                char *label = strdup(ep->label), *url = strdup(ep->display_url);
                if (label && url) {
                    free(l->label);
                    free(l->display_url);
                    l->label = label;
                    l->display_url = url;
                } else {
                    free(label);
                    free(url);
                }
            }
            /* Delivery-thread fields: lanes_bind runs on the delivery thread. */
            l->max_concurrent = ep->max_concurrent > 0 ? ep->max_concurrent : 1;
            if (l->rate_per_s != ep->rate_per_s) {
                l->rate_per_s = ep->rate_per_s;
                token_bucket_init(&l->bucket, ep->rate_per_s, 0, clock_mono_ms());
            }
        }
    }
    pthread_mutex_unlock(&ls->lock);
    config_unref(old);
}

struct lane *lanes_get(struct lanes *ls, const struct endpoint *ep, const char *domain)
{
    pthread_mutex_lock(&ls->lock);
    struct lane *l = find(ls, ep->key);
    if (!l) {
        l = make(ls, ep->key, ep, domain);
        if (l)
            l->endpoint = ep;
    }
    pthread_mutex_unlock(&ls->lock);
    return l;
}

const struct endpoint *lanes_endpoint(struct lanes *ls, struct lane *lane, struct config **cfg_out)
{
    pthread_mutex_lock(&ls->lock);
    const struct endpoint *ep = lane->endpoint;
    *cfg_out = ep ? config_ref(ls->routes) : NULL;
    pthread_mutex_unlock(&ls->lock);
    return ep;
}

bool lanes_routed(struct lanes *ls, const char *key)
{
    pthread_mutex_lock(&ls->lock);
    const struct lane *l = find(ls, key);
    bool routed = l && l->endpoint;
    pthread_mutex_unlock(&ls->lock);
    return routed;
}

size_t lanes_count(struct lanes *ls)
{
    pthread_mutex_lock(&ls->lock);
    size_t n = ls->count;
    pthread_mutex_unlock(&ls->lock);
    return n;
}

struct lane *lanes_at(struct lanes *ls, size_t i)
{
    pthread_mutex_lock(&ls->lock);
    struct lane *l = i < ls->count ? ls->all[i] : NULL;
    pthread_mutex_unlock(&ls->lock);
    return l;
}

void lanes_recheck(struct lanes *ls)
{
    pthread_mutex_lock(&ls->lock);
    for (size_t i = 0; i < ls->count; i++)
        atomic_store(&ls->all[i]->recheck, true);
    ls->poked = true;
    pthread_cond_signal(&ls->wake);
    pthread_mutex_unlock(&ls->lock);
}

void lanes_poke(struct lanes *ls)
{
    pthread_mutex_lock(&ls->lock);
    ls->poked = true;
    pthread_cond_signal(&ls->wake);
    pthread_mutex_unlock(&ls->lock);
}

/* ---- manager thread ---- */

/* Lock held. The endpoint with this key in the current routes, or NULL. */
static const struct endpoint *routed_endpoint(struct lanes *ls, const char *key,
                                              const char **domain)
{
    for (size_t r = 0; ls->routes && r < ls->routes->route_count; r++) {
        const struct route *route = &ls->routes->routes[r];
        for (size_t e = 0; e < route->endpoint_count; e++)
            if (strcmp(route->endpoints[e].key, key) == 0) {
                *domain = route->domain;
                return &route->endpoints[e];
            }
    }
    return NULL;
}

static void on_nats_record(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    struct lane *lane = closure;
    struct lanes *ls = lane->owner;
    ls->on_record(ls->closure, lane, msg);
}

/* The lane's durable consumer on the retry stream, and (once) our subscription to
 * it: after a reconnect nats.c resubscribes by itself, and the consumer is made again
 * if the server lost it (a memory stream, a new server). */
static void setup_consumer(struct lanes *ls, struct lane *lane)
{
    const struct config *cfg = ls->settings;
    char durable[128], filter[512], deliver[512];
    snprintf(durable, sizeof durable, "%s-%s", cfg->nats.consumer_name, lane->key);
    snprintf(filter, sizeof filter, "%s.%s", cfg->nats.retry_subject_prefix, lane->key);
    snprintf(deliver, sizeof deliver, "%s.retry.%s", cfg->nats.deliver_subject, lane->key);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = durable;
    cc.FilterSubject = filter;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = cfg->nats.ack_wait_ms * NS_PER_MS;
    cc.MaxDeliver = -1; /* eventhub counts attempts and dead-letters (delivery.c) */
    cc.MaxAckPending = cfg->delivery.retry_window;
    cc.DeliverPolicy = js_DeliverAll;
    cc.DeliverSubject = deliver;
    cc.DeliverGroup = cfg->nats.deliver_group;
    jsCtx *js = nats_link_js(ls->link);
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, js, cfg->nats.retry_stream, durable, NULL, &jerr);
    if (s == NATS_NOT_FOUND)
        s = js_AddConsumer(&ci, js, cfg->nats.retry_stream, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK) {
        log_warn(SUBSYS, "cannot set up retry consumer %s: %s (%s)", durable, natsStatus_GetText(s),
                 nats_GetLastError(NULL));
        return;
    }
    if (lane->sub) {
        lane->consumer_ready = true;
        return;
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = cfg->nats.retry_stream;
    so.Consumer = durable;
    so.Queue = cfg->nats.deliver_group;
    so.ManualAck = true;
    natsSubscription *sub = NULL;
    s = js_Subscribe(&sub, js, filter, on_nats_record, lane, NULL, &so, &jerr);
    if (s != NATS_OK) {
        log_warn(SUBSYS, "cannot receive from retry consumer %s: %s (%s)", durable,
                 natsStatus_GetText(s), nats_GetLastError(NULL));
        return;
    }
    natsSubscription_SetPendingLimits(sub, cfg->delivery.retry_window * 2 + 64, -1);
    lane->sub = sub;
    lane->consumer_ready = true;
    log_info(SUBSYS, "endpoint key %s (%s): receiving its parked deliveries (consumer %s)",
             lane->key, lane->domain, durable);
}

/* How many records each lane's subject holds; finds backlogs without a lane. */
static void poll_stream(struct lanes *ls)
{
    const struct config *cfg = ls->settings;
    char filter[512];
    snprintf(filter, sizeof filter, "%s.*", cfg->nats.retry_subject_prefix);
    size_t prefix_len = strlen(cfg->nats.retry_subject_prefix) + 1;
    jsOptions o;
    jsOptions_Init(&o);
    o.Stream.Info.SubjectsFilter = filter;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, nats_link_js(ls->link), cfg->nats.retry_stream, &o, &jerr);
    if (s != NATS_OK) {
        static struct log_ratelimit rl;
        int suppressed = 0;
        if (log_ratelimit_ok(&rl, 2, 60000, &suppressed))
            log_warn(SUBSYS, "cannot read the retry stream %s: %s (%d similar suppressed)",
                     cfg->nats.retry_stream, natsStatus_GetText(s), suppressed);
        return;
    }
    pthread_mutex_lock(&ls->lock);
    jsStreamStateSubjects *subjects = si->State.Subjects;
    for (int i = 0; subjects && i < subjects->Count; i++) {
        const char *subj = subjects->List[i].Subject;
        if (!subj || strlen(subj) <= prefix_len)
            continue;
        const char *key = subj + prefix_len;
        struct lane *l = find(ls, key);
        if (!l) {
            /* Left by an earlier run, or a route that is gone: then a lane without
             * endpoint (retired), so its records reach the dead-letter stream. */
            const char *domain = "";
            const struct endpoint *ep = routed_endpoint(ls, key, &domain);
            l = make(ls, key, ep, domain);
            if (l && ep)
                l->endpoint = ep;
            if (l && !ep) {
                log_warn(SUBSYS,
                         "%llu parked deliveries for endpoint key %s, which no route has "
                         "now; they go to the dead-letter stream (endpoint_removed)",
                         (unsigned long long)subjects->List[i].Msgs, key);
            }
        }
        if (!l)
            continue;
        atomic_store(&l->parked, (int64_t)subjects->List[i].Msgs);
        l->polled = true;
    }
    for (size_t j = 0; j < ls->count; j++) {
        struct lane *l = ls->all[j];
        if (!l->polled)
            atomic_store(&l->parked, 0);
        l->polled = false;
        atomic_fetch_add(&l->poll_gen, 1);
    }
    pthread_mutex_unlock(&ls->lock);
    jsStreamInfo_Destroy(si);
}

static void *manager_main(void *arg)
{
    struct lanes *ls = arg;
    for (;;) {
        pthread_mutex_lock(&ls->lock);
        if (!ls->stopping && !ls->poked) {
            int64_t until = clock_wall_ms() + POLL_MS;
            struct timespec ts = {.tv_sec = (time_t)(until / 1000),
                                  .tv_nsec = (long)(until % 1000) * 1000000};
            pthread_cond_timedwait(&ls->wake, &ls->lock, &ts);
        }
        bool stopping = ls->stopping;
        ls->poked = false;
        pthread_mutex_unlock(&ls->lock);
        if (stopping)
            break;
        if (!nats_link_ready(ls->link))
            continue;
        poll_stream(ls);
        for (size_t i = 0;; i++) {
            struct lane *l = lanes_at(ls, i);
            if (!l)
                break;
            if (atomic_exchange(&l->recheck, false))
                l->consumer_ready = false;
            if (!l->consumer_ready &&
                (l->sub || atomic_load(&l->want_consumer) || atomic_load(&l->parked) > 0))
                setup_consumer(ls, l);
        }
    }
    return NULL;
}

int lanes_start(struct lanes *ls)
{
    if (pthread_create(&ls->thread, NULL, manager_main, ls) != 0)
        return -1;
    ls->started = true;
    return 0;
}

bool lanes_stop(struct lanes *ls)
{
    if (!ls)
        return true;
    pthread_mutex_lock(&ls->lock);
    ls->stopping = true;
    pthread_cond_signal(&ls->wake);
    pthread_mutex_unlock(&ls->lock);
    if (ls->started) {
        pthread_join(ls->thread, NULL);
        ls->started = false;
    }
    bool drained = true;
    for (size_t i = 0; i < ls->count; i++)
        if (ls->all[i]->sub && natsSubscription_Drain(ls->all[i]->sub) != NATS_OK)
            drained = false;
    int64_t until = clock_mono_ms() + 2000;
    for (size_t i = 0; i < ls->count; i++) {
        int64_t left = until - clock_mono_ms();
        if (ls->all[i]->sub && natsSubscription_WaitForDrainCompletion(
                                   ls->all[i]->sub, left > 1 ? left : 1) != NATS_OK)
            drained = false;
    }
    return drained;
}

void lanes_free(struct lanes *ls)
{
    if (!ls)
        return;
    lanes_stop(ls);
    for (size_t i = 0; i < ls->count; i++) {
        struct lane *l = ls->all[i];
        natsSubscription_Destroy(l->sub);
        free(l->domain);
        free(l->label);
        free(l->display_url);
        free(l);
    }
    free(ls->all);
    free(ls->index);
    free(ls->views);
    config_unref(ls->routes);
    pthread_cond_destroy(&ls->wake);
    pthread_mutex_destroy(&ls->lock);
    free(ls);
}

/* ---- views ---- */

void lanes_publish_views(struct lanes *ls, int64_t now_mono_ms)
{
    pthread_mutex_lock(&ls->lock);
    size_t n = ls->count;
    struct lane_view *v = n ? calloc(n, sizeof *v) : NULL;
    int64_t wall = clock_wall_ms();
    size_t shown = 0;
    for (size_t i = 0; v && i < n; i++) {
        struct lane *l = ls->all[i];
        int64_t parked = lane_parked(l);
        bool known = atomic_load(&l->parked) >= 0 || l->parked_local > 0;
        /* A retired endpoint is shown while it still has deliveries to settle. */
        if (!l->endpoint && parked <= 0 && l->waiting == 0 && l->in_flight == 0 &&
            l->held_records == 0)
            continue;
        struct lane_view *o = &v[shown++];
        snprintf(o->key, sizeof o->key, "%s", l->key);
        snprintf(o->domain, sizeof o->domain, "%s", l->domain);
        snprintf(o->label, sizeof o->label, "%s", l->label);
        snprintf(o->url, sizeof o->url, "%s", l->display_url);
        o->state = lane_state_name(lane_state(l, now_mono_ms, l->endpoint != NULL));
        o->in_flight = l->in_flight;
        o->waiting = l->waiting;
        o->parked = known ? parked : -1;
        o->consecutive_failures = l->breaker.consecutive_failures;
        o->last_status = l->last_status;
        snprintf(o->last_error, sizeof o->last_error, "%s", l->last_error);
        int64_t next = lane_next_change_ms(l, now_mono_ms);
        o->next_try_wall_ms = next ? wall + (next - now_mono_ms) : 0;
        o->delivered = l->delivered;
        o->failed = l->failed;
    }
    if (v || n == 0) {
        free(ls->views);
        ls->views = v;
        ls->view_count = shown;
    }
    pthread_mutex_unlock(&ls->lock);
}

struct lane_view *lanes_views(struct lanes *ls, size_t *n)
{
    pthread_mutex_lock(&ls->lock);
    *n = 0;
    struct lane_view *copy = ls->view_count ? malloc(ls->view_count * sizeof *copy) : NULL;
    if (copy) {
        memcpy(copy, ls->views, ls->view_count * sizeof *copy);
        *n = ls->view_count;
    }
    pthread_mutex_unlock(&ls->lock);
    return copy;
}
