/*
 * metrics — see metrics.h.
 *
 * Slots live in two pointer arrays sized at creation (domains, endpoints) and are
 * published in order: the slot is filled, then the array element, then the hash
 * table entry and the count are stored with release. A reader that sees an entry or a
 * count (acquire) sees the whole slot. The hash tables (open addressing, at most half
 * full, entries hold slot + 1, 0 = empty) are never shrunk or rehashed, so a probe by
 * a reader is always safe. Only metrics_set_routes writes, under `lock`.
 */
#include "sinks/metrics.h"

#include "config/config.h"
#include "core/log.h"
#include "core/metrics_text.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SLOT_DEFAULT 0u
#define SLOT_OTHER 1u
#define ENDPOINT_FALLBACK 0u

/* Where a received event came from (outcome_received.source): the kinds added with
 * metrics_add_source, then "other" for any other source (written only when not zero). */
#define SOURCE_OTHER "other"

/* Dead-letter reasons delivery uses; anything else is "other". */
static const char *const reasons[] = {
    "max_deliveries_exceeded",
    "endpoint_unavailable",
    "endpoint_gone",
    "endpoint_removed",
    "invalid_record",
    "no_route",
    "invalid_json",
    "not_an_object",
    "invalid_domain",
    "invalid_event_id",
    "other",
};
#define REASON_COUNT (sizeof reasons / sizeof reasons[0])

struct domain_series {
    char *name;
    _Atomic bool active; /* a route names it exactly (see resolve) */
    _Atomic uint64_t received[METRICS_MAX_SOURCES];
    _Atomic uint64_t delivered;
    _Atomic uint64_t failed;
    _Atomic uint64_t retried;
    _Atomic uint64_t dead_lettered[REASON_COUNT];
    struct metrics_histogram e2e;
};

struct endpoint_series {
    uint32_t domain; /* slot of the domain label */
    char *label;     /* the endpoint label value: the endpoint's label (config.h) */
    _Atomic uint64_t ok;
    _Atomic uint64_t failed;
    struct metrics_histogram latency;
};

struct label_index {
    _Atomic uint32_t *entries; /* slot + 1; 0 = empty */
    uint32_t mask;
};

struct metrics {
    pthread_mutex_t lock; /* held by metrics_set_routes, the only writer */
    size_t max_domains;
    size_t max_endpoints;
    struct domain_series **domains;
    _Atomic size_t domain_count;
    struct endpoint_series **endpoints;
    _Atomic size_t endpoint_count;
    struct label_index domain_index;
    struct label_index endpoint_index;
    /* Source kinds (metrics_add_source, before producers start), then "other". */
    const char *sources[METRICS_MAX_SOURCES];
    size_t source_count; /* without "other" */
    _Atomic bool has_default;
    _Atomic uint64_t unlabelled_domains;
    _Atomic uint64_t unlabelled_endpoints;
    struct metrics_histogram ingress;
};

static uint32_t hash_bytes(uint32_t h, const char *s, bool fold_case)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (fold_case && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        h = (h ^ c) * 16777619u;
    }
    return h;
}

static uint32_t domain_hash(const char *name)
{
    return hash_bytes(2166136261u, name, true);
}

static uint32_t endpoint_hash(uint32_t domain, const char *label)
{
    return hash_bytes(2166136261u ^ (domain * 2654435761u), label, false);
}

static bool index_init(struct label_index *ix, size_t max_slots)
{
    size_t size = 16;
    while (size < max_slots * 2)
        size *= 2;
    ix->entries = calloc(size, sizeof *ix->entries);
    ix->mask = (uint32_t)(size - 1);
    return ix->entries != NULL;
}

static int find_domain(const struct metrics *m, const char *name)
{
    const struct label_index *ix = &m->domain_index;
    for (uint32_t i = domain_hash(name) & ix->mask;; i = (i + 1) & ix->mask) {
        uint32_t v = atomic_load_explicit(&ix->entries[i], memory_order_acquire);
        if (v == 0)
            return -1;
        if (strcasecmp(m->domains[v - 1]->name, name) == 0)
            return (int)(v - 1);
    }
}

