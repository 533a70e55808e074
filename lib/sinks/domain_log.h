/*
 * domain_log — per-domain event log files: logs/<domain>/YYYY-MM-DD.log, one JSON
 * object per line, rotated daily and by size, old files gzipped, pruned by age and
 * by count. Also reads a day back for the HTTP API (GET /api/logs...).
 *
 * Writing. domain_log_write() never blocks on I/O: it copies the line into a bounded
 * queue and returns; when the queue is full it returns false and counts a drop.
 * Any thread may call it (the HTTP thread, the delivery thread, ESL readers).
 *
 * Threads owned by the module:
 *   writer       pops lines in batches, keeps up to max_open_files files open (LRU),
 *                appends each line plus '\n', writes once per file per batch (no
 *                fsync per line), rotates by size and at the UTC day change;
 *   maintenance  (low priority, nice 10) gzips closed files, deletes old ones,
 *                removes empty domain directories. It never touches the active file.
 * The writer creates and renames files but never deletes one; the maintenance thread
 * compresses and deletes, and never touches the base piece of the current day.
 *
 * Layout under `dir` (directories 0750, files 0640):
 *   <dir>/<name>/                 name = domain_log_sanitize(domain): lowercase,
 *                                 [a-z0-9-] kept, '.' and every other byte become '_',
 *                                 at most 253 bytes; NULL or "" become "default"
 *   <dir>/<name>/YYYY-MM-DD.log   the active file of that UTC day (the base piece)
 *   <dir>/<name>/YYYY-MM-DD.N.log rotated pieces, N = 1, 2, ...: a larger N holds
 *                                 later lines; the base piece is the newest of all
 *   ... and each of them as .log.gz once closed (the plain file is then removed).
 * Reading a day means reading .1, .2, ..., .N, then the base piece.
 *
 * Dates are UTC, taken from `now_ms` when the writer thread handles the line (an event
 * written at 23:59:59.999 may land in the next day's file; every line carries its own
 * timestamp). The writer's day never goes backwards: if the wall clock steps back,
 * lines keep going to the latest day seen.
 *
 * Rotation. When appending a line would take the base piece past max_file_bytes (and
 * it is not empty), it is closed and renamed to the next free N, then gzipped. A
 * single line longer than the limit gets a file of its own. At the day change every
 * open file is closed; the maintenance thread gzips the previous day's base pieces.
 *
 * Retention (at startup, at each day change, every hour of `now_ms`, and for one
 * domain after each of its rotations):
 *   - a file of date D is deleted when today - D > max_age_days (so with 30, the file
 *     of exactly 30 days ago is still there);
 *   - per domain and per day, at most max_backups rotated pieces (N >= 1) are kept;
 *     the oldest (smallest N) go first. The base piece is not a backup;
 *   - plain files of closed pieces left by a crash are gzipped; leftover *.tmp
 *     (an interrupted compression) are deleted; an empty domain directory is removed.
 *
 * Errors: domain_log_new() logs why it failed and returns NULL. I/O errors on the
 * threads are logged (rate-limited, subsystem "domain_log") and counted; the lines of
 * a failed write are counted as lost. The reading functions return enum
 * domain_log_err (0 or a negative code) so the HTTP layer can answer 400, 404 or 500.
 */
#ifndef EVENTHUB_DOMAIN_LOG_H
#define EVENTHUB_DOMAIN_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOMAIN_LOG_NAME_MAX 253                     /* longest sanitized directory name */
#define DOMAIN_LOG_DATE_LEN 10                      /* "YYYY-MM-DD" */
#define DOMAIN_LOG_MAX_LINE_BYTES (4 * 1024 * 1024) /* readers skip longer lines */

struct domain_log;

