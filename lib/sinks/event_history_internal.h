/*
 * event_history_internal — private to the event_history module.
 *
 * The module is three files, one job each:
 *   event_history.c        the store: domains (hash + LRU), events (hash + two lists per
 *                          domain), the sinks, the bounds;
 *   event_history_record.c the immutable, refcounted pieces an event points to: the
 *                          payload copy and the attempt records (built off the lock);
 *   event_history_read.c   queries: copy references out under the lock, format after.
 */
#ifndef EVENTHUB_EVENT_HISTORY_INTERNAL_H
#define EVENTHUB_EVENT_HISTORY_INTERNAL_H

#include "config/api_keys.h"
#include "core/event.h"
#include "sinks/event_history.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ceilings on the text kept from an outcome (longer text is cut at a UTF-8 boundary). */
#define EH_URL_MAX 512
#define EH_ERROR_MAX 256
#define EH_REASON_MAX 64
#define EH_DETAIL_MAX 512

enum eh_status { EH_PENDING = 0, EH_SUCCESSFUL, EH_FAILED, EH_DEAD_LETTERED };

enum eh_list { EH_LIST_OK = 0, EH_LIST_FAILED = 1 };

/* The stored event as kept: immutable once built; shared with queries. */
struct eh_payload {
    atomic_int refs;
    size_t len;          /* bytes in data (without the terminating NUL) */
    size_t original_len; /* the event's size before truncation */
    bool json;           /* data is valid JSON text (not truncated, checked) */
    bool truncated;      /* data is the first bytes only */
    char data[];         /* NUL-terminated; valid UTF-8, no NUL inside */
};

struct eh_endpoint {
    const char *url;   /* into the attempt's allocation */
    const char *error; /* NULL when none */
    int status;        /* 0 = no answer */
    bool delivered;
    bool called;
};

/* One delivery attempt as kept: immutable once built; shared with queries. */
struct eh_attempt {
    atomic_int refs;
    int attempt;
    int64_t at_ms;
    enum eh_status outcome; /* EH_SUCCESSFUL, EH_FAILED or EH_DEAD_LETTERED */
    bool will_retry;
    const char *reason; /* NULL when none */
    const char *detail; /* NULL when none */
    size_t size;        /* bytes allocated, for the budget */
    size_t endpoint_count;
    size_t endpoints_omitted; /* past EVENT_HISTORY_MAX_ENDPOINTS */
    struct eh_endpoint endpoints[];
};

struct eh_domain;

struct eh_event {
    struct eh_event *hnext;       /* hash chain */
    struct eh_event *prev, *next; /* in its domain's list; next also links the free list */
    struct eh_domain *dom;
    uint64_t hash;
    enum eh_list list;
    enum eh_status status;
    char event_id[EVENT_ID_MAX + 1]; /* "" when the event has none */
    uint64_t stream_seq;             /* 0 = not known yet */
    int64_t received_ms, updated_ms;
    char api_key[API_KEY_NAME_MAX + 1]; /* the ingress API key it came with; "" = none */
    int delivery_attempt;               /* 0 while pending */
    int max_deliver;
    bool will_retry;
    struct eh_payload *payload;                              /* NULL when not known */
    struct eh_attempt *attempts[EVENT_HISTORY_MAX_ATTEMPTS]; /* oldest first */
    size_t attempt_count;
    size_t attempts_omitted; /* older attempts no longer kept */
    size_t size;             /* what this event counts against the budget */
};

struct eh_list_head {
    struct eh_event *head, *tail; /* head = newest */
    size_t count;
};

struct eh_domain {
    struct eh_domain *hnext;               /* hash chain */
    struct eh_domain *lru_prev, *lru_next; /* lru_prev = more recently active */
    uint64_t hash;
    struct eh_list_head lists[2];    /* enum eh_list */
    char name[EVENT_DOMAIN_MAX + 1]; /* lower-cased */
};

struct event_history {
    pthread_mutex_t lock; /* guards everything below but the options */
    struct event_history_options opts;

    struct eh_domain **dom_buckets;
    size_t dom_nbuckets; /* power of two */
    size_t dom_count;
    struct eh_domain *lru_head, *lru_tail; /* head = most recently active */

    struct eh_event **ev_buckets;
    size_t ev_nbuckets; /* power of two */
    size_t ev_count;

    size_t bytes;
    uint64_t evicted_events, evicted_domains;
};

/* --- event_history_record.c (no lock needed: these build or drop immutable pieces) --- */

/* Copies `len` bytes of `text` as valid UTF-8 into out[cap] (cut at a character
 * boundary, invalid bytes and NULs replaced by '?'); returns the length written. */
size_t eh_copy_text(char *out, size_t cap, const char *text, size_t len);
/* The domain as a key: lower-cased ASCII, valid UTF-8; false when empty. */
bool eh_domain_key(const char *domain, char out[EVENT_DOMAIN_MAX + 1]);
uint64_t eh_hash_bytes(const char *s, size_t len, uint64_t seed);

/* A payload for `event`: kept whole when <= max_bytes (json says whether it is valid
 * JSON, checked with json_scan_valid), else truncated. */
struct eh_payload *eh_payload_new(const char *event, size_t len, size_t max_bytes);
void eh_payload_ref(struct eh_payload *p);
void eh_payload_unref(struct eh_payload *p); /* accepts NULL */

/* The attempt record of a delivery outcome, or NULL when out of memory. */
struct eh_attempt *eh_attempt_new(const struct outcome_delivery *d, enum eh_status outcome,
                                  int64_t now_ms);
void eh_attempt_ref(struct eh_attempt *a);
void eh_attempt_unref(struct eh_attempt *a); /* accepts NULL */

const char *eh_status_name(enum eh_status s);

/* --- event_history.c --- */

/* The domain named `key` (as eh_domain_key makes it), or NULL. h->lock held. */
struct eh_domain *eh_domain_lookup(struct event_history *h, const char *key);

#endif
