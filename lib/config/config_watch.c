/*
 * config_watch — see config_watch.h. The watcher thread owns everything below but the
 * wake pipe's write end, which config_watch_stop() uses once.
 */
#include "config/config_watch.h"

#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUBSYS "config"
#define WATCH_MASK                                                                                 \
    (IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM |              \
     IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

/* What the periodic check compares: the resolved file's identity and its last write. */
struct file_sig {
    bool exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

struct config_watch {
    char *path, *dir, *base;
    int poll_ms, debounce_ms, max_delay_ms;
    void (*changed)(void *closure);
    void *closure;

    int inotify_fd; /* -1 without inotify */
    int wd;         /* -1 while the directory is not watched (retried every poll) */
    int wake[2];    /* stop: a byte on wake[1] */
    pthread_t thread;

    struct file_sig last; /* at the last callback (or start) */
    bool pending;         /* a burst is being debounced */
    int64_t first_ms, last_event_ms;
};

static struct file_sig file_sig_of(const char *path)
{
    struct file_sig s = {0};
    struct stat st;
    if (stat(path, &st) == 0) { /* follows symlinks: a swapped target shows */
        s.exists = true;
        s.dev = st.st_dev;
        s.ino = st.st_ino;
        s.size = st.st_size;
        s.mtime = st.st_mtim;
        s.ctime = st.st_ctim;
    }
    return s;
}

static bool file_sig_eq(const struct file_sig *a, const struct file_sig *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void mark(struct config_watch *w, int64_t now)
{
    if (!w->pending) {
        w->pending = true;
        w->first_ms = now;
    }
    w->last_event_ms = now;
}

static void add_watch(struct config_watch *w)
{
    if (w->inotify_fd < 0 || w->wd >= 0)
        return;
    w->wd = inotify_add_watch(w->inotify_fd, w->dir, WATCH_MASK);
    if (w->wd < 0)
        log_debug(SUBSYS, "cannot watch directory %s: %s (stat every %d ms still works)", w->dir,
                  strerror(errno), w->poll_ms);
}

/* Is this directory event about our file? Its name, or ConfigMap's "..data" and
 * "..<timestamp>" entries. */
static bool relevant_name(const struct config_watch *w, const struct inotify_event *ev)
{
    return ev->len > 0 && (strcmp(ev->name, w->base) == 0 || strncmp(ev->name, "..", 2) == 0);
}

static void drain_inotify(struct config_watch *w, int64_t now)
{
    alignas(struct inotify_event) char buf[8192];
    for (;;) {
        ssize_t n = read(w->inotify_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* EAGAIN: all read */
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                mark(w, now); /* events were lost: look */
            } else if (ev->wd == w->wd && (ev->mask & (IN_IGNORED | IN_MOVE_SELF))) {
                /* The directory was deleted (IN_IGNORED follows IN_DELETE_SELF) or moved
                 * (the watch would follow it): watch the path again at the next poll. */
                if (ev->mask & IN_MOVE_SELF)
                    inotify_rm_watch(w->inotify_fd, w->wd);
                w->wd = -1;
                mark(w, now);
            } else if (ev->mask & IN_DELETE_SELF) {
                mark(w, now);
            } else if (relevant_name(w, ev)) {
                mark(w, now);
            }
        }
    }
}

/* When the pending burst is due, or -1 when there is none. */
static int64_t due_ms(const struct config_watch *w)
{
    if (!w->pending)
        return -1;
    int64_t quiet = w->last_event_ms + w->debounce_ms, cap = w->first_ms + w->max_delay_ms;
    return quiet < cap ? quiet : cap;
}

static void fire(struct config_watch *w)
{
    w->pending = false;
    w->last = file_sig_of(w->path);
    if (!w->last.exists) {
        log_debug(SUBSYS, "%s does not exist (now): waiting for it to come back", w->path);
        return;
    }
    w->changed(w->closure);
}

static void *watch_main(void *arg)
{
    struct config_watch *w = arg;
    int64_t next_poll = clock_mono_ms() + w->poll_ms;
    for (;;) {
        int64_t now = clock_mono_ms();
        int64_t wake_at = next_poll, due = due_ms(w);
        if (due >= 0 && due < wake_at)
            wake_at = due;
        int timeout = wake_at > now ? (int)(wake_at - now) : 0;
        struct pollfd fds[2] = {{.fd = w->wake[0], .events = POLLIN},
                                {.fd = w->inotify_fd, .events = POLLIN}};
        int rc = poll(fds, w->inotify_fd >= 0 ? 2 : 1, timeout);
        if (rc < 0 && errno != EINTR) {
            log_error(SUBSYS, "config watcher: poll: %s; watching stops", strerror(errno));
            break;
        }
        if (rc > 0 && (fds[0].revents & POLLIN))
            break;
        now = clock_mono_ms();
        if (rc > 0 && (fds[1].revents & POLLIN))
            drain_inotify(w, now);
        if (now >= next_poll) {
            next_poll = now + w->poll_ms;
            add_watch(w);
            struct file_sig s = file_sig_of(w->path);
            if (!file_sig_eq(&s, &w->last))
                mark(w, now);
        }
        due = due_ms(w);
        if (due >= 0 && now >= due)
            fire(w);
    }
    return NULL;
}

static void watch_free(struct config_watch *w)
{
    if (w->inotify_fd >= 0)
        close(w->inotify_fd);
    for (int i = 0; i < 2; i++)
        if (w->wake[i] >= 0)
            close(w->wake[i]);
    free(w->path);
    free(w->dir);
    free(w->base);
    free(w);
}

/* "a/b/c.yaml" → "a/b" and "c.yaml"; "c.yaml" → "." and "c.yaml"; "/c.yaml" → "/". */
static bool split_path(struct config_watch *w)
{
    const char *slash = strrchr(w->path, '/');
    if (!slash) {
        w->dir = strdup(".");
        w->base = strdup(w->path);
    } else {
        size_t n = slash == w->path ? 1 : (size_t)(slash - w->path);
        w->dir = strndup(w->path, n);
        w->base = strdup(slash + 1);
    }
    return w->dir && w->base;
}

struct config_watch *config_watch_start(const struct config_watch_options *o)
{
    struct config_watch *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->inotify_fd = w->wd = -1;
    w->wake[0] = w->wake[1] = -1;
    w->poll_ms = o->poll_interval_ms > 0 ? o->poll_interval_ms : 1000;
    w->debounce_ms = o->debounce_ms > 0 ? o->debounce_ms : 200;
    w->max_delay_ms = o->max_delay_ms > 0 ? o->max_delay_ms : 1000;
    w->changed = o->changed;
    w->closure = o->closure;
    w->path = strdup(o->path);
    if (!w->path || !split_path(w) || pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_error(SUBSYS, "cannot watch %s: out of resources", o->path);
        watch_free(w);
        return NULL;
    }
    w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->inotify_fd < 0)
        log_warn(SUBSYS, "inotify unavailable (%s): %s is checked every %d ms instead",
                 strerror(errno), w->path, w->poll_ms);
    add_watch(w);
    w->last = file_sig_of(w->path);
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        log_error(SUBSYS, "cannot start the config watcher thread");
        watch_free(w);
        return NULL;
    }
    log_info(SUBSYS, "watching %s for changes (%s, and a check every %d ms)", w->path,
             w->wd >= 0 ? "inotify on its directory" : "no inotify", w->poll_ms);
    return w;
}

void config_watch_stop(struct config_watch *w)
{
    if (!w)
        return;
    char b = 1;
    while (write(w->wake[1], &b, 1) < 0 && errno == EINTR)
        ;
    pthread_join(w->thread, NULL);
    watch_free(w);
}
