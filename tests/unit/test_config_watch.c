/*
 * test_config_watch — the watcher calls back within 2 s for each way a config file
 * changes: written in place, renamed over, a Kubernetes ConfigMap symlink swap, deleted
 * and created again, and (through the periodic stat alone) a symlink's target edited in
 * another directory; a burst of writes is one callback. Waits poll a counter with a
 * deadline.
 */
#include "core/clock.h"
#include "config/config_watch.h"
#include "core/log.h"
#include "unit.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LIMIT_MS 2000

static atomic_int calls;

static void changed(void *closure)
{
    (void)closure;
    atomic_fetch_add(&calls, 1);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits (polling) until the callback count exceeds `before`; the time it took, or -1. */
static int64_t wait_call(int before)
{
    int64_t t0 = clock_mono_ms();
    while (clock_mono_ms() - t0 < 5000) {
        if (atomic_load(&calls) > before)
            return clock_mono_ms() - t0;
        nap_ms(10);
    }
    return -1;
}

static void check_detected(const char *what, int before, const char *file, int line)
{
    int64_t ms = wait_call(before);
    printf("# %s: %lld ms\n", what, (long long)ms);
    unit_check(ms >= 0 && ms < LIMIT_MS, what, file, line);
}
#define DETECTED(what, before) check_detected((what), (before), __FILE__, __LINE__)

static void test_plain_file(const char *dir)
{
    char path[256], tmp[256];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    snprintf(tmp, sizeof tmp, "%s/.config.yaml.tmp", dir);
    write_file(path, "a: 1\n");
    struct config_watch_options o = {.path = path, .changed = changed};
    struct config_watch *w = config_watch_start(&o);
    CHECK(w != NULL);

    int n = atomic_load(&calls);
    write_file(path, "a: 2\n");
    DETECTED("in-place write", n);

    n = atomic_load(&calls);
    write_file(tmp, "a: 3\n");
    CHECK(rename(tmp, path) == 0);
    DETECTED("rename over", n);

    n = atomic_load(&calls);
    CHECK(unlink(path) == 0);
    write_file(path, "a: 4\n");
    DETECTED("delete and create", n);

    /* A burst of writes closer together than the debounce: one callback. */
    n = atomic_load(&calls);
    for (int i = 0; i < 5; i++) {
        write_file(path, i % 2 ? "a: 5\n" : "a: 6\n");
        nap_ms(20);
    }
    DETECTED("a burst", n);
    CHECK_INT(atomic_load(&calls), n + 1);

    config_watch_stop(w);
}

static void test_configmap(const char *dir)
{
    char cm[256], p[512], q[512];
    snprintf(cm, sizeof cm, "%s/cm", dir);
    mkdir(cm, 0700);
    snprintf(p, sizeof p, "%s/..2024_01_01_00_00_00.1", cm);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/..2024_01_01_00_00_00.1/config.yaml", cm);
    write_file(p, "a: 1\n");
    snprintf(p, sizeof p, "%s/..data", cm);
    CHECK(symlink("..2024_01_01_00_00_00.1", p) == 0);
    snprintf(p, sizeof p, "%s/config.yaml", cm);
    CHECK(symlink("..data/config.yaml", p) == 0);

    struct config_watch_options o = {.path = p, .changed = changed};
    struct config_watch *w = config_watch_start(&o);
    CHECK(w != NULL);
    int n = atomic_load(&calls);
    snprintf(q, sizeof q, "%s/..2024_01_01_00_01_00.2", cm);
    mkdir(q, 0700);
    snprintf(q, sizeof q, "%s/..2024_01_01_00_01_00.2/config.yaml", cm);
    write_file(q, "a: 2\n");
    snprintf(q, sizeof q, "%s/..data_tmp", cm);
    CHECK(symlink("..2024_01_01_00_01_00.2", q) == 0);
    snprintf(p, sizeof p, "%s/..data", cm);
    CHECK(rename(q, p) == 0);
    DETECTED("ConfigMap symlink swap", n);
    config_watch_stop(w);
}

static void test_symlink_elsewhere(const char *dir)
{
    char real_dir[256], real[300], link_path[300];
    snprintf(real_dir, sizeof real_dir, "%s/elsewhere", dir);
    mkdir(real_dir, 0700);
    snprintf(real, sizeof real, "%s/real.yaml", real_dir);
    write_file(real, "a: 1\n");
    snprintf(link_path, sizeof link_path, "%s/linked.yaml", dir);
    CHECK(symlink(real, link_path) == 0);
    struct config_watch_options o = {.path = link_path, .changed = changed};
    struct config_watch *w = config_watch_start(&o);
    int n = atomic_load(&calls);
    write_file(real, "a: 22\n"); /* not in the inotify'd directory: stat finds it */
    DETECTED("target edited in another directory", n);
    config_watch_stop(w);
}

int main(void)
{
    log_set_level(LOG_LEVEL_WARN);
    char dir[] = "/tmp/test_config_watch.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    test_plain_file(dir);
    test_configmap(dir);
    test_symlink_elsewhere(dir);
    config_watch_stop(NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return unit_done();
}
