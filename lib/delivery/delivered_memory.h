/*
 * delivered_memory — which endpoints already answered 2xx for a stored event, so a
 * retry calls only the endpoints that failed.
 *
 * Keyed by (stream sequence, endpoint identity: URL and headers); also counts each
 * event's failed attempts. Bounded: when
 * full, the oldest entries are forgotten (the cost of forgetting is one extra, harmless,
 * at-least-once call). Owned by the delivery thread; not thread-safe.
 */
#ifndef EVENTHUB_DELIVERED_MEMORY_H
#define EVENTHUB_DELIVERED_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct delivered_memory;

struct delivered_memory *delivered_memory_new(size_t capacity);
void delivered_memory_free(struct delivered_memory *dm);

/* The endpoint answered `status` (2xx; 0 when not known) for the event. */
void delivered_memory_add(struct delivered_memory *dm, uint64_t seq, uint64_t endpoint_id,
                          int status);
bool delivered_memory_has(const struct delivered_memory *dm, uint64_t seq, uint64_t endpoint_id);
/* The status the endpoint answered, when remembered; 0 otherwise. */
int delivered_memory_status(const struct delivered_memory *dm, uint64_t seq, uint64_t endpoint_id);
void delivered_memory_remove(struct delivered_memory *dm, uint64_t seq, uint64_t endpoint_id);
/* An endpoint's identity: its URL and headers (two endpoints may share a URL). */
uint64_t delivered_memory_endpoint_id(const char *url, const char *const *headers,
                                      size_t header_count);
size_t delivered_memory_count(const struct delivered_memory *dm);

/*
 * Failed attempts of an event seen by this process (0 when unknown). Stored in the
 * same bounded table; forgetting one only allows extra attempts, never fewer.
 */
int delivered_memory_failures(const struct delivered_memory *dm, uint64_t seq);
void delivered_memory_set_failures(struct delivered_memory *dm, uint64_t seq, int failures);

#endif
