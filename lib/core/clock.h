/*
 * clock — time helpers: monotonic and wall-clock milliseconds, RFC 3339 formatting.
 * Pure functions, any thread.
 */
#ifndef EVENTHUB_CLOCK_H
#define EVENTHUB_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);
int64_t clock_wall_ms(void);
int64_t clock_wall_us(void);
/* "2026-01-02T03:04:05.678Z" (UTC). `cap` must be >= 25. */
void clock_format_rfc3339_ms(int64_t wall_ms, char *out, size_t cap);

#endif
