/*
 * ingress_keys — who may call POST /events: the ingress.api_keys in force, swapped in
 * by a reload, and what each key did (GET /metrics).
 *
 * The keys in force are a refcounted "keyring" (a config and, per key, its counter
 * slot). A request takes the ring under a short mutex, checks the Authorization header
 * against it (config/api_keys: SHA-256, constant time) and lets it go; a reload builds
 * the next ring and swaps it in, so a rotated key is refused from the next request on
 * and the old config is freed by whichever thread lets go of it last.
 *
 * Counters are kept per key name, never removed (a key dropped by a reload keeps its
 * series, so a Prometheus rate over it stays right), at most INGRESS_KEY_SERIES_MAX;
 * names past that count under "_other".
 *
 * Threads: checks on the HTTP thread; counting also on the publish-ack thread; the
 * swap on the reloader's; rendering on an API worker.
 */
#ifndef EVENTHUB_INGRESS_KEYS_H
#define EVENTHUB_INGRESS_KEYS_H

#include "config/api_keys.h"

#include <stdbool.h>
#include <stdio.h>

struct config;
struct ingress_keys;
struct keyring;

#define INGRESS_KEY_SERIES_MAX 1024

enum ingress_auth {
    INGRESS_AUTH_OPEN = 0, /* no key is configured: anyone may post */
    INGRESS_AUTH_OK,       /* a known key */
    INGRESS_AUTH_MISSING,  /* keys are configured and the request has no bearer token */
    INGRESS_AUTH_UNKNOWN,  /* a bearer token that is no configured key */
};

/* What a request with a known key did: the result label of its counter. */
enum ingress_key_result { KEY_ACCEPTED = 0, KEY_FORBIDDEN, KEY_REFUSED, KEY_RESULT_COUNT };

/* The key a request came with: its name and counter slot (copied: they outlive a
 * reload), and the key itself while the caller holds the keyring it came from. */
struct ingress_caller {
    char name[API_KEY_NAME_MAX + 1]; /* "" when none */
    int series;                      /* its counter slot; -1 when none */
    const struct api_key *key;       /* NULL when none, or once released */
    struct keyring *ring;            /* held until ingress_caller_release */
};

/* The keys of `startup` (borrowed: it outlives this) are in force. NULL when out of
 * memory. */
struct ingress_keys *ingress_keys_new(const struct config *startup);
void ingress_keys_free(struct ingress_keys *k); /* accepts NULL */

/* From now on the keys of `fresh` are in force (a reference is taken). */
void ingress_keys_reconfigure(struct ingress_keys *k, struct config *fresh);

/* Checks an Authorization header value (may be NULL) against the keys in force. For
 * OK, *caller names the key and holds it: release it (every result may be released). */
enum ingress_auth ingress_keys_check(struct ingress_keys *k, const char *authorization,
                                     struct ingress_caller *caller);
/* Whether the caller may post for `domain`: its key's scope; true when keys are off. */
bool ingress_caller_allows(const struct ingress_caller *caller, const char *domain);
/* Lets go of the key (the name and the counter slot stay). Idempotent. */
void ingress_caller_release(struct ingress_caller *caller);

/* Counts one result for the caller's key (nothing for a caller without one). */
void ingress_keys_count(struct ingress_keys *k, const struct ingress_caller *caller,
                        enum ingress_key_result result);

/* eventhub_ingress_api_key_requests_total{key, result}: every key in force or seen. */
void ingress_keys_render(struct ingress_keys *k, FILE *out);

#endif
