/*
 * test_config_diff — what a reload reports as needing a restart: nothing for a route
 * change, each changed setting by its canonical key (Go spellings included, derived
 * names too), list-valued and custom keys (backoff, nats.url, storage, esl items and
 * their event lists), the parking and lane keys (delivery.*, nats.retry.*; an
 * endpoint's own max_concurrent and rate_limit belong to the routes); and the checks
 * against the running settings: inherited endpoint timeouts and max_concurrent keep the
 * running delivery values, and a route whose timeout does not fit the running ack wait
 * is refused with file:line.
 */
#include "config/config.h"
#include "config/config_diff.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE                                                                                       \
    "nats:\n"                                                                                      \
    "  url: nats://127.0.0.1:4222\n"                                                               \
    "  stream_name: EVENTS\n"                                                                      \
    "  ack_wait_seconds: 10\n"                                                                     \
    "delivery:\n"                                                                                  \
    "  timeout: 3s\n"                                                                              \
    "  backoff: [1s, 5s]\n"                                                                        \
    "routes:\n"                                                                                    \
    "  - domain: a.example.com\n"                                                                  \
    "    endpoints: [http://127.0.0.1:9000/a]\n"

/* BASE up to its delivery: section, for files that add delivery keys and routes. */
#define BASE_NO_ROUTES                                                                             \
    "nats:\n"                                                                                      \
    "  url: nats://127.0.0.1:4222\n"                                                               \
    "  stream_name: EVENTS\n"                                                                      \
    "  ack_wait_seconds: 10\n"                                                                     \
    "delivery:\n"                                                                                  \
    "  timeout: 3s\n"                                                                              \
    "  backoff: [1s, 5s]\n"

static struct config *load(const char *yaml)
{
    char *errors = NULL;
    struct config *cfg = config_load_string(yaml, strlen(yaml), "t.yaml", &errors);
    if (!cfg)
        printf("#   load failed: %s\n", errors ? errors : "(null)");
    free(errors);
    return cfg;
}

/* The diff's keys joined with ',' (into a static buffer), or "!" on failure. */
static const char *diff(const char *running_yaml, const char *fresh_yaml)
{
    static char out[2048];
    struct config *a = load(running_yaml), *b = load(fresh_yaml);
    struct config_diff d;
    snprintf(out, sizeof out, "!");
    if (a && b && config_diff_settings(a, b, &d) == 0) {
        size_t len = 0;
        out[0] = '\0';
        for (size_t i = 0; i < d.count && len < sizeof out; i++)
            len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", i ? "," : "", d.keys[i]);
        config_diff_clear(&d);
    }
    config_unref(a);
    config_unref(b);
    return out;
}

static void test_routes_only(void)
{
    CHECK_STR(diff(BASE, BASE), "");
    /* New domains, endpoints, headers, timeouts, event kinds: no restart. */
    CHECK_STR(diff(BASE, BASE "  - domain: b.example.com\n"
                              "    events: [ingress]\n"
                              "    endpoints:\n"
                              "      - url: http://127.0.0.1:9000/b\n"
                              "        timeout: 5s\n"
                              "        headers: {Authorization: Bearer x}\n"
                              "  - domain: \"*\"\n"
                              "    endpoints: [http://127.0.0.1:9000/any]\n"),
              "");
    /* Removing every route too. */
    CHECK_STR(diff(BASE, "nats:\n  url: nats://127.0.0.1:4222\n  stream_name: EVENTS\n"
                         "  ack_wait_seconds: 10\ndelivery:\n  timeout: 3s\n  backoff: [1s, 5s]\n"),
              "");
}

static void test_scalar_keys(void)
{
    /* The Go spelling is reported canonically, with what derives from it. */
    CHECK_STR(diff(BASE, "nats:\n  url: nats://127.0.0.1:4222\n  stream_name: CALLS\n"
                         "  ack_wait_seconds: 10\ndelivery:\n  timeout: 3s\n  backoff: [1s, 5s]\n"),
              "nats.stream.name,nats.dead_letter.stream,nats.dead_letter.subject_prefix,"
              "nats.retry.stream,nats.retry.subject_prefix,nats.consumer.deliver_subject");
    /* Go and nested spellings of the same value: nothing changed. */
    CHECK_STR(diff(BASE, "nats:\n  url: nats://127.0.0.1:4222\n  stream: {name: EVENTS}\n"
                         "  consumer: {ack_wait: 10s}\n"
                         "delivery:\n  timeout: 3s\n  backoff: [1s, 5s]\n"
                         "routes:\n  - domain: a.example.com\n"
                         "    endpoints: [http://127.0.0.1:9000/a]\n"),
              "");
    CHECK_STR(diff(BASE, "server: {port: 9999, watch_config: false}\n" BASE),
              "server.port,server.watch_config");
    CHECK_STR(diff(BASE, BASE "log: {level: debug, dir: /tmp/x}\nhistory: {per_domain: 5}\n"
                              "calls: {timezone: UTC, retention: 1d}\n"),
              "log.level,log.dir,history.per_domain,calls.timezone,calls.retention");
    CHECK_STR(diff(BASE, "nats:\n  url: nats://127.0.0.1:4222\n  stream_name: EVENTS\n"
                         "  ack_wait_seconds: 10\n  token: secret\n  max_deliveries: 9\n"
                         "  stream: {storage: memory}\n"
                         "delivery:\n  timeout: 3s\n  backoff: [1s, 5s]\n"),
              "nats.token,nats.stream.storage,nats.consumer.max_deliver");
    /* The values themselves never appear. */
    CHECK(strstr(diff(BASE, "server: {admin_token: hunter2}\n" BASE), "hunter2") == NULL);
}

