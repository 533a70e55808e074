/*
 * config_watch — notices that the config file changed on disk and says so, once per
 * burst of changes.
 *
 * What counts as a change: the file written in place (closed after writing), replaced
 * by a rename (an editor or a tool writing a temporary file and renaming it over),
 * deleted and created again, its attributes changed, or — when the path is a symlink —
 * its target swapped. The Kubernetes ConfigMap layout is the important case of the last:
 * `config.yaml -> ..data/config.yaml`, `..data -> ..2024_01_02_03_04_05.123`, and an
 * update renames a new `..data` over the old one.
 *
 * How: inotify on the directory that holds the path (not on the file: a rename over it
 * would leave a watch on the old inode), looking at events that name the file or a
 * `..`-prefixed entry (the ConfigMap machinery); and, as a fallback that also sees
 * symlink targets elsewhere and works without inotify, a stat() of the resolved path
 * every poll interval (device, inode, size, mtime, ctime). A change starts a debounce:
 * the callback runs once the directory has been quiet for `debounce_ms` (a save is
 * often several events), or `max_delay_ms` after the first event whatever happens, so
 * a change is seen within about poll_interval + max_delay. It is not called while the
 * file does not exist (a delete is usually followed by a create).
 *
 * The callback decides what a change means (the reloader compares the bytes, so a
 * touch that changes nothing costs a read).
 *
 * Threads: one thread, owned here, runs the loop and the callback; start and stop are
 * called from the main thread. The watcher thread inherits the caller's signal mask.
 */
#ifndef EVENTHUB_CONFIG_WATCH_H
#define EVENTHUB_CONFIG_WATCH_H

struct config_watch;

struct config_watch_options {
    const char *path;               /* the config file as given (copied) */
    int poll_interval_ms;           /* stat fallback; 0 = 1000 */
    int debounce_ms;                /* quiet time before the callback; 0 = 200 */
    int max_delay_ms;               /* longest wait after the first event of a burst; 0 = 1000 */
    void (*changed)(void *closure); /* on the watcher thread */
    void *closure;
};

/* Starts watching. NULL when the thread cannot start (logged); without inotify it
 * logs a warning and watches by polling alone. */
struct config_watch *config_watch_start(const struct config_watch_options *opts);
/* Stops the thread (waiting for a callback in progress) and frees. Accepts NULL. */
void config_watch_stop(struct config_watch *w);

#endif