static int find_endpoint(const struct metrics *m, uint32_t domain, const char *label)
{
    const struct label_index *ix = &m->endpoint_index;
    for (uint32_t i = endpoint_hash(domain, label) & ix->mask;; i = (i + 1) & ix->mask) {
        uint32_t v = atomic_load_explicit(&ix->entries[i], memory_order_acquire);
        if (v == 0)
            return -1;
        const struct endpoint_series *e = m->endpoints[v - 1];
        if (e->domain == domain && strcmp(e->label, label) == 0)
            return (int)(v - 1);
    }
}

/* Writer only: publishes `slot` under hash `h` in the first free entry. */
static void index_insert(struct label_index *ix, uint32_t h, uint32_t slot)
{
    uint32_t i = h & ix->mask;
    while (atomic_load_explicit(&ix->entries[i], memory_order_relaxed) != 0)
        i = (i + 1) & ix->mask;
    atomic_store_explicit(&ix->entries[i], slot + 1, memory_order_release);
}

/* Writer only. The slot of `name`, created when missing; -1 when the cap is reached. */
static int add_domain(struct metrics *m, const char *name)
{
    int found = find_domain(m, name);
    if (found >= 0)
        return found;
    size_t n = atomic_load_explicit(&m->domain_count, memory_order_relaxed);
    if (n >= m->max_domains)
        return -1;
    struct domain_series *s = calloc(1, sizeof *s);
    char *copy = strdup(name);
    if (!s || !copy) {
        free(s);
        free(copy);
        return -1;
    }
    s->name = copy;
    atomic_init(&s->active, false);
    m->domains[n] = s;
    index_insert(&m->domain_index, domain_hash(name), (uint32_t)n);
    atomic_store_explicit(&m->domain_count, n + 1, memory_order_release);
    return (int)n;
}

static int add_endpoint(struct metrics *m, uint32_t domain, const char *label)
{
    int found = find_endpoint(m, domain, label);
    if (found >= 0)
        return found;
    size_t n = atomic_load_explicit(&m->endpoint_count, memory_order_relaxed);
    if (n >= m->max_endpoints)
        return -1;
    struct endpoint_series *e = calloc(1, sizeof *e);
    char *copy = strdup(label);
    if (!e || !copy) {
        free(e);
        free(copy);
        return -1;
    }
    e->domain = domain;
    e->label = copy;
    m->endpoints[n] = e;
    index_insert(&m->endpoint_index, endpoint_hash(domain, label), (uint32_t)n);
    atomic_store_explicit(&m->endpoint_count, n + 1, memory_order_release);
    return (int)n;
}

struct metrics *metrics_new(size_t max_domains, size_t max_endpoints)
{
    struct metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->sources[0] = SOURCE_OTHER;
    m->max_domains = max_domains >= 2 ? max_domains : METRICS_DEFAULT_MAX_DOMAINS;
    m->max_endpoints = max_endpoints >= 1 ? max_endpoints : METRICS_DEFAULT_MAX_ENDPOINTS;
    m->domains = calloc(m->max_domains, sizeof *m->domains);
    m->endpoints = calloc(m->max_endpoints, sizeof *m->endpoints);
    if (!m->domains || !m->endpoints || !index_init(&m->domain_index, m->max_domains) ||
        !index_init(&m->endpoint_index, m->max_endpoints) ||
        add_domain(m, METRICS_LABEL_DEFAULT) != (int)SLOT_DEFAULT ||
        add_domain(m, METRICS_LABEL_OTHER) != (int)SLOT_OTHER ||
        add_endpoint(m, SLOT_OTHER, METRICS_LABEL_OTHER) != (int)ENDPOINT_FALLBACK) {
        metrics_free(m);
        return NULL;
    }
    return m;
}

