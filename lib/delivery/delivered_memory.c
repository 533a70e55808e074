/*
 * delivered_memory — see delivered_memory.h.
 *
 * A chained hash table of (seq, url-hash) pairs threaded on an insertion-order list;
 * eviction takes the list head. URLs are hashed (FNV-1a 64), not stored: a collision
 * would need two endpoint URLs of one event with equal 64-bit hashes.
 */
#include "delivery/delivered_memory.h"

#include <stdlib.h>

struct dm_entry {
    uint64_t seq;
    uint64_t url_hash;
    int count; /* failed attempts in the FAILURES_TAG entry; the 2xx status in others */
    struct dm_entry *chain;         /* next in bucket */
    struct dm_entry *older, *newer; /* insertion order */
};

struct delivered_memory {
    struct dm_entry **buckets;
    size_t bucket_mask;
    size_t count;
    size_t capacity;
    struct dm_entry *oldest, *newest;
};

/* The pseudo URL hash under which an event's failure count is kept. */
#define FAILURES_TAG 0xfa11fa11fa11fa11ULL

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t delivered_memory_endpoint_id(const char *url, const char *const *headers,
                                      size_t header_count)
{
    uint64_t h = fnv1a(1469598103934665603ULL, url);
    for (size_t i = 0; i < header_count; i++)
        h = fnv1a(h ^ 0x0a, headers[i]); /* a separator, so "a","bc" differs from "ab","c" */
    return h == FAILURES_TAG ? h + 1 : h;
}

static size_t bucket_of(const struct delivered_memory *dm, uint64_t seq, uint64_t url_hash)
{
    uint64_t h = seq * 0x9e3779b97f4a7c15ULL ^ url_hash;
    h ^= h >> 31;
    return (size_t)h & dm->bucket_mask;
}

struct delivered_memory *delivered_memory_new(size_t capacity)
{
    struct delivered_memory *dm = calloc(1, sizeof *dm);
    if (!dm)
        return NULL;
    size_t n = 64;
    while (n < capacity)
        n <<= 1;
    dm->buckets = calloc(n, sizeof *dm->buckets);
    if (!dm->buckets) {
        free(dm);
        return NULL;
    }
    dm->bucket_mask = n - 1;
    dm->capacity = capacity;
    return dm;
}

void delivered_memory_free(struct delivered_memory *dm)
{
    if (!dm)
        return;
    struct dm_entry *e = dm->oldest;
    while (e) {
        struct dm_entry *next = e->newer;
        free(e);
        e = next;
    }
    free(dm->buckets);
    free(dm);
}

static struct dm_entry **find_link(const struct delivered_memory *dm, uint64_t seq,
                                   uint64_t url_hash)
{
    struct dm_entry **link = &dm->buckets[bucket_of(dm, seq, url_hash)];
    while (*link && !((*link)->seq == seq && (*link)->url_hash == url_hash))
        link = &(*link)->chain;
    return link;
}

static void unlink_entry(struct delivered_memory *dm, struct dm_entry **link)
{
    struct dm_entry *e = *link;
    if (!e)
        return;
    *link = e->chain;
    if (e->older)
        e->older->newer = e->newer;
    else
        dm->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        dm->newest = e->older;
    dm->count--;
    free(e);
}

static struct dm_entry *add_entry(struct delivered_memory *dm, uint64_t seq, uint64_t tag);

void delivered_memory_add(struct delivered_memory *dm, uint64_t seq, uint64_t endpoint_id,
                          int status)
{
    /* out of memory: the endpoint is called again */
    struct dm_entry *e = add_entry(dm, seq, endpoint_id);
    if (e && status > 0)
        e->count = status;
}

bool delivered_memory_has(const struct delivered_memory *dm, uint64_t seq, uint64_t endpoint_id)
{
    return *find_link(dm, seq, endpoint_id) != NULL;
}

int delivered_memory_status(const struct delivered_memory *dm, uint64_t seq, uint64_t endpoint_id)
{
    const struct dm_entry *e = *find_link(dm, seq, endpoint_id);
    return e ? e->count : 0;
}

void delivered_memory_remove(struct delivered_memory *dm, uint64_t seq, uint64_t endpoint_id)
{
    struct dm_entry **link = find_link(dm, seq, endpoint_id);
    if (*link)
        unlink_entry(dm, link);
}

size_t delivered_memory_count(const struct delivered_memory *dm)
{
    return dm->count;
}

/* Makes `e` the newest entry (the last to be forgotten). */
static void touch(struct delivered_memory *dm, struct dm_entry *e)
{
    if (dm->newest == e)
        return;
    if (e->older)
        e->older->newer = e->newer;
    else
        dm->oldest = e->newer;
    e->newer->older = e->older; /* e is not the newest, so it has a newer one */
    e->older = dm->newest;
    e->newer = NULL;
    dm->newest->newer = e;
    dm->newest = e;
}

/* Adds the (seq, tag) entry when missing (else makes it the newest); NULL when out of
 * memory. */
static struct dm_entry *add_entry(struct delivered_memory *dm, uint64_t seq, uint64_t tag)
{
    struct dm_entry *found = *find_link(dm, seq, tag);
    if (found) {
        touch(dm, found);
        return found;
    }
    if (dm->count >= dm->capacity && dm->oldest)
        unlink_entry(dm, find_link(dm, dm->oldest->seq, dm->oldest->url_hash));
    struct dm_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->seq = seq;
    e->url_hash = tag;
    struct dm_entry **head = &dm->buckets[bucket_of(dm, seq, tag)];
    e->chain = *head;
    *head = e;
    e->older = dm->newest;
    if (dm->newest)
        dm->newest->newer = e;
    else
        dm->oldest = e;
    dm->newest = e;
    dm->count++;
    return e;
}

int delivered_memory_failures(const struct delivered_memory *dm, uint64_t seq)
{
    const struct dm_entry *e = *find_link(dm, seq, FAILURES_TAG);
    return e ? e->count : 0;
}

void delivered_memory_set_failures(struct delivered_memory *dm, uint64_t seq, int failures)
{
    if (failures <= 0) {
        struct dm_entry **link = find_link(dm, seq, FAILURES_TAG);
        if (*link)
            unlink_entry(dm, link);
        return;
    }
    struct dm_entry *e = add_entry(dm, seq, FAILURES_TAG);
    if (e)
        e->count = failures;
}
