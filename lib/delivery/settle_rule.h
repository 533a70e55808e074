/*
 * settle_rule — what becomes of one endpoint's delivery after an answer: the pure rule
 * behind delivery_record.c (and the checks before a parked delivery is called), so
 * every case is unit-tested without NATS or HTTP.
 *
 * Inputs are plain numbers (the answer, the attempts so far, the event's age, the
 * settings); the output is an action: ack, retry after a delay, hold (the endpoint
 * said when: not an attempt), or dead-letter with a reason. No state, any thread.
 */
#ifndef EVENTHUB_SETTLE_RULE_H
#define EVENTHUB_SETTLE_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum settle_action {
    SETTLE_ACK = 0,     /* 2xx */
    SETTLE_RETRY,       /* nak with delay_ms; `failures` attempts have failed */
    SETTLE_HOLD,        /* 429/503 with Retry-After within the age limit: wait pause_ms */
    SETTLE_DEAD_LETTER, /* `reason` */
};

struct settle_answer {
    int status;       /* HTTP status; 0 = no answer (transport error, timeout) */
    int64_t pause_ms; /* a Retry-After on a 429/503, parsed; -1 = none */
};

struct settle_limits {
    int max_deliver;          /* nats.max_deliveries */
    int64_t max_retry_age_ms; /* delivery.max_retry_age */
    const int64_t *backoff_ms;
    size_t backoff_count; /* >= 1 */
};

struct settle_decision {
    enum settle_action action;
    int failures;       /* failed attempts after this answer */
    int64_t delay_ms;   /* SETTLE_RETRY: the backoff; SETTLE_HOLD: the pause */
    const char *reason; /* SETTLE_DEAD_LETTER: "max_deliveries_exceeded",
                           "endpoint_unavailable" or "endpoint_gone" */
};

/* The backoff before attempt failures + 1: backoff[min(failures, count) - 1]. */
int64_t settle_backoff_ms(const struct settle_limits *lim, int failures);

/* After an answer, with `failures_before` failed attempts and the event `age_ms` old. */
struct settle_decision settle_after_answer(const struct settle_answer *a, int failures_before,
                                           int64_t age_ms, const struct settle_limits *lim);

/* Before a parked delivery is called: NULL to go on, or the dead-letter reason
 * (attempts spent, too old). */
const char *settle_before_call(int failures, int64_t age_ms, const struct settle_limits *lim);

#endif
