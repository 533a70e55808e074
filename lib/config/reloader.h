/*
 * reloader — the one place a new route table comes from after startup.
 *
 * Three triggers reach it: the config file changing on disk (config_watch, on the
 * watcher thread), POST /api/config/reload (on the API worker thread) and SIGHUP (on
 * the main thread). A reload reads the file once, parses and validates it whole (on the
 * side: nothing running is touched), checks that its routes fit the settings that keep
 * running (config_diff), and only then hands it to the apply callback, which swaps the
 * route table in one step (delivery_set_config: events already being delivered finish
 * with the table they started with). Every other setting keeps its startup value; the
 * keys that differ are reported (reply and log: "key X changed in FILE: takes effect
 * at restart"). A file that does not load changes nothing; its errors are logged with
 * file:line and kept for GET /api/config.
 *
 * A file-change reload is skipped when the bytes are those of the last reload attempt
 * (an editor touching the file, a ConfigMap refresh without changes) and when the file
 * is empty (a writer truncated it and has not written yet; an empty configuration can
 * still be loaded through the API or SIGHUP). API and SIGHUP reloads always load.
 *
 * Threads and locks: `reload_lock` serializes whole reloads (file I/O and parsing run
 * under it, so it is never taken on the HTTP thread); `state_lock` guards the published
 * state (the active config, when and from where it was loaded, counters, last error)
 * and is held only to copy it, so reloader_snapshot() may run on the HTTP thread. The
 * apply callback runs with reload_lock held and state_lock not held.
 */
#ifndef EVENTHUB_RELOADER_H
#define EVENTHUB_RELOADER_H

#include "config/config_diff.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct reloader;

enum reload_trigger {
    RELOAD_STARTUP = 0, /* the config the process started with (never a reload) */
    RELOAD_FILE_CHANGE,
    RELOAD_API,
    RELOAD_SIGHUP,
};

/* "startup", "file_change", "api", "sighup". */
const char *reload_trigger_name(enum reload_trigger t);

enum reload_outcome {
    RELOAD_APPLIED,   /* the new route table serves */
    RELOAD_UNCHANGED, /* file change with the same bytes as the last attempt: nothing done */
    RELOAD_SKIPPED,   /* file change to an empty file: nothing done (see above) */
    RELOAD_INVALID,   /* the file does not load or its routes do not fit: nothing done */
    RELOAD_FAILED,    /* out of memory: nothing done */
};

struct reload_result {
    enum reload_outcome outcome;
    size_t route_count;         /* APPLIED: routes now serving (default route included) */
    struct config_diff restart; /* APPLIED: settings that differ and wait for a restart */
    char *errors;               /* INVALID: "file:line: key: message" lines, '\n'-separated */
};
void reload_result_clear(struct reload_result *res);

/* Called with the validated config whose routes must serve from now on; it takes its
 * own reference if it keeps one. */
typedef void (*reloader_apply_fn)(void *closure, struct config *fresh);

/*
 * `running` is the config the process started with (a reference is taken): its settings
 * stay, its routes serve until the first reload. Reads the file once to remember its
 * bytes. NULL when out of memory.
 */
struct reloader *reloader_new(struct config *running, reloader_apply_fn apply, void *closure);
void reloader_free(struct reloader *r); /* accepts NULL; no reload may be running */

/* The config file's path (the running config's, as given). Any thread. */
const char *reloader_path(const struct reloader *r);

/* Runs one reload (blocking: file I/O, parsing); see above. Fills *res (clear it). */
void reloader_reload(struct reloader *r, enum reload_trigger trigger, struct reload_result *res);

/* The published state, copied (any thread, never blocks behind a reload). */
struct reloader_snapshot {
    struct config *running; /* reference: settings (the startup config) */
    struct config *active;  /* reference: the config whose routes serve */
    enum reload_trigger source;
    int64_t loaded_at_ms; /* wall clock, when `active` was loaded */
    uint64_t reloads;     /* reloads applied since startup */
    uint64_t failures;    /* reloads refused (invalid files) since startup */
    /* The last refused reload, if no reload was applied after it; else NULL. */
    char *last_error; /* malloc'd copy of its error lines */
    enum reload_trigger last_error_trigger;
    int64_t last_error_at_ms;
};
void reloader_snapshot(struct reloader *r, struct reloader_snapshot *out);
void reloader_snapshot_clear(struct reloader_snapshot *s);

#endif
