/* api_sched — see api_sched.h. */
#include "http/api_sched.h"

struct api_sched_pick api_sched_pick(const struct api_sched_lane *lanes, size_t n, int64_t now_ms,
                                     int64_t timeout_ms)
{
    struct api_sched_pick p = {.lane = -1, .expire = false, .wake_ms = 0};
    int oldest_runnable = -1, oldest_blocked = -1;
    for (size_t i = 0; i < n; i++) {
        const struct api_sched_lane *l = &lanes[i];
        if (l->queued == 0)
            continue;
        int *best = l->running < l->max_running ? &oldest_runnable : &oldest_blocked;
        if (*best < 0 || l->head_since_ms < lanes[*best].head_since_ms)
            *best = (int)i;
    }
    if (oldest_runnable >= 0) {
        p.lane = oldest_runnable;
        return p;
    }
    if (oldest_blocked >= 0) {
        int64_t due = lanes[oldest_blocked].head_since_ms + timeout_ms;
        if (now_ms >= due) {
            p.lane = oldest_blocked;
            p.expire = true;
        } else {
            p.wake_ms = due;
        }
    }
    return p;
}
