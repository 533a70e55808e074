/*
 * domain_log — see domain_log.h. This file: options, the queue, the writer thread.
 *
 * The queue is a ring of pointers to malloc'd entries (sanitized name + line),
 * bounded by count and by bytes, guarded by `mu`. Callers only malloc, copy and push;
 * the writer pops up to WRITER_BATCH entries at a time and does the I/O without the
 * lock.
 *
 * The writer thread owns everything below the "writer thread only" line: the LRU of
 * open files (all of them base pieces of `cur_day`), their 64 KiB write buffers, the
 * day and the sweep schedule. Each file is written once per batch; lines reach the
 * kernel within one batch, never fsync'd here (the maintenance thread fsyncs the .gz
 * before it deletes a plain file).
 *
 * Sync: a caller bumps `sync_req`; the writer, once the queue is empty and it has
 * ticked (day change, sweeps), publishes the value in `sync_done`.
 */
#include "sinks/domain_log_internal.h"

#include "core/clock.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_FILE_BYTES (500ull * 1024 * 1024)
#define DEFAULT_MAX_AGE_DAYS 30
#define DEFAULT_MAX_BACKUPS 30
#define DEFAULT_QUEUE_CAPACITY 65536
#define DEFAULT_QUEUE_MAX_BYTES (64u * 1024 * 1024)
#define DEFAULT_MAX_LINE_BYTES (1024u * 1024)
#define DEFAULT_MAX_OPEN_FILES 64
#define DEFAULT_CLOSE_TIMEOUT_MS 5000
#define MAX_OPEN_FILES_LIMIT 4096
#define MAX_DIR_LEN (PATH_MAX - DOMAIN_LOG_NAME_MAX - DL_FILE_NAME_MAX - 8)
#define WRITER_BATCH 1024
#define WRITER_TICK_MS 1000
#define SWEEP_EVERY_MS (3600 * 1000)
#define FILE_BUF_BYTES (64 * 1024)

struct entry {
    size_t len;      /* of the line */
    size_t name_len; /* of the sanitized domain */
    char data[];     /* name '\0' line '\0' */
};

struct dl_file {
    char name[DOMAIN_LOG_NAME_MAX + 1];
    int fd;         /* -1: slot unused */
    uint64_t size;  /* bytes in the file, buffered ones included */
    uint64_t limit; /* rotate before a line would take `size` past this */
    char *buf;      /* FILE_BUF_BYTES */
    size_t used, lines;
    uint64_t last_use;
    bool need_newline; /* a failed write may have left half a line */
};

struct domain_log {
    char *dir;
    uint64_t max_file_bytes;
    size_t queue_capacity, queue_max_bytes, max_line_bytes;
    int max_open_files;
    int64_t close_timeout_ms;
    int64_t (*now_ms)(void);
    struct dl_counters c;
    struct dl_maint *maint;

    pthread_mutex_t mu;
    pthread_cond_t wake;   /* CLOCK_MONOTONIC; writer: lines, sync, pause, stop */
    pthread_cond_t synced; /* CLOCK_MONOTONIC; sync callers */
    bool sync_init;
    struct entry **ring;
    size_t head, count, bytes;
    bool paused, stopping;
    int64_t stop_deadline_ms; /* monotonic */
    uint64_t sync_req, sync_done;
    pthread_t thread;
    bool started;

    /* ---- writer thread only ---- */
    struct dl_file *files;
    struct entry **batch;
    uint64_t use_clock;
    int64_t cur_day;
    int64_t last_sweep_ms;
    struct log_ratelimit rl;
};

#define writer_warn(dl, ...)                                                                       \
    do {                                                                                           \
        atomic_fetch_add_explicit(&(dl)->c.errors, 1, memory_order_relaxed);                       \
        if (log_ratelimit_ok(&(dl)->rl, 10, 60000, NULL))                                          \
            log_warn("domain_log", __VA_ARGS__);                                                   \
    } while (0)

static void count_add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static struct timespec mono_timespec(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    return ts;
}

/* ---- files (writer thread) ---- */

