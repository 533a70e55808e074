/*
 * test_reloader — one reload path for every trigger: a valid file is applied (the
 * callback gets it, the snapshot shows it with its source and counters), a file change
 * with the same bytes or an empty file is skipped while API and SIGHUP reloads always
 * load, an invalid or unreadable file changes nothing and is reported with file:line
 * (and kept as last_error until a reload succeeds), changed settings are listed.
 */
#include "config/config.h"
#include "core/log.h"
#include "config/reloader.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUTES_1                                                                                   \
    "routes:\n"                                                                                    \
    "  - domain: a.example.com\n"                                                                  \
    "    endpoints: [http://127.0.0.1:9000/a]\n"
#define ROUTES_2                                                                                   \
    ROUTES_1 "  - domain: b.example.com\n"                                                         \
             "    endpoints: [http://127.0.0.1:9000/b]\n"

struct applied {
    int calls;
    size_t routes;
};

static void apply(void *closure, struct config *fresh)
{
    struct applied *a = closure;
    a->calls++;
    a->routes = fresh->route_count;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static enum reload_outcome reload(struct reloader *r, enum reload_trigger t,
                                  struct reload_result *res)
{
    reload_result_clear(res);
    reloader_reload(r, t, res);
    return res->outcome;
}

int main(void)
{
    log_set_level(LOG_LEVEL_ERROR); /* the refused reloads log errors: expected */
    char dir[] = "/tmp/test_reloader.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[256];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    write_file(path, ROUTES_1);
    char *errors = NULL;
    struct config *running = config_load(path, &errors);
    CHECK(running != NULL);
    if (!running) {
        printf("#   %s\n", errors ? errors : "");
        free(errors);
        return unit_done();
    }
    struct applied a = {0};
    struct reloader *r = reloader_new(running, apply, &a);
    struct reload_result res = {0};
    struct reloader_snapshot s;

    CHECK_STR(reloader_path(r), path);
    reloader_snapshot(r, &s);
    CHECK_STR(reload_trigger_name(s.source), "startup");
    CHECK(s.active == running);
    CHECK_INT(s.reloads, 0);
    reloader_snapshot_clear(&s);

    /* The file the process started with: a file change is nothing to do, SIGHUP loads. */
    CHECK_INT(reload(r, RELOAD_FILE_CHANGE, &res), RELOAD_UNCHANGED);
    CHECK_INT(a.calls, 0);
    CHECK_INT(reload(r, RELOAD_SIGHUP, &res), RELOAD_APPLIED);
    CHECK_INT(a.calls, 1);
    CHECK_INT(res.restart.count, 0);

    /* A new route: applied, and the snapshot follows. */
    write_file(path, ROUTES_2);
    CHECK_INT(reload(r, RELOAD_FILE_CHANGE, &res), RELOAD_APPLIED);
    CHECK_INT(res.route_count, 2);
    CHECK_INT(a.routes, 2);
    reloader_snapshot(r, &s);
    CHECK_STR(reload_trigger_name(s.source), "file_change");
    CHECK_INT(s.active->route_count, 2);
    CHECK_INT(s.running->route_count, 1);
    CHECK_INT(s.reloads, 2);
    CHECK(s.last_error == NULL);
    reloader_snapshot_clear(&s);

    /* Empty: skipped on a file change; the API loads it (no routes). */
    write_file(path, "");
    CHECK_INT(reload(r, RELOAD_FILE_CHANGE, &res), RELOAD_SKIPPED);
    CHECK_INT(a.calls, 2);
    CHECK_INT(reload(r, RELOAD_API, &res), RELOAD_APPLIED);
    CHECK_INT(a.routes, 0);

    /* Invalid: nothing applied, errors with file:line, kept as last_error. */
    write_file(path, ROUTES_1 "  - domain: c.example.com\n    endpoints: [ftp://x]\n");
    CHECK_INT(reload(r, RELOAD_FILE_CHANGE, &res), RELOAD_INVALID);
    char want[400];
    snprintf(want, sizeof want, "%s:5: routes[1].endpoints[0]: not an http(s) URL", path);
    CHECK(res.errors && strstr(res.errors, want));
    CHECK_INT(a.calls, 3);
    /* The same broken bytes again: not reported twice by the watcher. */
    CHECK_INT(reload(r, RELOAD_FILE_CHANGE, &res), RELOAD_UNCHANGED);
    reloader_snapshot(r, &s);
    CHECK_INT(s.failures, 1);
    CHECK(s.last_error && strstr(s.last_error, want));
    CHECK_STR(reload_trigger_name(s.last_error_trigger), "file_change");
    CHECK_INT(s.active->route_count, 0);
    reloader_snapshot_clear(&s);

    /* Settings changed along with the routes: applied, the keys listed. */
    write_file(path, "nats:\n  stream_name: OTHER\ndelivery:\n  max_concurrent: 8\n" ROUTES_2);
    CHECK_INT(reload(r, RELOAD_API, &res), RELOAD_APPLIED);
    CHECK(res.restart.count >= 2);
    CHECK_STR(res.restart.count ? res.restart.keys[0] : "", "nats.stream.name");
    CHECK_STR(res.restart.count ? res.restart.keys[res.restart.count - 1] : "",
              "delivery.max_concurrent");
    reloader_snapshot(r, &s);
    CHECK(s.last_error == NULL); /* cleared by the success */
    CHECK_STR(s.running->nats.stream_name, "EVENTS");
    reloader_snapshot_clear(&s);

    /* Unreadable: refused like an invalid file. */
    unlink(path);
    CHECK_INT(reload(r, RELOAD_SIGHUP, &res), RELOAD_INVALID);
    CHECK(res.errors && strstr(res.errors, "cannot read"));
    CHECK_INT(a.routes, 2);

    reload_result_clear(&res);
    reloader_free(r);
    config_unref(running);
    rmdir(dir);
    return unit_done();
}
