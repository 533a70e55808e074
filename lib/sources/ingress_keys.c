/* ingress_keys — see ingress_keys.h. */
#include "sources/ingress_keys.h"

#include "config/config.h"
#include "core/log.h"
#include "core/metrics_text.h"
#include "http/api_auth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERIES_OTHER INGRESS_KEY_SERIES_MAX /* the slot past the named ones */

static const char *const result_names[KEY_RESULT_COUNT] = {
    [KEY_ACCEPTED] = "accepted",
    [KEY_FORBIDDEN] = "forbidden",
    [KEY_REFUSED] = "refused",
};

struct key_series {
    char name[API_KEY_NAME_MAX + 1];
    _Atomic uint64_t counts[KEY_RESULT_COUNT];
};

/* The keys in force: a config (owned, or the startup one borrowed) and each of its
 * keys' counter slot. */
struct keyring {
    atomic_int refs;
    const struct config *cfg;
    struct config *owned; /* cfg when it holds a reference; NULL for the startup config */
    int series[];         /* per cfg->ingress.api_keys[i] */
};

struct ingress_keys {
    pthread_mutex_t lock; /* guards `ring` (the pointer swap and the reference taken) */
    struct keyring *ring;
    pthread_mutex_t series_lock; /* guards adding series */
    struct key_series series[INGRESS_KEY_SERIES_MAX + 1];
    _Atomic size_t series_count; /* named ones; published with release */
};

static void ring_unref(struct keyring *r)
{
    if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
        config_unref(r->owned);
        free(r);
    }
}

/* The slot for `name`, added when new; SERIES_OTHER when the table is full. */
static int series_for(struct ingress_keys *k, const char *name)
{
    pthread_mutex_lock(&k->series_lock);
    size_t n = atomic_load_explicit(&k->series_count, memory_order_relaxed);
    int slot = SERIES_OTHER;
    for (size_t i = 0; i < n; i++)
        if (strcmp(k->series[i].name, name) == 0)
            slot = (int)i;
    if (slot == SERIES_OTHER && n < INGRESS_KEY_SERIES_MAX) {
        snprintf(k->series[n].name, sizeof k->series[n].name, "%s", name);
        slot = (int)n;
        atomic_store_explicit(&k->series_count, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&k->series_lock);
    return slot;
}

static struct keyring *ring_new(struct ingress_keys *k, const struct config *cfg,
                                struct config *owned)
{
    size_t n = cfg->ingress.api_key_count;
    struct keyring *r = calloc(1, sizeof *r + n * sizeof r->series[0]);
    if (!r)
        return NULL;
    atomic_init(&r->refs, 1);
    r->cfg = cfg;
    r->owned = config_ref(owned);
    for (size_t i = 0; i < n; i++) {
        const char *name = cfg->ingress.api_keys[i].name;
        r->series[i] = series_for(k, name ? name : "");
    }
    return r;
}

struct ingress_keys *ingress_keys_new(const struct config *startup)
{
    struct ingress_keys *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    pthread_mutex_init(&k->lock, NULL);
    pthread_mutex_init(&k->series_lock, NULL);
    snprintf(k->series[SERIES_OTHER].name, sizeof k->series[SERIES_OTHER].name, "_other");
    k->ring = ring_new(k, startup, NULL);
    if (!k->ring) {
        ingress_keys_free(k);
        return NULL;
    }
    return k;
}

void ingress_keys_free(struct ingress_keys *k)
{
    if (!k)
        return;
    ring_unref(k->ring);
    pthread_mutex_destroy(&k->lock);
    pthread_mutex_destroy(&k->series_lock);
    free(k);
}

void ingress_keys_reconfigure(struct ingress_keys *k, struct config *fresh)
{
    struct keyring *next = ring_new(k, fresh, fresh);
    if (!next) {
        log_error("ingress", "out of memory: the reloaded API keys are NOT in force; the "
                             "previous ones still are (reload again)");
        return;
    }
    pthread_mutex_lock(&k->lock);
    struct keyring *old = k->ring;
    k->ring = next;
    pthread_mutex_unlock(&k->lock);
    ring_unref(old);
}

static struct keyring *ring_take(struct ingress_keys *k)
{
    pthread_mutex_lock(&k->lock);
    struct keyring *r = k->ring;
    atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&k->lock);
    return r;
}

enum ingress_auth ingress_keys_check(struct ingress_keys *k, const char *authorization,
                                     struct ingress_caller *caller)
{
    *caller = (struct ingress_caller){.series = -1};
    struct keyring *r = ring_take(k);
    if (!api_keys_required(r->cfg)) {
        ring_unref(r);
        return INGRESS_AUTH_OPEN;
    }
    size_t len = 0;
    const char *token = api_auth_bearer_token(authorization, &len);
    const struct api_key *key = token ? api_keys_find(r->cfg, token, len) : NULL;
    if (!key) {
        ring_unref(r);
        return token ? INGRESS_AUTH_UNKNOWN : INGRESS_AUTH_MISSING;
    }
    snprintf(caller->name, sizeof caller->name, "%s", key->name ? key->name : "");
    caller->series = r->series[key - r->cfg->ingress.api_keys];
    caller->key = key;
    caller->ring = r; /* the reference taken above */
    return INGRESS_AUTH_OK;
}

bool ingress_caller_allows(const struct ingress_caller *caller, const char *domain)
{
    return !caller->key || api_key_allows(caller->key, domain);
}

void ingress_caller_release(struct ingress_caller *caller)
{
    ring_unref(caller->ring);
    caller->ring = NULL;
    caller->key = NULL;
}

void ingress_keys_count(struct ingress_keys *k, const struct ingress_caller *caller,
                        enum ingress_key_result result)
{
    if (!caller || caller->series < 0 || caller->series > SERIES_OTHER)
        return;
    atomic_fetch_add_explicit(&k->series[caller->series].counts[result], 1, memory_order_relaxed);
}

void ingress_keys_render(struct ingress_keys *k, FILE *out)
{
    const char *family = "eventhub_ingress_api_key_requests_total";
    size_t n = atomic_load_explicit(&k->series_count, memory_order_acquire);
    if (n == 0)
        return; /* no key was ever configured */
    metrics_text_family(out, family, "counter",
                        "POST /events with a known API key, by key name and result: accepted "
                        "(202, stored), forbidden (403, a domain outside the key's scope), "
                        "refused (any other error).");
    for (size_t i = 0; i <= SERIES_OTHER; i++) {
        if (i == n)
            i = SERIES_OTHER;
        const struct key_series *s = &k->series[i];
        uint64_t total = 0;
        for (size_t r = 0; r < KEY_RESULT_COUNT; r++)
            total += atomic_load_explicit(&s->counts[r], memory_order_relaxed);
        if (i == SERIES_OTHER && total == 0)
            break;
        for (size_t r = 0; r < KEY_RESULT_COUNT; r++) {
            struct metrics_label l[] = {{"key", s->name}, {"result", result_names[r]}};
            metrics_text_sample(out, family, l, 2,
                                atomic_load_explicit(&s->counts[r], memory_order_relaxed));
        }
    }
}