static bool write_all(int fd, const char *p, size_t n, size_t *done)
{
    *done = 0;
    while (*done < n) {
        ssize_t w = write(fd, p + *done, n - *done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        *done += (size_t)w;
    }
    return true;
}

static void file_flush(struct domain_log *dl, struct dl_file *f)
{
    if (f->used == 0)
        return;
    size_t done = 0;
    if (write_all(f->fd, f->buf, f->used, &done)) {
        count_add(&dl->c.written, f->lines);
    } else {
        writer_warn(dl, "write %s/%s: %s", dl->dir, f->name, strerror(errno));
        count_add(&dl->c.lost, f->lines);
        f->size -= f->used - done;
        f->need_newline = done > 0;
    }
    f->used = 0;
    f->lines = 0;
}

static void file_close(struct domain_log *dl, struct dl_file *f)
{
    if (f->fd < 0)
        return;
    file_flush(dl, f);
    close(f->fd);
    f->fd = -1;
    free(f->buf);
    f->buf = NULL;
}

static void close_all(struct domain_log *dl)
{
    for (int i = 0; i < dl->max_open_files; i++)
        file_close(dl, &dl->files[i]);
}

static void flush_all(struct domain_log *dl)
{
    for (int i = 0; i < dl->max_open_files; i++)
        if (dl->files[i].fd >= 0)
            file_flush(dl, &dl->files[i]);
}

/* Formats <dir>/<name>[/<file>]; false when it does not fit (cannot happen with the
 * bounds checked in domain_log_new). */
static bool make_path(char *out, const struct domain_log *dl, const char *name, const char *file)
{
    int n = file ? snprintf(out, PATH_MAX, "%s/%s/%s", dl->dir, name, file)
                 : snprintf(out, PATH_MAX, "%s/%s", dl->dir, name);
    return n > 0 && n < PATH_MAX;
}

/* Formats <dpath>/<date>[.<index>].log<suffix>; false when it does not fit. */
static bool piece_path(char *out, const char *dpath, const char *date, unsigned index,
                       const char *suffix)
{
    int n = index ? snprintf(out, PATH_MAX, "%s/%s.%u.log%s", dpath, date, index, suffix)
                  : snprintf(out, PATH_MAX, "%s/%s.log%s", dpath, date, suffix);
    return n > 0 && n < PATH_MAX;
}

/* The next rotation index for `date` in the domain directory: one past the largest
 * present, so a larger index always holds later lines. 0 when none is left. */
static unsigned next_index(const char *dpath, const char *date)
{
    DIR *d = opendir(dpath);
    if (!d)
        return 0;
    unsigned max = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct dl_name nm;
        if (dl_parse_name(e->d_name, &nm) && strcmp(nm.date, date) == 0 && nm.index > max)
            max = nm.index;
    }
    closedir(d);
    return max < DL_PIECE_MAX ? max + 1 : 0;
}

/* A base piece that is already gzipped belongs to a closed past (the clock went back
 * across a restart): make it the newest rotated piece so the order stays right. */
static void retire_old_base(struct domain_log *dl, const char *dpath, const char *date)
{
    char gz[PATH_MAX], plain[PATH_MAX], to[PATH_MAX];
    if (!piece_path(plain, dpath, date, 0, "") || !piece_path(gz, dpath, date, 0, ".gz") ||
        access(gz, F_OK) != 0 || access(plain, F_OK) == 0)
        return;
    unsigned n = next_index(dpath, date);
    if (n == 0 || !piece_path(to, dpath, date, n, ".gz") || rename(gz, to) != 0)
        writer_warn(dl, "rename %s: %s", gz, n ? strerror(errno) : "no index left");
}

