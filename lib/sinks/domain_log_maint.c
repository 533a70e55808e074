/*
 * domain_log_maint — the maintenance thread of domain_log (see domain_log.h for the
 * file layout and the retention rules): gzip closed files, delete old ones, remove
 * empty domain directories.
 *
 * Owns one thread, started by dl_maint_new() and running at nice 10 so a 500 MB
 * compression does not compete with the daemon. The writer thread asks for sweeps
 * with dl_maint_request(); requests are coalesced (a pending "all" absorbs the
 * per-domain ones) so the queue is bounded. A sweep is a plain function of the
 * directory contents and `today`: running it twice is harmless, so a crash at any
 * point is repaired by the sweep at the next start.
 *
 * Invariant relied on: the writer never has a file open but the base piece of its
 * current day, and never reopens an older day (its day only moves forward). So this
 * thread may compress every rotated piece, and every base piece of a day before the
 * `today` it was given, while the writer runs.
 *
 * Compression: <f> -> <f>.gz.tmp (gzip level 6), fdatasync, rename to <f>.gz, fsync
 * the directory, unlink <f>. Readers prefer <f> while both exist.
 *
 * Locking: `mu` guards the request state (all, names, today, busy); it is never held
 * during file work.
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAINT_MAX_PENDING 256  /* per-domain requests; past it, one "all" sweep */
#define MAINT_MAX_FILES 100000 /* per domain directory and sweep */
#define MAINT_CHUNK (128 * 1024)
#define MAINT_NICE 10

struct dl_maint {
    char *dir;
    int max_age_days; /* < 0: no age limit */
    int max_backups;  /* < 0: no count limit */
    struct dl_counters *c;
    char *buf; /* MAINT_CHUNK bytes, compression input */
    struct log_ratelimit rl;

    pthread_mutex_t mu;
    pthread_cond_t work; /* request or stop */
    pthread_cond_t idle; /* CLOCK_MONOTONIC; nothing pending or running */
    bool all;
    char names[MAINT_MAX_PENDING][DOMAIN_LOG_NAME_MAX + 1];
    size_t count;
    int64_t today;
    bool busy;
    atomic_bool stop;
    bool started, sync_init;
    pthread_t thread;
};

struct file_entry {
    struct dl_name nm;
    char name[DL_FILE_NAME_MAX + 1];
    bool gone;
};

#define maint_warn(m, ...)                                                                         \
    do {                                                                                           \
        atomic_fetch_add_explicit(&(m)->c->errors, 1, memory_order_relaxed);                       \
        if (log_ratelimit_ok(&(m)->rl, 10, 60000, NULL))                                           \
            log_warn("domain_log", __VA_ARGS__);                                                   \
    } while (0)

static void count_add(_Atomic uint64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

static bool remove_file(struct dl_maint *m, int dfd, const char *dname, const char *name)
{
    if (unlinkat(dfd, name, 0) == 0)
        return true;
    if (errno != ENOENT)
        maint_warn(m, "delete %s/%s/%s: %s", m->dir, dname, name, strerror(errno));
    return false;
}

static bool read_all(int fd, char *buf, size_t cap, size_t *got)
{
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n >= 0) {
            *got = (size_t)n;
            return true;
        }
        if (errno != EINTR)
            return false;
    }
}

/* Gzips `src` in the directory `dfd` as described at the top. Returns true when
 * <src>.gz replaced it (or it was already gone). */
static bool compress_file(struct dl_maint *m, int dfd, const char *dname, const char *src)
{
    char dst[DL_FILE_NAME_MAX + 8], tmp[DL_FILE_NAME_MAX + 16];
    snprintf(dst, sizeof dst, "%s.gz", src);
    snprintf(tmp, sizeof tmp, "%s.gz.tmp", src);

    int in = openat(dfd, src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) {
        if (errno == ENOENT)
            return true;
        maint_warn(m, "compress %s/%s/%s: %s", m->dir, dname, src, strerror(errno));
        return false;
    }
    const char *what = "create";
    bool ok = false;
    gzFile g = NULL;
    int sync_fd = -1;
    int out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (out < 0)
        goto out;
    sync_fd = dup(out);
    g = gzdopen(out, "wb6");
    if (!g || sync_fd < 0) {
        if (!g)
            close(out);
        goto out;
    }
    for (;;) {
        size_t got = 0;
        what = "read";
        if (!read_all(in, m->buf, MAINT_CHUNK, &got))
            goto out;
        if (got == 0)
            break;
        what = "write";
        if (gzwrite(g, m->buf, (unsigned)got) != (int)got)
            goto out;
        if (atomic_load(&m->stop)) {
            what = NULL; /* abandoned: the next start compresses it again */
            goto out;
        }
    }
    what = "write";
    int zrc = gzclose(g);
    g = NULL;
    if (zrc != Z_OK || fdatasync(sync_fd) != 0)
        goto out;
    what = "rename";
    if (renameat(dfd, tmp, dfd, dst) != 0)
        goto out;
    (void)fsync(dfd); /* the rename is durable before the source goes */
    ok = true;
    count_add(&m->c->compressions);
    remove_file(m, dfd, dname, src);
out:
    if (!ok && what)
        maint_warn(m, "compress %s/%s/%s (%s): %s", m->dir, dname, src, what, strerror(errno));
    if (g)
        gzclose(g);
    if (sync_fd >= 0)
        close(sync_fd);
    if (!ok)
        unlinkat(dfd, tmp, 0);
    close(in);
    return ok;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct file_entry *x = a, *y = b;
    if (x->nm.day != y->nm.day)
        return x->nm.day < y->nm.day ? -1 : 1;
    if (x->nm.index != y->nm.index)
        return x->nm.index < y->nm.index ? -1 : 1;
    return (int)x->nm.gz - (int)y->nm.gz;
}

