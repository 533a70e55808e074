/*
 * payload — formats one bench event as JSON: a realistic call event carrying
 * its own event_id ("bench-<runid>-<seq>") and bench_seq, padded with a
 * "padding" string field up to the requested size.
 *
 * Pure function, caller's buffer, any thread.
 */
#ifndef BENCH_PAYLOAD_H
#define BENCH_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#define PAYLOAD_MAX_BYTES (1000 * 1000) /* NATS max payload is 1 MB */
#define PAYLOAD_MIN_CAP 512             /* room for the unpadded event */

/* Writes the event for `seq` into buf (cap >= max(PAYLOAD_MIN_CAP, target + 1)).
 * target_bytes is the wanted body size; an event that is already larger is not
 * truncated. wall_ms (Unix ms) stamps answered_at; started_at is 4 s earlier.
 * Returns the body length, or 0 if it would not fit. */
size_t payload_format(char *buf, size_t cap, const char *runid, const char *domain, uint32_t seq,
                      size_t target_bytes, int64_t wall_ms);

#endif