/* Opens today's base piece of `f->name` in slot `f`. */
static bool file_open(struct domain_log *dl, struct dl_file *f)
{
    char dpath[PATH_MAX], path[PATH_MAX], date[DOMAIN_LOG_DATE_LEN + 1], base[32];
    dl_format_day(dl->cur_day, date);
    snprintf(base, sizeof base, "%s.log", date);
    if (!make_path(dpath, dl, f->name, NULL) || !make_path(path, dl, f->name, base))
        return false;
    int fd = -1;
    /* The second round covers the maintenance thread removing an empty directory
     * between our mkdir and open. */
    for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
        if (mkdir(dpath, 0750) != 0 && errno != EEXIST)
            break;
        retire_old_base(dl, dpath, date);
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0 && errno != ENOENT)
            break;
    }
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) != 0) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0)
        f->buf = malloc(FILE_BUF_BYTES);
    if (fd < 0 || !f->buf) {
        writer_warn(dl, "open %s: %s", path, fd < 0 ? strerror(errno) : "out of memory");
        if (fd >= 0)
            close(fd);
        return false;
    }
    f->fd = fd;
    f->size = (uint64_t)st.st_size;
    f->limit = dl->max_file_bytes;
    f->used = f->lines = 0;
    f->need_newline = false;
    return true;
}

/* The open file for `name`, opening it (and evicting the least recently used) if
 * needed. NULL when it cannot be opened. */
static struct dl_file *file_get(struct domain_log *dl, const char *name)
{
    struct dl_file *victim = NULL;
    for (int i = 0; i < dl->max_open_files; i++) {
        struct dl_file *f = &dl->files[i];
        if (f->fd >= 0 && strcmp(f->name, name) == 0) {
            f->last_use = ++dl->use_clock;
            return f;
        }
        if (!victim || (victim->fd >= 0 && (f->fd < 0 || f->last_use < victim->last_use)))
            victim = f;
    }
    if (!victim)
        return NULL;
    file_close(dl, victim);
    snprintf(victim->name, sizeof victim->name, "%s", name);
    if (!file_open(dl, victim))
        return NULL;
    victim->last_use = ++dl->use_clock;
    return victim;
}

/* Size rotation: the base piece becomes the next numbered piece and a new base piece
 * is opened. Returns the file to write to, or NULL. */
static struct dl_file *file_rotate(struct domain_log *dl, struct dl_file *f)
{
    char dpath[PATH_MAX], from[PATH_MAX], to[PATH_MAX], date[DOMAIN_LOG_DATE_LEN + 1];
    uint64_t old_size = f->size;
    file_close(dl, f);
    dl_format_day(dl->cur_day, date);
    if (!make_path(dpath, dl, f->name, NULL))
        return NULL;
    unsigned n = next_index(dpath, date);
    bool renamed = n > 0 && piece_path(from, dpath, date, 0, "") &&
                   piece_path(to, dpath, date, n, "") && rename(from, to) == 0;
    if (renamed) {
        count_add(&dl->c.rotations, 1);
        dl_maint_request(dl->maint, f->name, dl->cur_day);
    } else {
        writer_warn(dl, "rotate %s: %s", from, n ? strerror(errno) : "no index left");
    }
    if (!file_open(dl, f))
        return NULL;
    if (!renamed) /* keep writing; try again one limit later, not on every line */
        f->limit = old_size + dl->max_file_bytes;
    return f;
}

static void write_entry(struct domain_log *dl, const struct entry *e)
{
    const char *name = e->data, *line = e->data + e->name_len + 1;
    struct dl_file *f = file_get(dl, name);
    if (f && f->size > 0 && f->size + e->len + 1 > f->limit)
        f = file_rotate(dl, f);
    if (!f) {
        count_add(&dl->c.lost, 1);
        return;
    }
    size_t need = e->len + 1 + (f->need_newline ? 1 : 0);
    if (f->used + need > FILE_BUF_BYTES)
        file_flush(dl, f);
    if (f->need_newline) {
        f->buf[f->used++] = '\n';
        f->size++;
        f->need_newline = false;
    }
    if (e->len + 1 > FILE_BUF_BYTES - f->used) { /* too big to buffer: write directly */
        file_flush(dl, f);
        struct iovec iov[2] = {{.iov_base = (void *)line, .iov_len = e->len},
                               {.iov_base = "\n", .iov_len = 1}};
        ssize_t w = writev(f->fd, iov, 2);
        if (w == (ssize_t)(e->len + 1)) {
            count_add(&dl->c.written, 1);
            f->size += e->len + 1;
        } else {
            writer_warn(dl, "write %s/%s: %s", dl->dir, f->name,
                        w < 0 ? strerror(errno) : "short write");
            count_add(&dl->c.lost, 1);
            if (w > 0) {
                f->size += (uint64_t)w;
                f->need_newline = true;
            }
        }
        return;
    }
    memcpy(f->buf + f->used, line, e->len);
    f->buf[f->used + e->len] = '\n';
    f->used += e->len + 1;
    f->lines++;
    f->size += e->len + 1;
}