/* Reads the module's files of one domain directory, sorted by (day, index, gz). */
static struct file_entry *scan_dir(int dfd, size_t *count)
{
    int dup_fd = dup(dfd);
    DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!dir) {
        if (dup_fd >= 0)
            close(dup_fd);
        return NULL;
    }
    struct file_entry *v = NULL;
    size_t n = 0, cap = 0;
    const struct dirent *e;
    while ((e = readdir(dir)) != NULL && n < MAINT_MAX_FILES) {
        struct dl_name nm;
        if (!dl_parse_name(e->d_name, &nm))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            struct file_entry *nv = realloc(v, ncap * sizeof *nv);
            if (!nv)
                break;
            v = nv;
            cap = ncap;
        }
        v[n].nm = nm;
        v[n].gone = false;
        /* dl_parse_name() accepted it, so it fits */
        if (snprintf(v[n].name, sizeof v[n].name, "%s", e->d_name) < (int)sizeof v[n].name)
            n++;
    }
    closedir(dir);
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_entry);
    *count = n;
    return v;
}

/* Keeps the newest max_backups rotated pieces of each day. `v` is sorted. */
static void trim_backups(struct dl_maint *m, int dfd, const char *dname, struct file_entry *v,
                         size_t n)
{
    for (size_t start = 0; start < n;) {
        size_t end = start;
        size_t pieces = 0;
        unsigned last = 0;
        for (; end < n && v[end].nm.day == v[start].nm.day; end++)
            if (!v[end].gone && v[end].nm.index > 0 && v[end].nm.index != last) {
                pieces++;
                last = v[end].nm.index;
            }
        size_t extra = pieces > (size_t)m->max_backups ? pieces - (size_t)m->max_backups : 0;
        last = 0;
        for (size_t i = start; i < end && (extra > 0 || v[i].nm.index == last); i++) {
            if (v[i].gone || v[i].nm.index == 0)
                continue;
            if (v[i].nm.index != last) {
                last = v[i].nm.index;
                extra--;
            }
            v[i].gone = true;
            if (remove_file(m, dfd, dname, v[i].name))
                count_add(&m->c->removed);
        }
        start = end;
    }
}

static void sweep_domain(struct dl_maint *m, int root, const char *dname, int64_t today)
{
    int dfd = openat(root, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dfd < 0)
        return; /* gone, or not a directory of ours */
    size_t n = 0;
    struct file_entry *v = scan_dir(dfd, &n);
    for (size_t i = 0; i < n; i++) {
        struct file_entry *e = &v[i];
        if (e->nm.tmp) { /* only this thread writes .tmp, and it is not compressing now */
            e->gone = true;
            remove_file(m, dfd, dname, e->name);
        } else if (m->max_age_days >= 0 && today - e->nm.day > m->max_age_days) {
            e->gone = true;
            if (remove_file(m, dfd, dname, e->name))
                count_add(&m->c->removed);
        }
    }
    if (m->max_backups >= 0)
        trim_backups(m, dfd, dname, v, n);
    size_t left = 0;
    for (size_t i = 0; i < n && !atomic_load(&m->stop); i++) {
        struct file_entry *e = &v[i];
        if (e->gone)
            continue;
        left++;
        if (!e->nm.gz && (e->nm.index > 0 || e->nm.day < today))
            compress_file(m, dfd, dname, e->name);
    }
    free(v);
    close(dfd);
    /* ENOTEMPTY when the writer has just created today's file: fine. The writer
     * recreates the directory if it loses this race. */
    if (left == 0 && !atomic_load(&m->stop))
        unlinkat(root, dname, AT_REMOVEDIR);
}

