/*
 * settle_rule — see settle_rule.h.
 */
#include "delivery/settle_rule.h"

int64_t settle_backoff_ms(const struct settle_limits *lim, int failures)
{
    size_t i = failures > 0 ? (size_t)failures - 1 : 0;
    if (i >= lim->backoff_count)
        i = lim->backoff_count - 1;
    return lim->backoff_ms[i];
}

struct settle_decision settle_after_answer(const struct settle_answer *a, int failures_before,
                                           int64_t age_ms, const struct settle_limits *lim)
{
    struct settle_decision d = {.failures = failures_before};
    if (a->status >= 200 && a->status < 300) {
        d.action = SETTLE_ACK;
        return d;
    }
    bool says_when = (a->status == 429 || a->status == 503) && a->pause_ms >= 0;
    if (says_when && age_ms + a->pause_ms <= lim->max_retry_age_ms) {
        d.action = SETTLE_HOLD; /* not an attempt */
        d.delay_ms = a->pause_ms;
        return d;
    }
    d.failures = failures_before + 1;
    d.action = SETTLE_DEAD_LETTER;
    if (a->status == 410) {
        d.reason = "endpoint_gone";
        return d;
    }
    if (d.failures >= lim->max_deliver) {
        d.reason = "max_deliveries_exceeded";
        return d;
    }
    int64_t delay = says_when ? a->pause_ms : settle_backoff_ms(lim, d.failures);
    if (age_ms + delay > lim->max_retry_age_ms) {
        d.reason = "endpoint_unavailable";
        return d;
    }
    d.action = SETTLE_RETRY;
    d.delay_ms = delay;
    return d;
}

const char *settle_before_call(int failures, int64_t age_ms, const struct settle_limits *lim)
{
    if (failures >= lim->max_deliver)
        return "max_deliveries_exceeded";
    if (age_ms > lim->max_retry_age_ms)
        return "endpoint_unavailable";
    return NULL;
}