/* Day change and the hourly sweep, by `now_ms`. The day never goes backwards. */
static void writer_tick(struct domain_log *dl)
{
    int64_t now = dl->now_ms();
    int64_t day = dl_day_of_ms(now);
    if (day > dl->cur_day) {
        close_all(dl); /* yesterday's files: the sweep below gzips them */
        dl->cur_day = day;
        dl->last_sweep_ms = now;
        dl_maint_request(dl->maint, NULL, day);
    } else if (now - dl->last_sweep_ms >= SWEEP_EVERY_MS || now < dl->last_sweep_ms) {
        dl->last_sweep_ms = now;
        dl_maint_request(dl->maint, NULL, dl->cur_day);
    }
}

static void *writer_main(void *arg)
{
    struct domain_log *dl = arg;
    pthread_setname_np(pthread_self(), "eh-dlog-write");
    writer_tick(dl);
    pthread_mutex_lock(&dl->mu);
    for (;;) {
        if (dl->stopping && (dl->count == 0 || clock_mono_ms() >= dl->stop_deadline_ms))
            break;
        if (dl->count > 0 && (!dl->paused || dl->stopping)) {
            size_t n = 0;
            while (n < WRITER_BATCH && dl->count > 0) {
                struct entry *e = dl->ring[dl->head];
                dl->head = (dl->head + 1) % dl->queue_capacity;
                dl->count--;
                dl->bytes -= e->len;
                dl->batch[n++] = e;
            }
            pthread_mutex_unlock(&dl->mu);
            writer_tick(dl);
            for (size_t i = 0; i < n; i++) {
                write_entry(dl, dl->batch[i]);
                free(dl->batch[i]);
            }
            flush_all(dl);
            pthread_mutex_lock(&dl->mu);
            continue;
        }
        if (dl->count == 0 && dl->sync_done != dl->sync_req) {
            uint64_t req = dl->sync_req;
            pthread_mutex_unlock(&dl->mu);
            writer_tick(dl);
            pthread_mutex_lock(&dl->mu);
            if (dl->count == 0) {
                dl->sync_done = req;
                pthread_cond_broadcast(&dl->synced);
            }
            continue;
        }
        struct timespec ts = mono_timespec(clock_mono_ms() + WRITER_TICK_MS);
        if (pthread_cond_timedwait(&dl->wake, &dl->mu, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&dl->mu);
            writer_tick(dl);
            pthread_mutex_lock(&dl->mu);
        }
    }
    /* Gave up at the deadline: what is left is lost. */
    size_t left = 0;
    while (dl->count > 0) {
        free(dl->ring[dl->head]);
        dl->head = (dl->head + 1) % dl->queue_capacity;
        dl->count--;
        left++;
    }
    dl->bytes = 0;
    pthread_mutex_unlock(&dl->mu);
    if (left > 0) {
        count_add(&dl->c.lost, left);
        log_warn("domain_log", "closing: %zu queued lines not written", left);
    }
    close_all(dl);
    return NULL;
}