static void sweep(struct dl_maint *m, const char *only, int64_t today)
{
    int root = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        maint_warn(m, "open %s: %s", m->dir, strerror(errno));
        return;
    }
    if (only) {
        sweep_domain(m, root, only, today);
        close(root);
        return;
    }
    int dup_fd = dup(root);
    DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!dir) {
        if (dup_fd >= 0)
            close(dup_fd);
        close(root);
        return;
    }
    const struct dirent *e;
    while ((e = readdir(dir)) != NULL && !atomic_load(&m->stop))
        if (dl_valid_dirname(e->d_name))
            sweep_domain(m, root, e->d_name, today);
    closedir(dir);
    close(root);
}

static void *maint_main(void *arg)
{
    struct dl_maint *m = arg;
    pthread_setname_np(pthread_self(), "eh-dlog-maint");
    /* Linux applies a nice value per thread; failure only costs priority. */
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), MAINT_NICE);

    pthread_mutex_lock(&m->mu);
    for (;;) {
        while (!atomic_load(&m->stop) && !m->all && m->count == 0)
            pthread_cond_wait(&m->work, &m->mu);
        if (atomic_load(&m->stop))
            break;
        char name[DOMAIN_LOG_NAME_MAX + 1] = "";
        bool all = m->all;
        if (all) {
            m->all = false;
            m->count = 0;
        } else {
            m->count--;
            memcpy(name, m->names[m->count], sizeof name);
        }
        int64_t today = m->today;
        m->busy = true;
        pthread_mutex_unlock(&m->mu);

        sweep(m, all ? NULL : name, today);

        pthread_mutex_lock(&m->mu);
        m->busy = false;
        if (!m->all && m->count == 0)
            pthread_cond_broadcast(&m->idle);
    }
    m->busy = false;
    pthread_cond_broadcast(&m->idle);
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

struct dl_maint *dl_maint_new(const char *dir, int max_age_days, int max_backups,
                              struct dl_counters *counters)
{
    struct dl_maint *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->max_age_days = max_age_days;
    m->max_backups = max_backups;
    m->c = counters;
    m->today = INT64_MIN;
    atomic_init(&m->stop, false);
    m->dir = strdup(dir);
    m->buf = malloc(MAINT_CHUNK);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&m->mu, NULL) == 0) {
        if (pthread_cond_init(&m->work, NULL) == 0) {
            if (pthread_cond_init(&m->idle, &ca) == 0)
                m->sync_init = true;
            else
                pthread_cond_destroy(&m->work);
        }
        if (!m->sync_init)
            pthread_mutex_destroy(&m->mu);
    }
    pthread_condattr_destroy(&ca);
    if (!m->dir || !m->buf || !m->sync_init ||
        pthread_create(&m->thread, NULL, maint_main, m) != 0) {
        dl_maint_free(m);
        return NULL;
    }
    m->started = true;
    return m;
}

void dl_maint_free(struct dl_maint *m)
{
    if (!m)
        return;
    if (m->started) {
        pthread_mutex_lock(&m->mu);
        atomic_store(&m->stop, true);
        pthread_cond_signal(&m->work);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->thread, NULL);
    }
    if (m->sync_init) {
        pthread_cond_destroy(&m->idle);
        pthread_cond_destroy(&m->work);
        pthread_mutex_destroy(&m->mu);
    }
    free(m->buf);
    free(m->dir);
    free(m);
}

void dl_maint_request(struct dl_maint *m, const char *name, int64_t today)
{
    pthread_mutex_lock(&m->mu);
    if (today > m->today)
        m->today = today;
    if (!name || m->count == MAINT_MAX_PENDING) {
        m->all = true;
    } else if (!m->all) {
        bool found = false;
        for (size_t i = 0; i < m->count && !found; i++)
            found = strcmp(m->names[i], name) == 0;
        if (!found)
            snprintf(m->names[m->count++], sizeof m->names[0], "%s", name);
    }
    pthread_cond_signal(&m->work);
    pthread_mutex_unlock(&m->mu);
}

bool dl_maint_wait_idle(struct dl_maint *m, int64_t deadline_mono_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_mono_ms / 1000),
                          .tv_nsec = (long)(deadline_mono_ms % 1000) * 1000000L};
    pthread_mutex_lock(&m->mu);
    while ((m->all || m->count > 0 || m->busy) && !atomic_load(&m->stop))
        if (pthread_cond_timedwait(&m->idle, &m->mu, &ts) == ETIMEDOUT)
            break;
    bool idle = !m->all && m->count == 0 && !m->busy;
    pthread_mutex_unlock(&m->mu);
    return idle;
}
