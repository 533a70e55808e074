/*
 * heartbeat — the watchdog of a connection-based source: a peer that sends nothing
 * for longer than its timeout is taken as dead (FreeSWITCH sends HEARTBEAT every
 * 20 s; a TCP connection through a dead NAT never says it closed).
 *
 * The source notes each read (heartbeat_seen) and reads with heartbeat_deadline_ms
 * as its poll deadline; heartbeat_expired says the silence has lasted too long.
 * Owned by the source's connection thread (no locks).
 */
#ifndef EVENTHUB_HEARTBEAT_H
#define EVENTHUB_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

struct heartbeat {
    int64_t timeout_ms;
    int64_t last_seen_ms; /* monotonic */
};

/* Starts the watch now (a fresh connection counts as a sign of life). */
void heartbeat_start(struct heartbeat *h, int64_t timeout_ms);
/* Data arrived now. */
void heartbeat_seen(struct heartbeat *h);
/* The monotonic time by which the next data must arrive. */
int64_t heartbeat_deadline_ms(const struct heartbeat *h);
/* How long the peer has been silent at `now_ms` (monotonic). */
int64_t heartbeat_silence_ms(const struct heartbeat *h, int64_t now_ms);
bool heartbeat_expired(const struct heartbeat *h, int64_t now_ms);

#endif
