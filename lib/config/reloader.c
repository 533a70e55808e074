/*
 * reloader — see reloader.h. Runs on whichever thread triggers a reload (watcher, API
 * worker, main); the locks are described in the header.
 */
#include "config/reloader.h"

#include "core/clock.h"
#include "config/config.h"
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBSYS "config"

struct reloader {
    struct config *running; /* startup config: settings; never changes */
    reloader_apply_fn apply;
    void *closure;

    pthread_mutex_t reload_lock; /* one reload at a time */
    /* Under reload_lock: the bytes of the last attempt (FNV-1a 64 and length). */
    uint64_t last_hash;
    size_t last_len;
    bool have_last;

    pthread_mutex_t state_lock; /* the published state below */
    struct config *active;
    enum reload_trigger source;
    int64_t loaded_at_ms;
    uint64_t reloads, failures;
    char *last_error;
    enum reload_trigger last_error_trigger;
    int64_t last_error_at_ms;
};

const char *reload_trigger_name(enum reload_trigger t)
{
    switch (t) {
    case RELOAD_FILE_CHANGE:
        return "file_change";
    case RELOAD_API:
        return "api";
    case RELOAD_SIGHUP:
        return "sighup";
    case RELOAD_STARTUP:
    default:
        return "startup";
    }
}

/* How the log names a trigger ("routes reloaded from FILE (N routes) after ..."). */
static const char *trigger_phrase(enum reload_trigger t)
{
    switch (t) {
    case RELOAD_FILE_CHANGE:
        return "a file change";
    case RELOAD_API:
        return "an API request";
    case RELOAD_SIGHUP:
        return "SIGHUP";
    case RELOAD_STARTUP:
    default:
        return "startup";
    }
}