/* Parking and lanes: the delivery.* and nats.retry.* keys wait for a restart; an
 * endpoint's own max_concurrent and rate_limit are part of the routes. */
static void test_lane_keys(void)
{
    CHECK_STR(diff(BASE, BASE "  - domain: b.example.com\n"
                              "    endpoints:\n"
                              "      - {url: http://127.0.0.1:9000/b, max_concurrent: 2,"
                              " rate_limit: 5/s}\n"),
              "");
    CHECK_STR(diff(BASE "  - domain: b.example.com\n"
                        "    endpoints: [{url: http://127.0.0.1:9000/b, rate_limit: 1/s}]\n",
                   BASE "  - domain: b.example.com\n"
                        "    endpoints: [{url: http://127.0.0.1:9000/b, rate_limit: 2/m}]\n"),
              "");
    CHECK_STR(diff(BASE, "nats:\n  url: nats://127.0.0.1:4222\n  stream_name: EVENTS\n"
                         "  ack_wait_seconds: 10\n"
                         "  retry: {stream: PARKED, subject_prefix: parked}\n"
                         "delivery:\n  timeout: 3s\n  backoff: [1s, 5s]\n"
                         "  endpoint_max_concurrent: 4\n  max_retry_age: 1h\n"
                         "  breaker: {failures: 0, cooldown: 1s, max_cooldown: 1m}\n"
                         "  retry_window: 16\n"),
              "nats.retry.stream,nats.retry.subject_prefix,delivery.endpoint_max_concurrent,"
              "delivery.max_retry_age,delivery.breaker.failures,delivery.breaker.cooldown,"
              "delivery.breaker.max_cooldown,delivery.retry_window");
    /* Written out with their defaults: nothing changed. */
    CHECK_STR(diff(BASE, "nats:\n  url: nats://127.0.0.1:4222\n  stream_name: EVENTS\n"
                         "  ack_wait_seconds: 10\n"
                         "  retry: {stream: EVENTS_RETRY, subject_prefix: retry.EVENTS}\n"
                         "delivery:\n  timeout: 3s\n  backoff: [1s, 5s]\n"
                         "  breaker: {failures: 5}\n  endpoint_max_concurrent: 32\n"),
              "");
}

static void test_lists(void)
{
    /* delivery.timeout and backoff (a list), in table order. */
    CHECK_STR(diff(BASE, "nats:\n  url: nats://127.0.0.1:4222\n  stream_name: EVENTS\n"
                         "  ack_wait_seconds: 10\ndelivery:\n  timeout: 4s\n"
                         "  backoff: [1s, 5s, 10s]\n"),
              "delivery.timeout,delivery.backoff");
    /* nats.url: another server, or embedded. */
    CHECK_STR(diff(BASE, "nats:\n  url: nats://127.0.0.2:4222\n  stream_name: EVENTS\n"
                         "  ack_wait_seconds: 10\ndelivery:\n  timeout: 3s\n  backoff: [1s, 5s]\n"),
              "nats.url");
    CHECK_STR(diff(BASE, "nats:\n  servers: [nats://127.0.0.1:4222]\n  stream_name: EVENTS\n"
                         "  ack_wait_seconds: 10\ndelivery:\n  timeout: 3s\n  backoff: [1s, 5s]\n"),
              "");
    CHECK_STR(diff(BASE, "nats:\n  stream_name: EVENTS\n"
                         "  ack_wait_seconds: 10\ndelivery:\n  timeout: 3s\n  backoff: [1s, 5s]\n"),
              "nats.url");
    /* server.allowed_hosts (a list), and the keys of the slow-client guards. */
    CHECK_STR(diff("server: {allowed_hosts: [a.example]}\n" BASE,
                   "server: {allowed_hosts: [a.example]}\n" BASE),
              "");
    CHECK_STR(diff(BASE, "server: {allowed_hosts: [a.example]}\n" BASE), "server.allowed_hosts");
    CHECK_STR(diff("server: {allowed_hosts: [a.example]}\n" BASE,
                   "server: {allowed_hosts: [b.example]}\n" BASE),
              "server.allowed_hosts");
    CHECK_STR(diff(BASE, "server: {max_connections_per_ip: 0, request_head_timeout: 1s,"
                         " request_body_timeout: 0}\n" BASE),
              "server.max_connections_per_ip,server.request_head_timeout,"
              "server.request_body_timeout");
}

