/* reconnect — see reconnect.h. Runs on the calling source's thread. */
#include "sources/reconnect.h"

#include "core/clock.h"

#include <poll.h>
#include <sys/random.h>

void reconnect_init(struct reconnect *r, int64_t initial_ms, int64_t max_ms)
{
    r->initial_ms = initial_ms > 0 ? initial_ms : 1;
    r->max_ms = max_ms >= r->initial_ms ? max_ms : r->initial_ms;
    r->backoff_ms = r->initial_ms;
}

void reconnect_succeeded(struct reconnect *r)
{
    r->backoff_ms = r->initial_ms;
}

int64_t reconnect_next_delay_ms(struct reconnect *r)
{
    uint64_t random = 0;
    if (getrandom(&random, sizeof random, 0) != sizeof random)
        random = (uint64_t)clock_mono_us();
    int64_t b = r->backoff_ms;
    int64_t delay = b / 2 + (int64_t)(random % ((uint64_t)(b / 2) + 1));
    r->backoff_ms = b > r->max_ms / 2 ? r->max_ms : b * 2;
    return delay;
}

bool reconnect_wait(int64_t delay_ms, int stop_fd, int tick_ms, reconnect_idle_fn idle,
                    void *closure)
{
    int64_t until = clock_mono_ms() + delay_ms;
    for (;;) {
        int64_t left = until - clock_mono_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = stop_fd, .events = POLLIN};
        if (poll(&p, 1, (int)(left < tick_ms ? left : tick_ms)) > 0)
            return true;
        if (idle)
            idle(closure);
    }
}