static uint64_t fnv1a64(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

void reload_result_clear(struct reload_result *res)
{
    if (!res)
        return;
    config_diff_clear(&res->restart);
    free(res->errors);
    *res = (struct reload_result){0};
}

struct reloader *reloader_new(struct config *running, reloader_apply_fn apply, void *closure)
{
    struct reloader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->running = config_ref(running);
    r->active = config_ref(running);
    r->apply = apply;
    r->closure = closure;
    r->source = RELOAD_STARTUP;
    r->loaded_at_ms = clock_wall_ms();
    pthread_mutex_init(&r->reload_lock, NULL);
    pthread_mutex_init(&r->state_lock, NULL);
    /* The bytes the process started with (best effort: a file changed since startup
     * then reloads at its next change, or through the API or SIGHUP). */
    char *text = NULL;
    size_t len = 0;
    if (running->path && config_read_file(running->path, &text, &len) == 0) {
        r->last_hash = fnv1a64(text, len);
        r->last_len = len;
        r->have_last = true;
        free(text);
    }
    return r;
}

void reloader_free(struct reloader *r)
{
    if (!r)
        return;
    config_unref(r->active);
    config_unref(r->running);
    free(r->last_error);
    pthread_mutex_destroy(&r->reload_lock);
    pthread_mutex_destroy(&r->state_lock);
    free(r);
}

const char *reloader_path(const struct reloader *r)
{
    return r->running->path ? r->running->path : "config";
}

/* "path: cannot read: ..." as config_load() words it. */
static char *read_error(const char *path, int rc)
{
    char buf[128], *msg = NULL;
    int n = rc == -EFBIG
                ? asprintf(&msg, "%s: file is larger than 16 MiB", path)
                : asprintf(&msg, "%s: cannot read: %s", path, strerror_r(-rc, buf, sizeof buf));
    return n < 0 ? NULL : msg;
}

static void record_failure(struct reloader *r, enum reload_trigger trigger, const char *errors)
{
    char *copy = strdup(errors);
    pthread_mutex_lock(&r->state_lock);
    r->failures++;
    free(r->last_error);
    r->last_error = copy;
    r->last_error_trigger = trigger;
    r->last_error_at_ms = clock_wall_ms();
    pthread_mutex_unlock(&r->state_lock);
}

static void publish(struct reloader *r, enum reload_trigger trigger, struct config *fresh)
{
    pthread_mutex_lock(&r->state_lock);
    struct config *old = r->active;
    r->active = config_ref(fresh);
    r->source = trigger;
    r->loaded_at_ms = clock_wall_ms();
    r->reloads++;
    free(r->last_error);
    r->last_error = NULL;
    pthread_mutex_unlock(&r->state_lock);
    config_unref(old);
}

static void log_applied(enum reload_trigger trigger, const struct config *fresh,
                        const struct config_diff *restart)
{
    for (size_t i = 0; i < restart->count; i++)
        log_warn(SUBSYS, "key %s changed in %s: takes effect at restart", restart->keys[i],
                 fresh->path);
    if (restart->count == 0) {
        log_info(SUBSYS, "routes reloaded from %s (%zu routes) after %s", fresh->path,
                 fresh->route_count, trigger_phrase(trigger));
        return;
    }
    /* The keys, comma-separated and bounded, for a log line that says it all. */
    char keys[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < restart->count && len < sizeof keys; i++)
        len += (size_t)snprintf(keys + len, sizeof keys - len, "%s%s", i ? ", " : "",
                                restart->keys[i]);
    log_info(SUBSYS,
             "routes reloaded from %s (%zu routes) after %s; other settings take effect at "
             "restart (%zu changed: %s)",
             fresh->path, fresh->route_count, trigger_phrase(trigger), restart->count, keys);
}

/* Under reload_lock. Parses `text`, checks it against the running settings, applies. */
static void load_and_apply(struct reloader *r, enum reload_trigger trigger, const char *text,
                           size_t len, struct reload_result *res)
{
    const char *path = r->running->path;
    char *errors = NULL;
    struct config *fresh = config_load_string(text, len, path, &errors);
    if (fresh) {
        config_adopt_running_settings(fresh, r->running);
        errors = config_check_routes_fit(fresh, r->running);
    }
    if (errors) {
        record_failure(r, trigger, errors); /* before the log line: a reader of the log
                                               finds the counter already moved */
        log_error(SUBSYS, "reload after %s refused, the running routes stay: %s",
                  trigger_phrase(trigger), errors);
        res->outcome = RELOAD_INVALID;
        res->errors = errors;
        config_unref(fresh);
        return;
    }
    if (!fresh || config_diff_settings(r->running, fresh, &res->restart) != 0) {
        log_error(SUBSYS, "reload after %s failed: out of memory", trigger_phrase(trigger));
        res->outcome = RELOAD_FAILED;
        config_unref(fresh);
        return;
    }
    r->apply(r->closure, fresh);
    publish(r, trigger, fresh);
    log_applied(trigger, fresh, &res->restart);
    res->outcome = RELOAD_APPLIED;
    res->route_count = fresh->route_count;
    config_unref(fresh);
}

void reloader_reload(struct reloader *r, enum reload_trigger trigger, struct reload_result *res)
{
    *res = (struct reload_result){0};
    const char *path = r->running->path;
    pthread_mutex_lock(&r->reload_lock);
    char *text = NULL;
    size_t len = 0;
    int rc = config_read_file(path, &text, &len);
    if (rc < 0) {
        res->errors = read_error(path, rc);
        if (!res->errors) {
            res->outcome = RELOAD_FAILED;
            goto out;
        }
        record_failure(r, trigger, res->errors);
        log_error(SUBSYS, "reload after %s refused, the running routes stay: %s",
                  trigger_phrase(trigger), res->errors);
        res->outcome = RELOAD_INVALID;
        r->have_last = false; /* whatever comes next is a change */
        goto out;
    }
    uint64_t hash = fnv1a64(text, len);
    if (trigger == RELOAD_FILE_CHANGE) {
        if (r->have_last && hash == r->last_hash && len == r->last_len) {
            log_debug(SUBSYS, "%s changed on disk but its content did not: nothing to reload",
                      path);
            res->outcome = RELOAD_UNCHANGED;
            goto out;
        }
        if (len == 0) {
            log_warn(SUBSYS,
                     "%s is empty: not reloaded (a write in progress?); to run with an empty "
                     "configuration, reload through the API or SIGHUP",
                     path);
            res->outcome = RELOAD_SKIPPED;
            goto out;
        }
    }
    r->last_hash = hash;
    r->last_len = len;
    r->have_last = true;
    load_and_apply(r, trigger, text, len, res);
out:
    pthread_mutex_unlock(&r->reload_lock);
    free(text);
}

void reloader_snapshot(struct reloader *r, struct reloader_snapshot *out)
{
    pthread_mutex_lock(&r->state_lock);
    *out = (struct reloader_snapshot){
        .running = config_ref(r->running),
        .active = config_ref(r->active),
        .source = r->source,
        .loaded_at_ms = r->loaded_at_ms,
        .reloads = r->reloads,
        .failures = r->failures,
        .last_error = r->last_error ? strdup(r->last_error) : NULL,
        .last_error_trigger = r->last_error_trigger,
        .last_error_at_ms = r->last_error_at_ms,
    };
    pthread_mutex_unlock(&r->state_lock);
}

void reloader_snapshot_clear(struct reloader_snapshot *s)
{
    if (!s)
        return;
    config_unref(s->running);
    config_unref(s->active);
    free(s->last_error);
    *s = (struct reloader_snapshot){0};
}
