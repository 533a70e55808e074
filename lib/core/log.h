/*
 * log — structured JSON-lines logging shared by every subsystem.
 *
 * Each line is one JSON object: {"ts":"2026-01-02T03:04:05.678Z","level":"info",
 * "subsystem":"ingress","msg":"..."}. Lines go to stderr or to the file given to
 * log_open(). Any thread may log; one write(2) per line keeps lines whole.
 *
 * Levels: debug = per-event detail for troubleshooting; info = lifecycle (start,
 * connect, reload, stop); warn = something failed and will be retried or was refused
 * (an endpoint answered 500, NATS disconnected); error = something needs an operator
 * (an event dead-lettered, config invalid, broker cannot start).
 *
 * The level check happens before any formatting (the macros below). Repeated
 * messages from a storm can be rate-limited with log_ratelimit_ok().
 */
#ifndef EVENTHUB_LOG_H
#define EVENTHUB_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Parses "debug", "info", "warn"/"warning", "error". Returns false when unknown. */
bool log_level_parse(const char *name, enum log_level *out);
void log_set_level(enum log_level level);
/* Sends lines to `path` (appending) instead of stderr. Returns 0 or -errno. */
int log_open(const char *path);
void log_close(void);

extern enum log_level log_current_level;

void log_write(enum log_level level, const char *subsystem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_at(level, subsystem, ...)                                                              \
    do {                                                                                           \
        if ((level) >= log_current_level)                                                          \
            log_write((level), (subsystem), __VA_ARGS__);                                          \
    } while (0)

#define log_debug(subsystem, ...) log_at(LOG_LEVEL_DEBUG, subsystem, __VA_ARGS__)
#define log_info(subsystem, ...) log_at(LOG_LEVEL_INFO, subsystem, __VA_ARGS__)
#define log_warn(subsystem, ...) log_at(LOG_LEVEL_WARN, subsystem, __VA_ARGS__)
#define log_error(subsystem, ...) log_at(LOG_LEVEL_ERROR, subsystem, __VA_ARGS__)

/*
 * A token bucket for noisy paths: returns true when this occurrence may be logged
 * (at most `burst` lines, then one per `interval_ms`). The caller owns the state,
 * zero-initialised. Thread-safe.
 */
struct log_ratelimit {
    int64_t window_start_ms;
    int count;
    int suppressed;
};
bool log_ratelimit_ok(struct log_ratelimit *rl, int burst, int64_t interval_ms, int *suppressed);

#endif
