/* heartbeat — see heartbeat.h. Runs on the calling source's thread. */
#include "sources/heartbeat.h"

#include "core/clock.h"

void heartbeat_start(struct heartbeat *h, int64_t timeout_ms)
{
    h->timeout_ms = timeout_ms;
    h->last_seen_ms = clock_mono_ms();
}

void heartbeat_seen(struct heartbeat *h)
{
    h->last_seen_ms = clock_mono_ms();
}

int64_t heartbeat_deadline_ms(const struct heartbeat *h)
{
    return h->last_seen_ms + h->timeout_ms;
}

int64_t heartbeat_silence_ms(const struct heartbeat *h, int64_t now_ms)
{
    return now_ms - h->last_seen_ms;
}

bool heartbeat_expired(const struct heartbeat *h, int64_t now_ms)
{
    return now_ms >= heartbeat_deadline_ms(h);
}