/* ---- public API ---- */

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    if (stat(tmp, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static const char *check_options(const struct domain_log_options *o)
{
    if (!o || !o->dir || !o->dir[0])
        return "no directory given";
    if (strlen(o->dir) > MAX_DIR_LEN)
        return "directory path too long";
    if (o->max_file_bytes != 0 && o->max_file_bytes < 64)
        return "max_file_bytes below 64";
    if (o->max_line_bytes > DOMAIN_LOG_MAX_LINE_BYTES)
        return "max_line_bytes above 4 MiB";
    if (o->max_open_files < 0 || o->max_open_files > MAX_OPEN_FILES_LIMIT)
        return "max_open_files out of 0..4096";
    if (o->close_timeout_ms < 0)
        return "negative close_timeout_ms";
    return NULL;
}

static bool init_sync(struct domain_log *dl)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return false;
    bool ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
              pthread_mutex_init(&dl->mu, NULL) == 0;
    if (ok && pthread_cond_init(&dl->wake, &ca) != 0) {
        pthread_mutex_destroy(&dl->mu);
        ok = false;
    }
    if (ok && pthread_cond_init(&dl->synced, &ca) != 0) {
        pthread_cond_destroy(&dl->wake);
        pthread_mutex_destroy(&dl->mu);
        ok = false;
    }
    pthread_condattr_destroy(&ca);
    return ok;
}

struct domain_log *domain_log_new(const struct domain_log_options *opts)
{
    const char *bad = check_options(opts);
    if (bad) {
        log_error("domain_log", "invalid options: %s", bad);
        return NULL;
    }
    int rc = mkdir_p(opts->dir);
    if (rc < 0) {
        log_error("domain_log", "cannot create %s: %s", opts->dir, strerror(-rc));
        return NULL;
    }
    struct domain_log *dl = calloc(1, sizeof *dl);
    if (!dl)
        return NULL;
    dl->max_file_bytes = opts->max_file_bytes ? opts->max_file_bytes : DEFAULT_MAX_FILE_BYTES;
    int max_age = opts->max_age_days ? opts->max_age_days : DEFAULT_MAX_AGE_DAYS;
    int max_backups = opts->max_backups ? opts->max_backups : DEFAULT_MAX_BACKUPS;
    dl->queue_capacity = opts->queue_capacity ? opts->queue_capacity : DEFAULT_QUEUE_CAPACITY;
    dl->queue_max_bytes = opts->queue_max_bytes ? opts->queue_max_bytes : DEFAULT_QUEUE_MAX_BYTES;
    dl->max_line_bytes = opts->max_line_bytes ? opts->max_line_bytes : DEFAULT_MAX_LINE_BYTES;
    dl->max_open_files = opts->max_open_files ? opts->max_open_files : DEFAULT_MAX_OPEN_FILES;
    dl->close_timeout_ms =
        opts->close_timeout_ms ? opts->close_timeout_ms : DEFAULT_CLOSE_TIMEOUT_MS;
    dl->now_ms = opts->now_ms ? opts->now_ms : clock_wall_ms;
    dl->cur_day = INT64_MIN;
    dl->dir = strdup(opts->dir);
    dl->ring = calloc(dl->queue_capacity, sizeof *dl->ring);
    dl->batch = calloc(WRITER_BATCH, sizeof *dl->batch);
    dl->files = calloc((size_t)dl->max_open_files, sizeof *dl->files);
    if (dl->files)
        for (int i = 0; i < dl->max_open_files; i++)
            dl->files[i].fd = -1;
    dl->sync_init = init_sync(dl);
    if (!dl->dir || !dl->ring || !dl->batch || !dl->files || !dl->sync_init)
        goto fail;
    dl->maint = dl_maint_new(dl->dir, max_age, max_backups, &dl->c);
    if (!dl->maint)
        goto fail;
    if (pthread_create(&dl->thread, NULL, writer_main, dl) != 0)
        goto fail;
    dl->started = true;
    return dl;
fail:
    log_error("domain_log", "cannot start the domain log writer for %s", opts->dir);
    domain_log_free(dl);
    return NULL;
}

void domain_log_free(struct domain_log *dl)
{
    if (!dl)
        return;
    if (dl->started) {
        pthread_mutex_lock(&dl->mu);
        dl->stopping = true;
        dl->stop_deadline_ms = clock_mono_ms() + dl->close_timeout_ms;
        pthread_cond_signal(&dl->wake);
        pthread_mutex_unlock(&dl->mu);
        pthread_join(dl->thread, NULL);
    }
    dl_maint_free(dl->maint);
    if (dl->ring)
        for (size_t i = 0; i < dl->count; i++)
            free(dl->ring[(dl->head + i) % dl->queue_capacity]);
    if (dl->sync_init) {
        pthread_cond_destroy(&dl->synced);
        pthread_cond_destroy(&dl->wake);
        pthread_mutex_destroy(&dl->mu);
    }
    free(dl->files);
    free(dl->batch);
    free(dl->ring);
    free(dl->dir);
    free(dl);
}

bool domain_log_write(struct domain_log *dl, const char *domain, const char *json_line)
{
    if (!dl || !json_line)
        return false;
    /* Bounded scan: a huge string is refused without reading all of it. */
    size_t len = strnlen(json_line, dl->max_line_bytes + 3);
    if (len <= dl->max_line_bytes + 2)
        while (len > 0 && (json_line[len - 1] == '\n' || json_line[len - 1] == '\r'))
            len--;
    if (len == 0 || len > dl->max_line_bytes) {
        count_add(&dl->c.dropped, 1);
        return false;
    }
    char name[DOMAIN_LOG_NAME_MAX + 1];
    size_t name_len = domain_log_sanitize(domain, name, sizeof name);
    struct entry *e = malloc(sizeof *e + name_len + 1 + len + 1);
    if (!e) {
        count_add(&dl->c.dropped, 1);
        return false;
    }
    e->len = len;
    e->name_len = name_len;
    memcpy(e->data, name, name_len + 1);
    char *line = e->data + name_len + 1;
    for (size_t i = 0; i < len; i++)
        line[i] = json_line[i] == '\n' || json_line[i] == '\r' ? ' ' : json_line[i];
    line[len] = '\0';

    pthread_mutex_lock(&dl->mu);
    bool ok =
        !dl->stopping && dl->count < dl->queue_capacity && dl->bytes + len <= dl->queue_max_bytes;
    if (ok) {
        dl->ring[(dl->head + dl->count) % dl->queue_capacity] = e;
        dl->count++;
        dl->bytes += len;
        if (dl->count == 1)
            pthread_cond_signal(&dl->wake);
    }
    pthread_mutex_unlock(&dl->mu);
    if (!ok) {
        free(e);
        count_add(&dl->c.dropped, 1);
    }
    return ok;
}

bool domain_log_sync(struct domain_log *dl, int64_t timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    struct timespec ts = mono_timespec(deadline);
    pthread_mutex_lock(&dl->mu);
    uint64_t target = ++dl->sync_req;
    pthread_cond_signal(&dl->wake);
    while (dl->sync_done < target)
        if (pthread_cond_timedwait(&dl->synced, &dl->mu, &ts) == ETIMEDOUT)
            break;
    bool ok = dl->sync_done >= target;
    pthread_mutex_unlock(&dl->mu);
    return ok && dl_maint_wait_idle(dl->maint, deadline);
}

void domain_log_set_paused(struct domain_log *dl, bool paused)
{
    pthread_mutex_lock(&dl->mu);
    dl->paused = paused;
    pthread_cond_signal(&dl->wake);
    pthread_mutex_unlock(&dl->mu);
}

void domain_log_get_stats(struct domain_log *dl, struct domain_log_stats *out)
{
    memset(out, 0, sizeof *out);
    out->written = atomic_load_explicit(&dl->c.written, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&dl->c.dropped, memory_order_relaxed);
    out->lost = atomic_load_explicit(&dl->c.lost, memory_order_relaxed);
    out->rotations = atomic_load_explicit(&dl->c.rotations, memory_order_relaxed);
    out->compressions = atomic_load_explicit(&dl->c.compressions, memory_order_relaxed);
    out->removed = atomic_load_explicit(&dl->c.removed, memory_order_relaxed);
    out->errors = atomic_load_explicit(&dl->c.errors, memory_order_relaxed);
    pthread_mutex_lock(&dl->mu);
    out->queued = dl->count;
    pthread_mutex_unlock(&dl->mu);
}

const char *domain_log_dir(const struct domain_log *dl)
{
    return dl->dir;
}
