/*
 * tzfile — one IANA time zone read from its TZif file (RFC 8536), for printing instants
 * as the operator's local time without TZ, tzset() or any global state.
 *
 * A zone is loaded once (at start-up or on a config reload) and is then immutable, so
 * any number of threads may use it at once. NULL stands for UTC everywhere: loading
 * "UTC" returns NULL, and a NULL zone converts with offset 0.
 */
#ifndef EVENTHUB_TZFILE_H
#define EVENTHUB_TZFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TZFILE_DIR "/usr/share/zoneinfo"
#define TZFILE_MAX_BYTES (256 * 1024) /* larger files are refused (the biggest is ~4 KiB) */
#define TZFILE_TIME_LEN 20            /* "YYYY-MM-DD HH:MM:SS" and its NUL */

struct tzfile;

/*
 * Reads TZFILE_DIR/<name>. NULL, "", "UTC" and "Etc/UTC" need no file: returns NULL with
 * *error = 0. Otherwise returns a new zone (free with tzfile_free) and *error = 0, or
 * NULL with *error set to:
 *   -EINVAL   the name is not a zone name (letters, digits and "/_+-", not starting
 *             with '/': so not "../x", "/etc/localtime", "zone.tab", "a b") or names
 *             something that is not a regular file (a directory);
 *   -ENOENT   no such zone (or another open/read errno, negated);
 *   -EBADMSG  the file is not valid TZif data (or its footer TZ string is malformed);
 *   -EFBIG    the file is larger than TZFILE_MAX_BYTES;
 *   -ENOMEM   out of memory.
 * `error` may be NULL.
 */
struct tzfile *tzfile_load(const char *name, int *error);

/*
 * Parses a TZif image held in memory (v1, or the 64-bit block and footer of v2+):
 * a new zone, or NULL with *error = -EBADMSG / -ENOMEM. Borrows data. Never returns NULL
 * with *error = 0 (an image always describes a zone, even if that zone is UTC).
 */
struct tzfile *tzfile_parse(const void *data, size_t len, int *error);

void tzfile_free(struct tzfile *z); /* accepts NULL */

/* The zone's UTC offset in seconds (east positive) at the instant utc_s. NULL: 0. */
int64_t tzfile_offset_s(const struct tzfile *z, int64_t utc_s);

/*
 * Writes the local time of the instant utc_us (microseconds since the epoch, truncated
 * to the second, toward the past) as "YYYY-MM-DD HH:MM:SS" and returns true; returns
 * false and writes "" when the local year is outside 0000..9999.
 */
bool tzfile_format(const struct tzfile *z, int64_t utc_us, char out[static TZFILE_TIME_LEN]);

#endif