bool metrics_add_source(struct metrics *m, const char *kind)
{
    for (size_t i = 0; i < m->source_count; i++)
        if (strcmp(m->sources[i], kind) == 0)
            return true;
    if (m->source_count + 1 >= METRICS_MAX_SOURCES)
        return false;
    m->sources[m->source_count++] = kind;
    m->sources[m->source_count] = SOURCE_OTHER;
    return true;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->domains && i < atomic_load(&m->domain_count); i++) {
        free(m->domains[i]->name);
        free(m->domains[i]);
    }
    for (size_t i = 0; m->endpoints && i < atomic_load(&m->endpoint_count); i++) {
        free(m->endpoints[i]->label);
        free(m->endpoints[i]);
    }
    free(m->domains);
    free(m->endpoints);
    free(m->domain_index.entries);
    free(m->endpoint_index.entries);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* True when cfg routes `name` through a route of exactly that name. */
static bool named_route(const struct config *cfg, const char *name)
{
    const struct route *r = config_find_route(cfg, name);
    return r && !r->is_default && strcasecmp(r->domain, name) == 0;
}

void metrics_set_routes(struct metrics *m, const struct config *cfg)
{
    pthread_mutex_lock(&m->lock);
    uint64_t lost_domains = 0, lost_endpoints = 0;
    for (size_t i = 0; i < cfg->route_count; i++) {
        const struct route *r = &cfg->routes[i];
        int d = r->is_default ? (int)SLOT_DEFAULT : add_domain(m, r->domain);
        if (d < 0) {
            lost_domains++;
            lost_endpoints += r->endpoint_count;
            continue;
        }
        for (size_t j = 0; j < r->endpoint_count; j++)
            if (add_endpoint(m, (uint32_t)d, r->endpoints[j].label) < 0)
                lost_endpoints++;
    }
    /* Slots are activated after they exist, and a domain in both the old and the new
     * routes never goes inactive in between. */
    size_t n = atomic_load_explicit(&m->domain_count, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        bool routed = named_route(cfg, m->domains[i]->name) ||
                      (i == SLOT_DEFAULT && cfg->default_route != NULL);
        atomic_store_explicit(&m->domains[i]->active, routed, memory_order_relaxed);
    }
    atomic_store(&m->has_default, cfg->default_route != NULL);
    atomic_store(&m->unlabelled_domains, lost_domains);
    atomic_store(&m->unlabelled_endpoints, lost_endpoints);
    pthread_mutex_unlock(&m->lock);
    if (lost_domains || lost_endpoints)
        log_warn("metrics",
                 "label cap reached: %llu route domain(s) and %llu endpoint(s) are counted "
                 "under \"_default\"/\"_other\"",
                 (unsigned long long)lost_domains, (unsigned long long)lost_endpoints);
}

/* ------------------------------------------------------------------ the sink */

static uint32_t resolve(const struct metrics *m, const char *domain)
{
    int i = domain && *domain ? find_domain(m, domain) : -1;
    if (i >= 0 && atomic_load_explicit(&m->domains[i]->active, memory_order_relaxed))
        return (uint32_t)i;
    return atomic_load_explicit(&m->has_default, memory_order_relaxed) ? SLOT_DEFAULT : SLOT_OTHER;
}

