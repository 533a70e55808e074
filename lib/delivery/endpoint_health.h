/*
 * endpoint_health — the pure decisions behind an endpoint's health: a circuit
 * breaker, a token-bucket rate limit, and the parsing of a Retry-After answer.
 *
 * No I/O, no clock of its own, no locks: the caller passes "now" and owns the
 * structs (the delivery thread, one struct per endpoint lane). Kept apart so every
 * rule is unit-tested and the Retry-After parser is fuzzed.
 *
 * Breaker: closed (calls flow) → after `failures_to_open` consecutive failures,
 * open (no calls) until a cool-down passes → half-open: exactly one probe call is
 * allowed; its success closes the breaker (and resets the cool-down), its failure
 * opens it again with the cool-down doubled, up to `max_cooldown_ms`.
 * `failures_to_open` 0 disables the breaker (always closed).
 */
#ifndef EVENTHUB_ENDPOINT_HEALTH_H
#define EVENTHUB_ENDPOINT_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

enum breaker_state { BREAKER_CLOSED = 0, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
    int failures_to_open;
    int64_t base_cooldown_ms;
    int64_t max_cooldown_ms;
    enum breaker_state state;
    int consecutive_failures;
    int64_t cooldown_ms;   /* the current cool-down (grows while probes fail) */
    int64_t open_until_ms; /* while open: when the probe may go */
    bool probe_in_flight;  /* half-open: the one probe call is out */
};

void breaker_init(struct breaker *b, int failures_to_open, int64_t cooldown_ms,
                  int64_t max_cooldown_ms);

/* May a call start now? Closed: yes. Open before open_until: no. Open at or after
 * open_until: turns half-open and says yes once (the probe). Half-open with the probe
 * out: no. A caller that gets true must report the call with breaker_result. */
bool breaker_may_call(struct breaker *b, int64_t now_ms);

/* A call's outcome (ok = 2xx). In the closed state, failures count up and the
 * N-th opens the breaker; a success resets the count. The half-open probe's success
 * closes it; its failure opens it again with the cool-down doubled (capped). */
void breaker_result(struct breaker *b, bool ok, int64_t now_ms);

/* Gives back a permission from breaker_may_call whose call never went out (so a
 * half-open breaker can probe again). */
void breaker_cancel(struct breaker *b);

const char *breaker_state_name(enum breaker_state state); /* "closed" "open" "half_open" */

struct token_bucket {
    double rate_per_ms; /* 0 = no limit */
    double burst;       /* capacity in tokens, >= 1 */
    double tokens;
    int64_t last_ms;
};

/* rate_per_s 0 = unlimited; burst < 1 is taken as max(1, rate_per_s). Starts full. */
void token_bucket_init(struct token_bucket *tb, double rate_per_s, double burst, int64_t now_ms);

/* Takes one token if there is one; true when the call may go. Unlimited: always true. */
bool token_bucket_take(struct token_bucket *tb, int64_t now_ms);

/* Milliseconds until a token is available (0 when one is, or unlimited). */
int64_t token_bucket_wait_ms(const struct token_bucket *tb, int64_t now_ms);

/*
 * The delay a Retry-After header value asks for, in milliseconds, relative to
 * now_wall_ms (Unix time in ms): delta-seconds ("120") or an HTTP-date (IMF-fixdate
 * "Sun, 06 Nov 1994 08:49:37 GMT", and the obsolete RFC 850 and asctime forms).
 * Leading/trailing whitespace is allowed. A date in the past gives 0. The result is
 * capped at max_ms. NULL, empty or anything else gives -1 (ignore the header).
 */
int64_t retry_after_parse_ms(const char *value, int64_t now_wall_ms, int64_t max_ms);

#endif