struct domain_log_options {
    const char *dir;          /* required; created (with parents) if missing. Copied. */
    uint64_t max_file_bytes;  /* 0 = default 500 MiB; at least 64 */
    int max_age_days;         /* 0 = default 30; < 0 = never delete by age */
    int max_backups;          /* 0 = default 30; < 0 = keep every rotated piece */
    size_t queue_capacity;    /* lines; 0 = default 65536 */
    size_t queue_max_bytes;   /* bytes of queued lines; 0 = default 64 MiB */
    size_t max_line_bytes;    /* longer lines are refused; 0 = default 1 MiB; at most
                                 DOMAIN_LOG_MAX_LINE_BYTES */
    int max_open_files;       /* writer's LRU of open files; 0 = default 64 */
    int64_t close_timeout_ms; /* domain_log_free() drains the queue for at most this;
                                 0 = default 5 s */
    /* Wall clock in ms since the epoch (dates, hourly retention); NULL = clock_wall_ms.
     * Called from the writer thread. For tests. */
    int64_t (*now_ms)(void);
};

struct domain_log_stats {
    uint64_t written;      /* lines written to a file */
    uint64_t dropped;      /* refused by domain_log_write: queue full, line too long/empty */
    uint64_t lost;         /* accepted but not written: I/O error, or still queued when
                              domain_log_free() gave up */
    uint64_t rotations;    /* size rotations */
    uint64_t compressions; /* files gzipped */
    uint64_t removed;      /* files deleted by retention */
    uint64_t errors;       /* I/O errors (open, write, rename, compress, delete) */
    size_t queued;         /* lines waiting for the writer now */
};

/* Starts the writer and maintenance threads. Returns NULL (and logs why) when the
 * options are invalid, the directory cannot be created or a thread cannot start. */
struct domain_log *domain_log_new(const struct domain_log_options *opts);
/* Drains the queue (at most close_timeout_ms), closes the files, stops the threads
 * (a compression in progress is abandoned; the next start redoes it). Accepts NULL. */
void domain_log_free(struct domain_log *dl);

/*
 * Queues one line for `domain` (NULL or "" = "default"; sanitized). `json_line` is
 * copied; a trailing newline is dropped and any other CR/LF becomes a space, so the
 * file stays one object per line. Never blocks on I/O. Returns false, and counts a
 * drop, when the queue is full or the line is empty or longer than max_line_bytes.
 * `dl` may be NULL (domain logging off): returns false, nothing counted. Any thread.
 */
bool domain_log_write(struct domain_log *dl, const char *domain, const char *json_line);

/* Waits until every line queued before the call is written, the day change (per
 * now_ms) is handled and the maintenance thread is idle. True when done before
 * timeout_ms. For tests and orderly shutdown; any thread but the module's own. */
bool domain_log_sync(struct domain_log *dl, int64_t timeout_ms);

/* Holds the writer (lines accumulate in the queue) or lets it go. For tests. */
void domain_log_set_paused(struct domain_log *dl, bool paused);

void domain_log_get_stats(struct domain_log *dl, struct domain_log_stats *out);
/* The directory given in the options (borrowed, lives as long as `dl`). */
const char *domain_log_dir(const struct domain_log *dl);

/* ---- names, dates, input validation (pure; any thread) ---- */

enum domain_log_err {
    DOMAIN_LOG_OK = 0,
    DOMAIN_LOG_BAD_DOMAIN = -1, /* 400: empty, too long, '/', '\', "..", control bytes */
    DOMAIN_LOG_BAD_DATE = -2,   /* 400: not a real YYYY-MM-DD */
    DOMAIN_LOG_NO_DOMAIN = -3,  /* 404: no directory for that domain */
    DOMAIN_LOG_NO_DATE = -4,    /* 404: the domain has no file for that date */
    DOMAIN_LOG_IO = -5,         /* 500: the directory could not be read (logged) */
    DOMAIN_LOG_NOMEM = -6,      /* 500 */
};
const char *domain_log_strerror(int err);

/* Writes the directory name for `domain` into `out` (cap >= DOMAIN_LOG_NAME_MAX + 1;
 * smaller caps truncate) and returns its length. Longer domains are truncated. */
