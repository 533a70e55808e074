/*
 * domain_log_internal — private to the domain_log module and its unit test.
 *
 * The module is three files, one job each:
 *   domain_log.c        the public writer: options, the queue, the writer thread, the
 *                       LRU of open files, size and day rotation;
 *   domain_log_maint.c  the maintenance thread: gzip, retention, empty directories;
 *   domain_log_read.c   names, dates and input validation, listing, reading a day.
 */
#ifndef EVENTHUB_DOMAIN_LOG_INTERNAL_H
#define EVENTHUB_DOMAIN_LOG_INTERNAL_H

#include "sinks/domain_log.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define DL_PIECE_MAX 999999999u /* largest rotation index we create or parse */
#define DL_FILE_NAME_MAX 40     /* "YYYY-MM-DD.999999999.log.gz.tmp" fits */

/* Counters shared by the writer and maintenance threads (relaxed atomics). */
struct dl_counters {
    _Atomic uint64_t written, dropped, lost, rotations, compressions, removed, errors;
};

/* A file name of the module, parsed. */
struct dl_name {
    char date[DOMAIN_LOG_DATE_LEN + 1];
    int64_t day;    /* days since 1970-01-01 */
    unsigned index; /* 0 = the base piece, N >= 1 = rotated */
    bool gz;        /* ends in .gz */
    bool tmp;       /* ends in .tmp (a compression in progress or interrupted) */
};

/* True when `name` is "YYYY-MM-DD[.N].log[.gz][.tmp]" with a valid date. */
bool dl_parse_name(const char *name, struct dl_name *out);
/* Parses a strict YYYY-MM-DD into days since the epoch. */
bool dl_parse_date(const char *s, int64_t *day);
/* Days since the epoch <-> "YYYY-MM-DD" (out has DOMAIN_LOG_DATE_LEN + 1 bytes). */
void dl_format_day(int64_t day, char *out);
int64_t dl_day_of_ms(int64_t wall_ms);
/* True for a name domain_log_sanitize() can produce: 1..NAME_MAX of [a-z0-9_-]. */
bool dl_valid_dirname(const char *name);

/* The maintenance thread (domain_log_maint.c). */
struct dl_maint;
struct dl_maint *dl_maint_new(const char *dir, int max_age_days, int max_backups,
                              struct dl_counters *counters);
/* Stops the thread (abandoning a compression in progress) and frees. Accepts NULL. */
void dl_maint_free(struct dl_maint *m);
/* Asks for a sweep of one domain directory (NULL = all of them) with `today` as the
 * current day: files of days before `today` are closed for good. Coalesced. */
void dl_maint_request(struct dl_maint *m, const char *name, int64_t today);
/* Waits until no sweep is pending or running; false at the monotonic deadline. */
bool dl_maint_wait_idle(struct dl_maint *m, int64_t deadline_mono_ms);

#endif