#define ESL1 "esl:\n  - {name: fs1, host: 10.0.0.1}\n"
#define ESL2 "esl:\n  - {name: fs1, host: 10.0.0.1}\n  - {name: fs2, host: 10.0.0.2}\n"

static void test_esl(void)
{
    CHECK_STR(diff(BASE ESL1, BASE ESL1), "");
    CHECK_STR(diff(BASE ESL1, BASE ESL2), "esl");
    CHECK_STR(diff(BASE ESL2, BASE "esl:\n  - {name: fs1, host: 10.0.0.1, port: 8022}\n"
                                   "  - {name: fs2, host: 10.0.0.3, password: x}\n"),
              "esl[0].port,esl[1].host,esl[1].password");
    CHECK_STR(diff(BASE ESL1, BASE "esl:\n  - {name: fs1, host: 10.0.0.1, events: [ALL],"
                                   " publish: both, format: json,"
                                   " reconnect: {initial: 2s}}\n"),
              "esl[0].events,esl[0].format,esl[0].publish,esl[0].reconnect.initial");
}

static void test_adopt_running_timeout(void)
{
    struct config *running = load(BASE);
    struct config *fresh = load("nats:\n  url: nats://127.0.0.1:4222\n  stream_name: EVENTS\n"
                                "  ack_wait_seconds: 10\ndelivery:\n  timeout: 5s\n"
                                "routes:\n  - domain: a.example.com\n"
                                "    endpoints:\n"
                                "      - http://127.0.0.1:9000/a\n"
                                "      - {url: http://127.0.0.1:9000/b, timeout: 5s}\n");
    CHECK(running && fresh);
    if (running && fresh) {
        CHECK(fresh->routes[0].endpoints[0].timeout_inherited);
        CHECK(!fresh->routes[0].endpoints[1].timeout_inherited);
        CHECK_INT(fresh->routes[0].endpoints[0].timeout_ms, 5000);
        config_adopt_running_settings(fresh, running);
        /* The inherited one runs with the running delivery.timeout; its own stays. */
        CHECK_INT(fresh->routes[0].endpoints[0].timeout_ms, 3000);
        CHECK_INT(fresh->routes[0].endpoints[1].timeout_ms, 5000);
    }
    config_unref(running);
    config_unref(fresh);
}

/* An endpoint without a max_concurrent of its own keeps the running default. */
static void test_adopt_running_max_concurrent(void)
{
    struct config *running = load(BASE);
    struct config *fresh = load(BASE_NO_ROUTES "  endpoint_max_concurrent: 64\n"
                                               "routes:\n  - domain: a.example.com\n"
                                               "    endpoints:\n"
                                               "      - http://127.0.0.1:9000/a\n"
                                               "      - {url: http://127.0.0.1:9000/b,"
                                               " max_concurrent: 7}\n");
    CHECK(running && fresh);
    if (running && fresh) {
        const struct endpoint *e = fresh->routes[0].endpoints;
        CHECK(e[0].max_concurrent_inherited);
        CHECK(!e[1].max_concurrent_inherited);
        CHECK_INT(e[0].max_concurrent, 64);
        config_adopt_running_settings(fresh, running);
        CHECK_INT(e[0].max_concurrent, 32);
        CHECK_INT(e[1].max_concurrent, 7);
    }
    config_unref(running);
    config_unref(fresh);
}

static void test_routes_fit_running_ack_wait(void)
{
    struct config *running = load(BASE); /* ack wait 10s: endpoint timeouts below 8s */
    /* The new file raises ack_wait (restart needed) and adds a route relying on it. */
    struct config *fresh = load("nats:\n  url: nats://127.0.0.1:4222\n  stream_name: EVENTS\n"
                                "  ack_wait_seconds: 60\ndelivery:\n  timeout: 3s\n"
                                "routes:\n  - domain: a.example.com\n"
                                "    endpoints:\n"
                                "      - {url: http://127.0.0.1:9000/a, timeout: 7s}\n"
                                "      - {url: http://127.0.0.1:9000/b, timeout: 30s}\n");
    CHECK(running && fresh);
    if (running && fresh) {
        char *errors = config_check_routes_fit(fresh, running);
        CHECK(errors != NULL);
        CHECK(errors && strstr(errors, "t.yaml:11: routes[0].endpoints[1].timeout: 30s"));
        CHECK(errors && strstr(errors, "ack_wait 10s") != NULL);
        CHECK(errors && strstr(errors, "endpoints[0]") == NULL);
        free(errors);
        CHECK(config_check_routes_fit(running, running) == NULL);
    }
    config_unref(running);
    config_unref(fresh);
}

int main(void)
{
    test_routes_only();
    test_scalar_keys();
    test_lane_keys();
    test_lists();
    test_esl();
    test_adopt_running_timeout();
    test_adopt_running_max_concurrent();
    test_routes_fit_running_ack_wait();
    return unit_done();
}