size_t domain_log_sanitize(const char *domain, char *out, size_t cap);

/* Checks a domain given by a client (`len` bytes, so an embedded NUL is caught) and,
 * when it is acceptable, writes its sanitized name to `out` (cap >= NAME_MAX + 1).
 * Returns DOMAIN_LOG_OK or DOMAIN_LOG_BAD_DOMAIN. Both "example.com" and the listed
 * name "example_com" are accepted. */
int domain_log_check_domain(const char *domain, size_t len, char *out, size_t cap);

/* Strict "YYYY-MM-DD" (ten characters, a real calendar date, year >= 0001). */
bool domain_log_valid_date(const char *date);

/* ---- reading back (any thread; reads the directory, never talks to the writer) ---- */

struct domain_log_day {
    char date[DOMAIN_LOG_DATE_LEN + 1];
    unsigned files; /* pieces of that day (rotated + base) */
    uint64_t bytes; /* their size on disk (compressed size for .gz) */
};

struct domain_log_domain {
    char *name;                  /* sanitized directory name */
    struct domain_log_day *days; /* ascending */
    size_t day_count;
};

struct domain_log_listing {
    struct domain_log_domain *domains; /* by name */
    size_t count;
    bool truncated; /* more than 100000 domains or 10000 days in one: the rest left out */
};

/*
 * Fills `out` with the domains under `dir` and their dates (from .log and .log.gz
 * names; directories that are not sanitized names, or hold no log file, are left
 * out). With `domain` non-NULL, only that one (client input, checked as by
 * domain_log_check_domain): DOMAIN_LOG_BAD_DOMAIN or DOMAIN_LOG_NO_DOMAIN when it is
 * bad or absent. A missing `dir` is an empty listing. Free with
 * domain_log_listing_clear().
 */
int domain_log_list(const char *dir, const char *domain, struct domain_log_listing *out);
void domain_log_listing_clear(struct domain_log_listing *l);

/* Called for each line (without '\n', NUL-terminated, borrowed for the call), on the
 * caller's thread. Return false to stop. A NULL callback only counts lines. */
typedef bool (*domain_log_line_fn)(void *ctx, const char *line, size_t len);

struct domain_log_read_result {
    size_t lines;      /* lines passed to the callback */
    size_t seen;       /* complete lines met, the skipped ones included */
    bool more;         /* stopped at max_lines and at least one more line exists */
    bool timed_out;    /* stopped at the deadline (domain_log_read_day_until) */
    size_t long_lines; /* lines over DOMAIN_LOG_MAX_LINE_BYTES, skipped */
    size_t damaged;    /* files that ended early (corrupt or truncated gzip) */
};

/*
 * Reads the lines of `domain` (client input) on `date` in the order they were
 * written, across rotated pieces and .gz files. Skips the first `skip` lines, then
 * passes at most `max_lines` (0 = no limit) to `fn`. An unterminated last line (being
 * written right now) is left out. Validation happens before any file is opened, so a
 * bad domain or date is always a 400. Returns DOMAIN_LOG_OK or a negative code;
 * `res` (may be NULL) is filled either way.
 */
int domain_log_read_day(const char *dir, const char *domain, const char *date, size_t skip,
                        size_t max_lines, domain_log_line_fn fn, void *ctx,
                        struct domain_log_read_result *res);

/* The same, stopping once clock_mono_ms() reaches `deadline_ms` (0 = never; checked
 * after every 64 KiB read and between files): res->timed_out is then set. The first
 * 64 KiB are always read, and once the `skip` lines are behind it the read passes on at
 * least one line before it stops, so continuing from `skip + res->lines` progresses; a
 * read that times out still skipping has res->seen < skip. */
int domain_log_read_day_until(const char *dir, const char *domain, const char *date, size_t skip,
                              size_t max_lines, int64_t deadline_ms, domain_log_line_fn fn,
                              void *ctx, struct domain_log_read_result *res);

#endif
