/* stats — see stats.h. */
#include "core/stats.h"

_Atomic uint64_t stats_counters[STAT_COUNT];

static const char *const names[STAT_COUNT] = {
    [STAT_RECEIVED] = "received",
    [STAT_REJECTED] = "rejected",
    [STAT_UNAVAILABLE] = "unavailable",
    [STAT_PUBLISHED] = "published",
    [STAT_DUPLICATES] = "duplicates",
    [STAT_PUBLISH_ERRORS] = "publish_errors",
    [STAT_DELIVERED] = "delivered",
    [STAT_ENDPOINT_OK] = "endpoint_ok",
    [STAT_ENDPOINT_FAILED] = "endpoint_failed",
    [STAT_RETRIED] = "retried",
    [STAT_DEAD_LETTERED] = "dead_lettered",
    [STAT_DEAD_LETTER_ERRORS] = "dead_letter_errors",
    [STAT_NATS_RECONNECTS] = "nats_reconnects",
    [STAT_FILTERED] = "filtered",
    [STAT_REPLAYED] = "replayed",
    [STAT_PARKED] = "parked",
    [STAT_REJECTED_400] = "rejected_400",
    [STAT_REJECTED_401] = "rejected_401",
    [STAT_REJECTED_403] = "rejected_403",
    [STAT_REJECTED_413] = "rejected_413",
    [STAT_REJECTED_415] = "rejected_415",
    [STAT_HTTP_BODY_TOO_LARGE] = "http_body_too_large",
    [STAT_HTTP_REFUSED_FRAMING] = "http_refused_framing",
    [STAT_HTTP_REFUSED_HEAD_SIZE] = "http_refused_head_size",
    [STAT_HTTP_REFUSED_HOST] = "http_refused_host",
    [STAT_HTTP_REFUSED_CROSS_ORIGIN] = "http_refused_cross_origin",
    [STAT_HTTP_REFUSED_MEDIA_TYPE] = "http_refused_media_type",
    [STAT_HTTP_SLOW_HEAD] = "http_slow_head_closed",
    [STAT_HTTP_SLOW_BODY] = "http_slow_body_closed",
};

const char *stats_name(enum stat_counter c)
{
    return (c >= 0 && c < STAT_COUNT) ? names[c] : "unknown";
}