static void inc(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void on_received(void *ctx, const struct outcome_received *r)
{
    struct metrics *m = ctx;
    struct domain_series *s = m->domains[resolve(m, r->domain)];
    size_t src = 0;
    while (src < m->source_count && !(r->source && strcmp(r->source, m->sources[src]) == 0))
        src++; /* m->source_count: the "other" slot */
    if (!r->duplicate)
        inc(&s->received[src]);
    if (r->latency_us > 0)
        metrics_histogram_observe(&m->ingress, r->latency_us);
}

static void count_endpoints(struct metrics *m, uint32_t domain, const struct outcome_delivery *d)
{
    for (size_t i = 0; i < d->endpoint_count; i++) {
        const struct outcome_endpoint *e = &d->endpoints[i];
        if (!e->called)
            continue; /* delivered in an earlier attempt: not called now */
        const char *label = e->label ? e->label : e->url;
        int slot = label ? find_endpoint(m, domain, label) : -1;
        struct endpoint_series *s = m->endpoints[slot >= 0 ? (uint32_t)slot : ENDPOINT_FALLBACK];
        inc(e->delivered ? &s->ok : &s->failed);
        metrics_histogram_observe(&s->latency, e->latency_us);
    }
}

static void on_delivery(void *ctx, const struct outcome_delivery *d)
{
    struct metrics *m = ctx;
    uint32_t domain = resolve(m, d->domain);
    struct domain_series *s = m->domains[domain];
    if (strcmp(d->type, "forwarded") == 0) {
        inc(&s->delivered);
        if (d->e2e_latency_us > 0)
            metrics_histogram_observe(&s->e2e, d->e2e_latency_us);
        count_endpoints(m, domain, d);
    } else if (strcmp(d->type, "failed") == 0) {
        inc(&s->failed);
        if (d->will_retry)
            inc(&s->retried);
        count_endpoints(m, domain, d);
    } else if (strcmp(d->type, "dead_lettered") == 0) {
        /* Its endpoints were counted by the "failed" outcome just before. */
        size_t r = 0;
        while (r < REASON_COUNT - 1 && !(d->reason && strcmp(d->reason, reasons[r]) == 0))
            r++;
        inc(&s->dead_lettered[r]);
    }
}

struct outcome_sink metrics_sink(struct metrics *m)
{
    return (struct outcome_sink){.received = on_received, .delivery = on_delivery, .ctx = m};
}

/* ------------------------------------------------------------------ reading */

static uint64_t get(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void metrics_each_domain(const struct metrics *m,
                         void (*fn)(void *ctx, const struct metrics_domain_counts *c), void *ctx)
{
    size_t n = atomic_load_explicit(&m->domain_count, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        struct domain_series *s = m->domains[i];
        struct metrics_domain_counts c = {
            .domain = s->name,
            .routed = atomic_load_explicit(&s->active, memory_order_relaxed),
            .source_names = (const char *const *)m->sources,
            .source_count = m->source_count + 1,
            .delivered = get(&s->delivered),
            .failed = get(&s->failed),
            .retried = get(&s->retried),
        };
        for (size_t r = 0; r < REASON_COUNT; r++)
            c.dead_lettered += get(&s->dead_lettered[r]);
        for (size_t src = 0; src < c.source_count; src++)
            c.received[src] = get(&s->received[src]);
        fn(ctx, &c);
    }
}

/* One counter family with a single value per domain, at byte offset `field`. */
static void domain_counter(FILE *f, const struct metrics *m, size_t n, const char *name,
                           const char *help, size_t field)
{
    metrics_text_family(f, name, "counter", help);
    for (size_t i = 0; i < n; i++) {
        const struct domain_series *s = m->domains[i];
        const _Atomic uint64_t *c = (const void *)((const char *)s + field);
        struct metrics_label l = {"domain", s->name};
        metrics_text_sample(f, name, &l, 1, get(c));
    }
}

static void render_domains(const struct metrics *m, FILE *f, size_t n)
{
    const char *name = "eventhub_events_received_total";
    metrics_text_family(f, name, "counter",
                        "Events stored in JetStream (duplicates excluded), by domain and source.");
    for (size_t i = 0; i < n; i++) {
        for (size_t src = 0; src <= m->source_count; src++) {
            uint64_t v = get(&m->domains[i]->received[src]);
            struct metrics_label l[] = {{"domain", m->domains[i]->name},
                                        {"source", m->sources[src]}};
            if (v || src < m->source_count)
                metrics_text_sample(f, name, l, 2, v);
        }
    }
    domain_counter(f, m, n, "eventhub_events_delivered_total",
                   "Events every endpoint of the route accepted (2xx).",
                   offsetof(struct domain_series, delivered));
    domain_counter(f, m, n, "eventhub_events_failed_total",
                   "Delivery attempts in which at least one endpoint failed.",
                   offsetof(struct domain_series, failed));
    domain_counter(f, m, n, "eventhub_events_retried_total",
                   "Failed delivery attempts handed back to JetStream for a later retry.",
                   offsetof(struct domain_series, retried));
    name = "eventhub_events_dead_lettered_total";
    metrics_text_family(f, name, "counter",
                        "Events moved to the dead-letter stream, by domain and reason "
                        "(series appear at their first dead letter).");
    for (size_t i = 0; i < n; i++) {
        for (size_t r = 0; r < REASON_COUNT; r++) {
            uint64_t v = get(&m->domains[i]->dead_lettered[r]);
            struct metrics_label l[] = {{"domain", m->domains[i]->name}, {"reason", reasons[r]}};
            if (v)
                metrics_text_sample(f, name, l, 2, v);
        }
    }
    name = "eventhub_end_to_end_latency_seconds";
    metrics_text_family(f, name, "histogram",
                        "Time from storage in JetStream to delivery to every endpoint "
                        "(retries included), by domain.");
    for (size_t i = 0; i < n; i++) {
        const struct domain_series *s = m->domains[i];
        /* Not for a slot that cannot deliver (e.g. "_other" without a route). */
        if (!atomic_load_explicit(&s->active, memory_order_relaxed) &&
            metrics_histogram_count(&s->e2e) == 0)
            continue;
        struct metrics_label l = {"domain", s->name};
        metrics_text_histogram(f, name, &l, 1, &s->e2e);
    }
}

static void render_endpoints(const struct metrics *m, FILE *f, size_t n)
{
    const char *name = "eventhub_deliveries_total";
    metrics_text_family(f, name, "counter",
                        "Webhook calls by domain, endpoint and outcome (ok = 2xx, failed = any "
                        "other status, timeout or connection error).");
    for (size_t i = 0; i < n; i++) {
        const struct endpoint_series *e = m->endpoints[i];
        uint64_t ok = get(&e->ok), failed = get(&e->failed);
        if (i == ENDPOINT_FALLBACK && ok == 0 && failed == 0)
            continue;
        struct metrics_label l[] = {
            {"domain", m->domains[e->domain]->name}, {"endpoint", e->label}, {"outcome", "ok"}};
        metrics_text_sample(f, name, l, 3, ok);
        l[2].value = "failed";
        metrics_text_sample(f, name, l, 3, failed);
    }
    name = "eventhub_delivery_latency_seconds";
    metrics_text_family(f, name, "histogram", "Duration of webhook calls, by domain and endpoint.");
    for (size_t i = 0; i < n; i++) {
        const struct endpoint_series *e = m->endpoints[i];
        if (i == ENDPOINT_FALLBACK && metrics_histogram_count(&e->latency) == 0)
            continue;
        struct metrics_label l[] = {{"domain", m->domains[e->domain]->name},
                                    {"endpoint", e->label}};
        metrics_text_histogram(f, name, l, 2, &e->latency);
    }
}

void metrics_render(const struct metrics *m, FILE *f)
{
    size_t domains = atomic_load_explicit(&m->domain_count, memory_order_acquire);
    size_t endpoints = atomic_load_explicit(&m->endpoint_count, memory_order_acquire);
    render_domains(m, f, domains);
    render_endpoints(m, f, endpoints);
    const char *name = "eventhub_ingress_latency_seconds";
    metrics_text_family(f, name, "histogram",
                        "POST /events: from the request to JetStream's acknowledgement.");
    metrics_text_histogram(f, name, NULL, 0, &m->ingress);
    name = "eventhub_metrics_unlabelled_routes";
    metrics_text_family(f, name, "gauge",
                        "Configured route domains and endpoints without a label of their own "
                        "(label cap reached): their traffic counts under _default/_other.");
    struct metrics_label l = {"kind", "domain"};
    metrics_text_sample(f, name, &l, 1, get(&m->unlabelled_domains));
    l.value = "endpoint";
    metrics_text_sample(f, name, &l, 1, get(&m->unlabelled_endpoints));
}
