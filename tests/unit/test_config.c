/*
 * test_config — the config module: defaults, the Go telephony-forwarder file, endpoint
 * objects and their limits (max_concurrent, rate_limit) and keys, ${ENV} expansion, every
 * validation rule with its exact "file:line: key" prefix, YAML and schema errors, the domain index,
 * the duration/size parsers, ESL nodes (esl:), call tracking (calls:), route event kinds, and
 * config.yaml.example (loads, sets every key to its real default, documents every key, and its
 * commented esl: block loads once uncommented).
 */
#include "config/api_keys.h"
#include "config/config.h"
#include "config/config_checks.h"
#include "config/config_ctx.h"
#include "config/config_schema.h"
#include "config/config_validate.h"
#include "config/config_yaml.h"
#include "core/log.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXAMPLE_PATH FIXTURES_DIR "/../../../config.yaml.example"

/* Runs of 'a' for length limits (use "%.Ns" for a prefix of N). */
#define RUN_OF_65 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define RUN_OF_325 RUN_OF_65 RUN_OF_65 RUN_OF_65 RUN_OF_65 RUN_OF_65
#define RUN_OF_1025                                                                                \
    RUN_OF_325 RUN_OF_325 RUN_OF_325 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static struct config *load(const char *yaml, char **errors)
{
    return config_load_string(yaml, strlen(yaml), "t.yaml", errors);
}

/* Loads `yaml` expecting failure with a message containing `want`. */
static void expect_error_at(const char *yaml, const char *want, const char *file, int line)
{
    char *errors = NULL;
    struct config *cfg = load(yaml, &errors);
    bool ok = !cfg && errors && strstr(errors, want);
    unit_check(ok, want, file, line);
    if (!ok)
        printf("#   errors: %s\n", errors ? errors : (cfg ? "(loaded fine)" : "(null)"));
    config_unref(cfg);
    free(errors);
}
#define EXPECT_ERROR(yaml, want) expect_error_at((yaml), (want), __FILE__, __LINE__)

/* Loads `yaml` expecting success. */
static struct config *load_ok_at(const char *yaml, const char *file, int line)
{
    char *errors = NULL;
    struct config *cfg = load(yaml, &errors);
    unit_check(cfg != NULL && errors == NULL, "loads", file, line);
    if (!cfg)
        printf("#   errors: %s\n", errors ? errors : "(null)");
    free(errors);
    return cfg;
}
#define LOAD_OK(yaml) load_ok_at((yaml), __FILE__, __LINE__)

static char *read_text(const char *path)
{
    return unit_read_file(path, NULL);
}

static void check_defaults(const struct config *cfg)
{
    CHECK_STR(cfg->server.address, "0.0.0.0");
    CHECK_INT(cfg->server.port, 8080);
    CHECK_INT(cfg->server.max_body_bytes, 1024 * 1024);
    CHECK_INT(cfg->server.max_connections, 4096);
    CHECK_INT(cfg->server.max_connections_per_ip, 1024); /* a quarter of max_connections */
    CHECK_INT(cfg->server.connection_timeout_ms, 30000);
    CHECK_INT(cfg->server.request_head_timeout_ms, 10000);
    CHECK_INT(cfg->server.request_body_timeout_ms, 30000);
    CHECK_INT(cfg->server.allowed_host_count, 0);
    CHECK_INT(cfg->server.shutdown_timeout_ms, 15000);

    CHECK(cfg->nats.embedded);
    CHECK_INT(cfg->nats.server_count, 0);
    CHECK(cfg->nats.token == NULL && cfg->nats.user == NULL && cfg->nats.password == NULL);
    CHECK(cfg->nats.credentials_file == NULL);
    CHECK_STR(cfg->nats.name, "eventhub");
    CHECK_INT(cfg->nats.reconnect_wait_ms, 1000);
    CHECK_INT(cfg->nats.connect_timeout_ms, 2000);
    CHECK_STR(cfg->nats.stream_name, "EVENTS");
    CHECK_STR(cfg->nats.subject_pattern, "events.*");
    CHECK_INT(cfg->nats.storage, STORAGE_FILE);
    CHECK_INT(cfg->nats.max_age_ms, 7LL * 86400 * 1000);
    CHECK_INT(cfg->nats.max_msgs, -1);
    CHECK_INT(cfg->nats.max_bytes, -1);
    CHECK_INT(cfg->nats.duplicate_window_ms, 120000);
    CHECK_INT(cfg->nats.replicas, 1);
    CHECK_STR(cfg->nats.dlq_stream, "EVENTS_DLQ");
    CHECK_STR(cfg->nats.dlq_subject_prefix, "dlq.EVENTS");
    CHECK_INT(cfg->nats.dlq_max_age_ms, 30LL * 86400 * 1000);
    CHECK_STR(cfg->nats.consumer_name, "eventhub");
    CHECK_STR(cfg->nats.deliver_group, "eventhub");
    CHECK_STR(cfg->nats.deliver_subject, "_eventhub.deliver.EVENTS");
    CHECK_INT(cfg->nats.ack_wait_ms, 30000);
    CHECK_INT(cfg->nats.max_deliver, 5);
    CHECK_INT(cfg->nats.max_ack_pending, 1024);
    CHECK_INT(cfg->nats.publish_timeout_ms, 5000);
    CHECK_INT(cfg->nats.max_inflight_publishes, 4096);
    CHECK_STR(cfg->nats.embedded_binary, "nats-server");
    CHECK_STR(cfg->nats.embedded_data_dir, "data/nats");
    CHECK_INT(cfg->nats.embedded_port, 0);

    CHECK_INT(cfg->delivery.timeout_ms, 3000);
    CHECK_INT(cfg->delivery.connect_timeout_ms, 1000);
    CHECK_INT(cfg->delivery.max_concurrent, 256);
    CHECK_INT(cfg->delivery.max_host_connections, 256);
    CHECK_INT(cfg->delivery.backoff_count, 5);
    if (cfg->delivery.backoff_count == 5) {
        CHECK_INT(cfg->delivery.backoff_ms[0], 1000);
        CHECK_INT(cfg->delivery.backoff_ms[1], 5000);
        CHECK_INT(cfg->delivery.backoff_ms[2], 30000);
        CHECK_INT(cfg->delivery.backoff_ms[3], 120000);
        CHECK_INT(cfg->delivery.backoff_ms[4], 300000);
    }
    CHECK_INT(cfg->delivery.endpoint_max_concurrent, 32);
    CHECK_INT(cfg->delivery.max_retry_age_ms, 24LL * 3600 * 1000);
    CHECK_INT(cfg->delivery.breaker_failures, 5);
    CHECK_INT(cfg->delivery.breaker_cooldown_ms, 5000);
    CHECK_INT(cfg->delivery.breaker_max_cooldown_ms, 300000);
    CHECK_INT(cfg->delivery.retry_window, 256);
    CHECK_STR(cfg->nats.retry_stream, "EVENTS_RETRY");
    CHECK_STR(cfg->nats.retry_subject_prefix, "retry.EVENTS");

    CHECK_STR(cfg->log.level, "info");
    CHECK(cfg->log.file == NULL);
    CHECK(cfg->log.domain_logging);
    CHECK_STR(cfg->log.dir, "logs");

    CHECK_INT(cfg->esl_node_count, 0);
    CHECK(cfg->esl_nodes == NULL);
    CHECK(cfg->calls.timezone == NULL);
    CHECK_INT(cfg->calls.max_call_age_ms, 4LL * 3600 * 1000);
    CHECK_INT(cfg->calls.max_calls, 100000);
    CHECK_STR(cfg->calls.bucket, "CALLS");
    CHECK_INT(cfg->calls.retention_ms, 30LL * 86400 * 1000);

    CHECK_INT(cfg->api.workers, 4);
    CHECK_INT(cfg->api.max_concurrent_scans, 2);
    CHECK_INT(cfg->api.queue_timeout_ms, 5000);
    CHECK_INT(cfg->api.scan_timeout_ms, 2000);
    CHECK_INT(cfg->api.scan_max_messages, 20000);
}

/* Loads `yaml` with the log going to a temporary file; returns what was logged. */
static char *load_logged(const char *yaml, struct config **cfg, char **errors)
{
    char logpath[] = "/tmp/test_config_log_XXXXXX";
    int fd = mkstemp(logpath);
    if (fd < 0)
        return NULL;
    close(fd);
    if (log_open(logpath) != 0) {
        unlink(logpath);
        return NULL;
    }
    *cfg = load(yaml, errors);
    log_close();
    char *logged = read_text(logpath);
    unlink(logpath);
    return logged;
}

static void test_defaults(void)
{
    struct config *cfg = LOAD_OK("# nothing but a comment\n");
    if (cfg) {
        check_defaults(cfg);
        CHECK_STR(cfg->path, "t.yaml");
        CHECK_INT(cfg->route_count, 0);
        CHECK(cfg->default_route == NULL);
        CHECK(config_find_route(cfg, "example.com") == NULL);
        CHECK_INT(config_max_endpoint_timeout_ms(cfg), 3000);
    }
    config_unref(cfg);

    /* Empty sections and an empty routes list are fine too. */
    cfg = LOAD_OK("server:\nnats: {}\nroutes: []\nlog: ~\n");
    if (cfg) {
        check_defaults(cfg);
        CHECK_INT(cfg->route_count, 0);
    }
    config_unref(cfg);

    cfg = config_load(FIXTURES_DIR "/minimal.yaml", NULL);
    CHECK(cfg != NULL);
    if (cfg) {
        CHECK_STR(cfg->path, FIXTURES_DIR "/minimal.yaml");
        CHECK_INT(cfg->route_count, 1);
        CHECK_INT(cfg->routes[0].line, 3);
        CHECK_INT(cfg->routes[0].endpoints[0].timeout_ms, 3000);
    }
    config_unref(cfg);
}

static void test_refcount(void)
{
    struct config *cfg = LOAD_OK("");
    CHECK(config_ref(cfg) == cfg);
    config_unref(cfg);
    CHECK_STR(cfg->nats.stream_name, "EVENTS"); /* still alive: one reference left */
    config_unref(cfg);
    config_unref(NULL);
    CHECK(config_ref(NULL) == NULL);
}

static void test_go_forwarder(void)
{
    char logpath[] = "/tmp/test_config_log_XXXXXX";
    int fd = mkstemp(logpath);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    CHECK_INT(log_open(logpath), 0);

    char *errors = NULL;
    struct config *cfg = config_load(FIXTURES_DIR "/go_forwarder.yaml", &errors);
    log_close();
    CHECK(cfg != NULL);
    CHECK(errors == NULL);
    if (errors)
        printf("#   errors: %s\n", errors);
    free(errors);

    char *logged = read_text(logpath);
    unlink(logpath);
    CHECK(logged && strstr(logged, "go_forwarder.yaml:3: server.read_timeout_seconds is ignored"));
    CHECK(logged && strstr(logged, "go_forwarder.yaml:4: server.write_timeout_seconds is ignored"));
    CHECK(logged && strstr(logged, "\"level\":\"warn\""));
    free(logged);
    if (!cfg)
        return;

    CHECK_INT(cfg->server.port, 8080);
    CHECK(!cfg->nats.embedded);
    CHECK_INT(cfg->nats.server_count, 1);
    CHECK_STR(cfg->nats.servers[0], "nats://localhost:4222");
    CHECK_STR(cfg->nats.stream_name, "call-signals");
    CHECK_STR(cfg->nats.subject_pattern, "call.signal.*");
    CHECK_INT(cfg->nats.ack_wait_ms, 10000);
    CHECK_INT(cfg->nats.max_deliver, 3);
    CHECK_STR(cfg->nats.dlq_stream, "call-signals_DLQ");
    CHECK_STR(cfg->nats.dlq_subject_prefix, "dlq.call-signals");
    CHECK_STR(cfg->nats.retry_stream, "call-signals_RETRY");
    CHECK_STR(cfg->nats.retry_subject_prefix, "retry.call-signals");
    CHECK_STR(cfg->nats.deliver_subject, "_eventhub.deliver.call-signals");
    CHECK_INT(cfg->route_count, 1);
    const struct route *r = config_find_route(cfg, "tenant1.example.com");
    CHECK(r == &cfg->routes[0]);
    if (r) {
        CHECK_STR(r->domain, "tenant1.example.com");
        CHECK(!r->is_default);
        CHECK_INT(r->line, 12);
        CHECK_INT(r->endpoint_count, 2);
        CHECK_STR(r->endpoints[0].url, "https://backend1.example.com/webhook");
        CHECK_STR(r->endpoints[1].url, "https://backend2.example.com/webhook");
        CHECK_INT(r->endpoints[0].timeout_ms, 3000);
        CHECK_INT(r->endpoints[1].line, 15);
        CHECK_INT(r->endpoints[0].header_count, 0);
    }
    CHECK(config_find_route(cfg, "other.example.com") == NULL);
    config_unref(cfg);
}

static void test_endpoint_objects(void)
{
    struct config *cfg = LOAD_OK("delivery:\n"
                                 "  timeout: 2s\n"
                                 "routes:\n"
                                 "  - domain: a.example\n"
                                 "    endpoints:\n"
                                 "      - url: https://x.example/hook\n"
                                 "        timeout: 1500ms\n"
                                 "        headers:\n"
                                 "          Authorization: \"Bearer abc\"\n"
                                 "          X-Tenant: a\n"
                                 "      - http://y.example:8080/\n"
                                 "      - {url: \"http://[::1]:9000/x\", timeout: 4s}\n");
    if (!cfg)
        return;
    const struct route *r = &cfg->routes[0];
    CHECK_INT(r->endpoint_count, 3);
    CHECK_STR(r->endpoints[0].url, "https://x.example/hook");
    CHECK_INT(r->endpoints[0].timeout_ms, 1500);
    CHECK_INT(r->endpoints[0].line, 6);
    CHECK_INT(r->endpoints[0].header_count, 2);
    if (r->endpoints[0].header_count == 2) {
        CHECK_STR(r->endpoints[0].headers[0], "Authorization: Bearer abc");
        CHECK_STR(r->endpoints[0].headers[1], "X-Tenant: a");
    }
    CHECK_STR(r->endpoints[1].url, "http://y.example:8080/");
    CHECK_INT(r->endpoints[1].timeout_ms, 2000); /* inherits delivery.timeout */
    CHECK_INT(r->endpoints[1].line, 11);
    CHECK_INT(r->endpoints[2].timeout_ms, 4000);
    CHECK_INT(config_max_endpoint_timeout_ms(cfg), 4000);
    for (size_t i = 0; i < r->endpoint_count; i++) { /* none sets a limit */
        CHECK_INT(r->endpoints[i].max_concurrent, 32);
        CHECK(r->endpoints[i].max_concurrent_inherited);
        CHECK(r->endpoints[i].rate_per_s == 0);
    }
    config_unref(cfg);
}

/* max_concurrent (default delivery.endpoint_max_concurrent) and rate_limit ("N/s",
 * "N/m", "N/h"; absent = unlimited), each error at the line of its value. */
static void test_endpoint_limits(void)
{
    struct config *cfg = LOAD_OK("routes:\n"
                                 "  - domain: a.example\n"
                                 "    endpoints:\n"
                                 "      - http://plain.example/\n"
                                 "      - url: http://limited.example/\n"
                                 "        max_concurrent: 3\n"
                                 "        rate_limit: 100/s\n"
                                 "      - {url: http://m.example/, rate_limit: 30/m}\n"
                                 "      - {url: http://h.example/, rate_limit: \"1800/h\"}\n"
                                 "      - {url: http://d.example/, rate_limit: 0.25/s}\n"
                                 "      - {url: http://top.example/, rate_limit: 1000000/s,"
                                 " max_concurrent: 10000}\n"
                                 "      - {url: http://top2.example/, rate_limit: 60000000/m}\n"
                                 "      - {url: http://n.example/, rate_limit: ~,"
                                 " max_concurrent: 1}\n"
                                 "delivery:\n"
                                 "  endpoint_max_concurrent: 8\n");
    if (cfg) {
        const struct endpoint *e = cfg->routes[0].endpoints;
        CHECK_INT(cfg->routes[0].endpoint_count, 8);
        /* Inherited after the whole file is read: delivery: comes after routes:. */
        CHECK_INT(e[0].max_concurrent, 8);
        CHECK(e[0].max_concurrent_inherited);
        CHECK(e[0].rate_per_s == 0);
        CHECK_INT(e[1].max_concurrent, 3);
        CHECK(!e[1].max_concurrent_inherited);
        CHECK(e[1].rate_per_s == 100);
        CHECK(e[2].rate_per_s == 0.5);
        CHECK(e[3].rate_per_s == 0.5);
        CHECK(e[4].rate_per_s == 0.25);
        CHECK_INT(e[4].max_concurrent, 8);
        CHECK(e[5].rate_per_s == 1000000);
        CHECK_INT(e[5].max_concurrent, 10000);
        CHECK(e[6].rate_per_s == 1000000);
        CHECK(e[7].rate_per_s == 0); /* null: unlimited */
        CHECK_INT(e[7].max_concurrent, 1);
    }
    config_unref(cfg);

#define EP(extra)                                                                                  \
    "routes:\n  - domain: a\n    endpoints:\n      - http://a/\n      - url: http://b/\n" extra
    EXPECT_ERROR(EP("        max_concurrent: 0\n"),
                 "t.yaml:6: routes[0].endpoints[1].max_concurrent: 0 is out of range (1..10000)");
    EXPECT_ERROR(EP("        max_concurrent: 10001\n"),
                 "t.yaml:6: routes[0].endpoints[1].max_concurrent: 10001 is out of range");
    EXPECT_ERROR(EP("        max_concurrent: -1\n"),
                 "t.yaml:6: routes[0].endpoints[1].max_concurrent: -1 is out of range");
    EXPECT_ERROR(EP("        max_concurrent: many\n"),
                 "t.yaml:6: routes[0].endpoints[1].max_concurrent: expected an integer");
    EXPECT_ERROR(EP("        max_concurent: 4\n"),
                 "t.yaml:6: routes[0].endpoints[1].max_concurent: unknown key (did you mean "
                 "\"max_concurrent\"?)");
    EXPECT_ERROR(EP("        timeout: 1s\n        rate_limit: \"abc\"\n"),
                 "t.yaml:7: routes[0].endpoints[1].rate_limit: expected a rate like \"100/s\"");
    static const char *const malformed[] = {
        "100",    "100/d", "100/sec", "/s",    "1.5.5/s", ".5/s",  "5./s",
        "100 /s", "-1/s",  "+1/s",    "1e3/s", "0x10/s",  "100/S", "1234567890123456789/s",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        char yaml[256], want[160];
        snprintf(yaml, sizeof yaml, EP("        rate_limit: \"%s\"\n"), malformed[i]);
        snprintf(want, sizeof want,
                 "t.yaml:6: routes[0].endpoints[1].rate_limit: expected a rate like \"100/s\" "
                 "(a number of calls per s, m or h), got \"%.40s\"",
                 malformed[i]);
        EXPECT_ERROR(yaml, want);
    }
    EXPECT_ERROR(EP("        rate_limit: 0/s\n"),
                 "t.yaml:6: routes[0].endpoints[1].rate_limit: must be greater than 0");
    EXPECT_ERROR(EP("        rate_limit: 0.000/h\n"),
                 "t.yaml:6: routes[0].endpoints[1].rate_limit: must be greater than 0");
    EXPECT_ERROR(EP("        rate_limit: 1000001/s\n"),
                 "t.yaml:6: routes[0].endpoints[1].rate_limit: \"1000001/s\" is more than "
                 "1000000 calls per second");
    EXPECT_ERROR(EP("        rate_limit: 3600000001/h\n"), "is more than 1000000 calls per second");
    EXPECT_ERROR(EP("        rate_limit: [1/s]\n"),
                 "t.yaml:6: routes[0].endpoints[1].rate_limit: expected a string, got a list");
    /* The plain-URL endpoint of the same route is fine; only the bad one is reported. */
    char *errors = NULL;
    CHECK(load(EP("        rate_limit: 1/x\n        max_concurrent: 0\n"), &errors) == NULL);
    CHECK_STR(errors, "t.yaml:6: routes[0].endpoints[1].rate_limit: expected a rate like "
                      "\"100/s\" (a number of calls per s, m or h), got \"1/x\"\n"
                      "t.yaml:7: routes[0].endpoints[1].max_concurrent: 0 is out of range "
                      "(1..10000)");
    free(errors);
#undef EP
}

/* The key: FNV-1a 64 over domain and label (the redacted URL, "#n" among endpoints
 * differing only in secrets), NUL-separated, in hex. No secret goes in. */
static void test_endpoint_key(void)
{
    static const char yaml[] = "routes:\n"
                               "  - domain: a.example\n"
                               "    endpoints:\n"
                               "      - https://x.example/hook\n"
                               "      - url: https://x.example/hook\n"
                               "        headers: {Authorization: Bearer abc}\n"
                               "      - url: https://x.example/hook\n"
                               "        headers: {Authorization: Bearer xyz}\n"
                               "      - url: https://x.example/hook\n"
                               "        timeout: 1s\n"
                               "        max_concurrent: 2\n"
                               "        rate_limit: 1/s\n"
                               "      - https://x.example/other\n"
                               "  - domain: b.example\n"
                               "    endpoints: [https://x.example/hook]\n"
                               "  - domain: default\n"
                               "    endpoints: [https://x.example/hook]\n";
    struct config *cfg = LOAD_OK(yaml), *again = LOAD_OK(yaml);
    if (cfg && again) {
        const struct endpoint *a = cfg->routes[0].endpoints;
        CHECK_STR(a[0].key, "40f4d27bd50466fb");
        CHECK_STR(a[1].key, "14f733b1d571d2ea"); /* label "https://x.example/hook #2" */
        CHECK_STR(cfg->routes[2].endpoints[0].key, "f5bcf6b79ca15d32"); /* domain "*" */
        /* Stable across loads. */
        for (size_t i = 0; i < cfg->routes[0].endpoint_count; i++)
            CHECK_STR(a[i].key, again->routes[0].endpoints[i].key);
        /* Endpoints that differ in secrets only, another URL or another domain: another
         * key. */
        CHECK(strcmp(a[1].key, a[2].key) != 0);
        CHECK(strcmp(a[0].key, a[1].key) != 0);
        CHECK(strcmp(a[0].key, a[4].key) != 0);
        CHECK(strcmp(a[0].key, cfg->routes[1].endpoints[0].key) != 0);
        /* Timeout and limits are not part of it: changing them keeps the lane. */
        CHECK_STR(a[3].key, a[0].key);
        for (size_t i = 0; i < cfg->routes[0].endpoint_count; i++) {
            CHECK_INT(strlen(a[i].key), 16);
            CHECK_INT(strspn(a[i].key, "0123456789abcdef"), 16);
        }
    }
    config_unref(cfg);
    config_unref(again);
    /* A rotated secret (a header value, a query value) keeps the key. */
    struct config *before = LOAD_OK("routes:\n  - domain: a.example\n    endpoints:\n"
                                    "      - url: https://x.example/hook?token=old\n"
                                    "        headers: {Authorization: Bearer abc}\n");
    struct config *after = LOAD_OK("routes:\n  - domain: a.example\n    endpoints:\n"
                                   "      - url: https://x.example/hook?token=new\n"
                                   "        headers: {Authorization: Bearer xyz}\n");
    if (before && after)
        CHECK_STR(before->routes[0].endpoints[0].key, after->routes[0].endpoints[0].key);
    config_unref(before);
    config_unref(after);
}

/* display_url is the URL redacted once at load; label tells apart the endpoints of a
 * route that only their secrets distinguish ("#2" in route order, repeats share). */
static void test_endpoint_display(void)
{
    struct config *cfg = LOAD_OK("routes:\n"
                                 "  - domain: a.example\n"
                                 "    endpoints:\n"
                                 "      - https://u:one@x.example/hook?token=1\n"
                                 "      - http://plain.example/in\n"
                                 "      - https://u:two@x.example/hook?token=2\n"
                                 "      - https://u:one@x.example/hook?token=1\n"
                                 "      - {url: \"http://plain.example/in\", headers: {K: v}}\n"
                                 "      - https://x.example/hook?token=3\n"
                                 "  - domain: b.example\n"
                                 "    endpoints: [\"https://u:two@x.example/hook?token=2\"]\n");
    if (!cfg)
        return;
    const struct route *r = &cfg->routes[0];
    static const char *const want_display[] = {
        "https://***@x.example/hook?token=***",
        "http://plain.example/in",
        "https://***@x.example/hook?token=***",
        "https://***@x.example/hook?token=***",
        "http://plain.example/in",
        "https://x.example/hook?token=***",
    };
    static const char *const want_label[] = {
        "https://***@x.example/hook?token=***",
        "http://plain.example/in",
        "https://***@x.example/hook?token=*** #2",
        "https://***@x.example/hook?token=***",
        "http://plain.example/in #2",
        "https://x.example/hook?token=***",
    };
    CHECK_INT(r->endpoint_count, 6);
    for (size_t i = 0; i < r->endpoint_count && i < 6; i++) {
        CHECK_STR(r->endpoints[i].display_url, want_display[i]);
        CHECK_STR(r->endpoints[i].label, want_label[i]);
    }
    /* Labels are unique within a route, not across routes. */
    CHECK_STR(cfg->routes[1].endpoints[0].label, "https://***@x.example/hook?token=***");
    config_unref(cfg);
}

static void test_env(void)
{
    setenv("EH_TEST_HOST", "hooks.example", 1);
    setenv("EH_TEST_PORT", "9090", 1);
    setenv("EH_TEST_EMPTY", "", 1);
    unsetenv("EH_TEST_MISSING");
    struct config *cfg = LOAD_OK("server:\n"
                                 "  port: \"${EH_TEST_PORT}\"\n"
                                 "nats:\n"
                                 "  stream_name: \"${EH_TEST_MISSING:-FALLBACK}\"\n"
                                 "  token: \"${EH_TEST_EMPTY:-tok}en\"\n"
                                 "  connection_name: \"$${literal} $5 ${EH_TEST_EMPTY}x\"\n"
                                 "routes:\n"
                                 "  - domain: ${EH_TEST_HOST}\n"
                                 "    endpoints: [\"https://${EH_TEST_HOST}/in\"]\n");
    if (cfg) {
        CHECK_INT(cfg->server.port, 9090);
        CHECK_STR(cfg->nats.stream_name, "FALLBACK");
        CHECK_STR(cfg->nats.dlq_stream, "FALLBACK_DLQ");
        CHECK_STR(cfg->nats.token, "token");
        CHECK_STR(cfg->nats.name, "${literal} $5 x");
        CHECK_STR(cfg->routes[0].endpoints[0].url, "https://hooks.example/in");
        CHECK(config_find_route(cfg, "HOOKS.example") == &cfg->routes[0]);
    }
    config_unref(cfg);

    EXPECT_ERROR("nats:\n  url: nats://h:4222\n\n  token: ${EH_TEST_MISSING}\n",
                 "t.yaml:4: nats.token: environment variable EH_TEST_MISSING is not set");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints:\n      - http://${EH_TEST_MISSING}/x\n",
                 "t.yaml:4: routes[0].endpoints[0]: environment variable EH_TEST_MISSING");
    EXPECT_ERROR("log:\n  dir: \"${EH_TEST_HOST\"\n", "t.yaml:2: log.dir: unterminated \"${\"");
    EXPECT_ERROR("log:\n  dir: \"${1BAD}\"\n",
                 "t.yaml:2: log.dir: invalid environment variable reference");
    EXPECT_ERROR("log:\n  dir: \"${A:-${B}}\"\n", "t.yaml:2: log.dir: nested");

    /* The EVENTHUB_NATS_* variables win over the file. */
    setenv("EVENTHUB_NATS_TOKEN", "env-token", 1);
    setenv("EVENTHUB_NATS_USER", "env-user", 1);
    setenv("EVENTHUB_NATS_PASSWORD", "env-pass", 1);
    setenv("EVENTHUB_NATS_CREDENTIALS", "/env.creds", 1);
    cfg = LOAD_OK("nats:\n  token: file-token\n  user: file-user\n");
    if (cfg) {
        CHECK_STR(cfg->nats.token, "env-token");
        CHECK_STR(cfg->nats.user, "env-user");
        CHECK_STR(cfg->nats.password, "env-pass");
        CHECK_STR(cfg->nats.credentials_file, "/env.creds");
    }
    config_unref(cfg);
    unsetenv("EVENTHUB_NATS_TOKEN");
    unsetenv("EVENTHUB_NATS_USER");
    unsetenv("EVENTHUB_NATS_PASSWORD");
    unsetenv("EVENTHUB_NATS_CREDENTIALS");
}

static void test_nats_urls(void)
{
    struct config *cfg = LOAD_OK("nats:\n"
                                 "  url: \"nats://a:4222, tls://user:pw@b:4443,,\"\n"
                                 "  servers:\n"
                                 "    - nats://c\n");
    if (cfg) {
        CHECK(!cfg->nats.embedded);
        CHECK_INT(cfg->nats.server_count, 3);
        if (cfg->nats.server_count == 3) {
            CHECK_STR(cfg->nats.servers[0], "nats://a:4222");
            CHECK_STR(cfg->nats.servers[1], "tls://user:pw@b:4443");
            CHECK_STR(cfg->nats.servers[2], "nats://c");
        }
    }
    config_unref(cfg);
    cfg = LOAD_OK("nats:\n  servers: [\"nats://[::1]:4222\"]\n");
    if (cfg)
        CHECK(!cfg->nats.embedded && cfg->nats.server_count == 1);
    config_unref(cfg);

    EXPECT_ERROR("nats:\n  url: http://a:4222\n",
                 "t.yaml:2: nats.url: not a nats:// or tls:// URL");
    EXPECT_ERROR("nats:\n  url: \"nats://a, localhost:4222\"\n",
                 "t.yaml:2: nats.url: not a nats:// or tls:// URL");
    EXPECT_ERROR("nats:\n  url: nats://\n", "t.yaml:2: nats.url: URL has no host");
    EXPECT_ERROR("nats:\n  url: nats://h:0\n", "t.yaml:2: nats.url: URL has an invalid port");
    EXPECT_ERROR("nats:\n  url: \" , \"\n", "t.yaml:2: nats.url: expected \"embedded\"");
    EXPECT_ERROR("nats:\n  servers:\n    - nats://a\n    - ftp://b\n",
                 "t.yaml:4: nats.servers[1]: not a nats:// or tls:// URL");
    EXPECT_ERROR("nats:\n  url: embedded\n  servers: [nats://a]\n",
                 "t.yaml:3: nats.servers: cannot be combined with nats.url: embedded (line 2)");
    EXPECT_ERROR("nats:\n  password: x\n", "t.yaml:2: nats.password: requires nats.user");
}

static void test_server_rules(void)
{
    EXPECT_ERROR("server:\n  port: 70000\n",
                 "t.yaml:2: server.port: 70000 is out of range (0..65535)");
    EXPECT_ERROR("server:\n  port: -1\n", "t.yaml:2: server.port: -1 is out of range");
    EXPECT_ERROR("server:\n  max_body_bytes: 0\n",
                 "t.yaml:2: server.max_body_bytes: 0 is out of range");
    EXPECT_ERROR("server:\n\n  max_body_bytes: 65MiB\n",
                 "t.yaml:3: server.max_body_bytes: 68157440 is out of range");
    EXPECT_ERROR("server:\n  address: \"0.0.0.0 \"\n",
                 "t.yaml:2: server.address: must not contain spaces");
    EXPECT_ERROR("server:\n  connection_timeout: 0\n",
                 "t.yaml:2: server.connection_timeout: must be greater than 0");
    struct config *cfg = LOAD_OK("server:\n  port: 0\n  max_body_bytes: 64MiB\n");
    if (cfg) {
        CHECK_INT(cfg->server.port, 0);
        CHECK_INT(cfg->server.max_body_bytes, 64 * 1024 * 1024);
    }
    config_unref(cfg);
}

/* Slow clients and the Host allowlist (http_deadline, http_policy). */
static void test_server_guards(void)
{
    /* max_connections_per_ip: derived unless written; 0 means no limit. */
    struct config *cfg = LOAD_OK("server:\n  max_connections: 16\n");
    if (cfg)
        CHECK_INT(cfg->server.max_connections_per_ip, 4);
    config_unref(cfg);
    cfg = LOAD_OK("server:\n  max_connections: 8\n");
    if (cfg)
        CHECK_INT(cfg->server.max_connections_per_ip, 4); /* at least 4 */
    config_unref(cfg);
    cfg = LOAD_OK("server:\n  max_connections_per_ip: 0\n  request_head_timeout: 0\n"
                  "  request_body_timeout: 2s\n");
    if (cfg) {
        CHECK_INT(cfg->server.max_connections_per_ip, 0);
        CHECK_INT(cfg->server.request_head_timeout_ms, 0);
        CHECK_INT(cfg->server.request_body_timeout_ms, 2000);
    }
    config_unref(cfg);
    EXPECT_ERROR("server:\n  max_connections_per_ip: -1\n",
                 "t.yaml:2: server.max_connections_per_ip: -1 is out of range (0..1000000)");

    cfg = LOAD_OK("server:\n  allowed_hosts: [eventhub.example.com, \"*.svc.cluster.local\", "
                  "\"*\", 10.0.0.1, \"[::1]\"]\n");
    if (cfg) {
        CHECK_INT(cfg->server.allowed_host_count, 5);
        if (cfg->server.allowed_host_count == 5)
            CHECK_STR(cfg->server.allowed_hosts[1], "*.svc.cluster.local");
    }
    config_unref(cfg);
    EXPECT_ERROR("server:\n  allowed_hosts: [\"http://eventhub.example.com\"]\n",
                 "t.yaml:2: server.allowed_hosts[0]: \"http://eventhub.example.com\" is a URL");
    EXPECT_ERROR("server:\n  allowed_hosts:\n    - a.example\n    - \"a.example:8080\"\n",
                 "t.yaml:4: server.allowed_hosts[1]: \"a.example:8080\" has a port");
    EXPECT_ERROR("server:\n  allowed_hosts: [\"under_score.example\"]\n",
                 "server.allowed_hosts[0]: \"under_score.example\" is not a host name");
    EXPECT_ERROR("server:\n  allowed_hosts: [\"*example.com\"]\n",
                 "is not a host name, \"*\" or \"*.domain\"");
    EXPECT_ERROR("server:\n  allowed_hosts: [a.example, a.example]\n", "duplicate \"a.example\"");
    EXPECT_ERROR("server:\n  allowed_hosts: a.example\n", "expected a list of strings");
}

static void test_stream_rules(void)
{
    EXPECT_ERROR("nats:\n  subject_pattern: events\n",
                 "t.yaml:2: nats.subject_pattern: \"events\" must contain one wildcard token");
    EXPECT_ERROR(
        "nats:\n  stream:\n    subject_pattern: \"a.*.*\"\n",
        "t.yaml:3: nats.stream.subject_pattern: \"a.*.*\" must contain exactly one wildcard");
    EXPECT_ERROR("nats:\n  subject_pattern: \"a.>.b\"\n",
                 "t.yaml:2: nats.subject_pattern: \"a.>.b\" '>' must be the last token");
    EXPECT_ERROR("nats:\n  subject_pattern: \"a..*\"\n",
                 "t.yaml:2: nats.subject_pattern: \"a..*\" has an empty token");
    EXPECT_ERROR("nats:\n  subject_pattern: \"a.*.\"\n",
                 "t.yaml:2: nats.subject_pattern: \"a.*.\" has an empty token");
    EXPECT_ERROR("nats:\n  subject_pattern: \"a b.*\"\n",
                 "t.yaml:2: nats.subject_pattern: \"a b.*\" must not contain spaces");
    EXPECT_ERROR("nats:\n  subject_pattern: \"a.b*\"\n",
                 "t.yaml:2: nats.subject_pattern: \"a.b*\" a wildcard must be a whole token");
    EXPECT_ERROR("nats:\n  stream_name: \"my.stream\"\n",
                 "t.yaml:2: nats.stream_name: \"my.stream\" must not contain '.'");
    EXPECT_ERROR("nats:\n  stream_name: \"my stream\"\n",
                 "t.yaml:2: nats.stream_name: \"my stream\" must not contain spaces");
    /* Names derived from a bad stream name are not reported again. */
    char *errors = NULL;
    CHECK(load("nats:\n  stream_name: \"my stream\"\n  consumer:\n    name: \"c d\"\n", &errors) ==
          NULL);
    CHECK_STR(
        errors,
        "t.yaml:2: nats.stream_name: \"my stream\" must not contain spaces or control "
        "characters\n"
        "t.yaml:4: nats.consumer.name: \"c d\" must not contain spaces or control characters");
    free(errors);
    EXPECT_ERROR("nats:\n  stream:\n    name: \"a/b\"\n",
                 "t.yaml:3: nats.stream.name: \"a/b\" must not contain");
    EXPECT_ERROR("nats:\n  stream:\n    name: 'a\\b'\n",
                 "t.yaml:3: nats.stream.name: \"a\\b\" must not contain");
    EXPECT_ERROR("nats:\n  stream:\n    name: \"a*\"\n",
                 "t.yaml:3: nats.stream.name: \"a*\" must not contain");
    EXPECT_ERROR("nats:\n  stream:\n    name: \"a>\"\n",
                 "t.yaml:3: nats.stream.name: \"a>\" must not contain");
    EXPECT_ERROR("nats:\n  stream:\n    name: \"\"\n",
                 "t.yaml:3: nats.stream.name: must not be empty");
    EXPECT_ERROR("nats:\n  dead_letter:\n    stream: \"x.y\"\n",
                 "t.yaml:3: nats.dead_letter.stream: \"x.y\" must not contain");
    EXPECT_ERROR("nats:\n  dead_letter:\n    stream: EVENTS\n",
                 "t.yaml:3: nats.dead_letter.stream: must differ");
    EXPECT_ERROR("nats:\n  consumer:\n    name: \"c.1\"\n",
                 "t.yaml:3: nats.consumer.name: \"c.1\" must not contain");
    EXPECT_ERROR("nats:\n  dead_letter:\n    subject_prefix: \"dlq.*\"\n",
                 "t.yaml:3: nats.dead_letter.subject_prefix: \"dlq.*\" must not contain wildcards");
    EXPECT_ERROR(
        "nats:\n  subject_pattern: \"dlq.EVENTS.*\"\n",
        "nats.dead_letter.subject_prefix: dlq.EVENTS.> overlaps the event subjects dlq.EVENTS.*");
    EXPECT_ERROR(
        "nats:\n  consumer:\n    deliver_subject: events.x\n",
        "t.yaml:3: nats.consumer.deliver_subject: events.x overlaps the event subjects events.*");
    EXPECT_ERROR("nats:\n  retry:\n    stream: \"x.y\"\n",
                 "t.yaml:3: nats.retry.stream: \"x.y\" must not contain");
    EXPECT_ERROR("nats:\n  retry:\n    stream: \"\"\n",
                 "t.yaml:3: nats.retry.stream: must not be empty");
    EXPECT_ERROR("nats:\n  retry:\n    stream: EVENTS\n",
                 "t.yaml:3: nats.retry.stream: must differ from the event stream name");
    EXPECT_ERROR("nats:\n  retry:\n    stream: EVENTS_DLQ\n",
                 "t.yaml:3: nats.retry.stream: must differ from the dead-letter stream name");
    /* The derived retry stream, taken by the dead-letter one: blame the line written. */
    EXPECT_ERROR("nats:\n  dead_letter:\n    stream: EVENTS_RETRY\n",
                 "t.yaml:3: nats.retry.stream: must differ from the dead-letter stream name");
    EXPECT_ERROR("nats:\n  retry:\n    subject_prefix: \"retry.*\"\n",
                 "t.yaml:3: nats.retry.subject_prefix: \"retry.*\" must not contain wildcards");
    EXPECT_ERROR("nats:\n  retry:\n    subject_prefix: \"retry..x\"\n",
                 "t.yaml:3: nats.retry.subject_prefix: \"retry..x\" has an empty token");
    EXPECT_ERROR("nats:\n  retry:\n    subject_prefix: events\n",
                 "t.yaml:3: nats.retry.subject_prefix: events.> overlaps the event subjects "
                 "events.*");
    EXPECT_ERROR("nats:\n  subject_pattern: \"retry.EVENTS.*\"\n",
                 "t.yaml:2: nats.retry.subject_prefix: retry.EVENTS.> overlaps the event "
                 "subjects retry.EVENTS.*");
    EXPECT_ERROR("nats:\n  retry:\n    subject_prefix: dlq.EVENTS\n",
                 "t.yaml:3: nats.retry.subject_prefix: dlq.EVENTS.> overlaps the dead-letter "
                 "subjects dlq.EVENTS.>");
    EXPECT_ERROR("nats:\n  retry:\n    subject_prefix: dlq\n",
                 "t.yaml:3: nats.retry.subject_prefix: dlq.> overlaps the dead-letter subjects");
    EXPECT_ERROR("nats:\n  dead_letter:\n    subject_prefix: retry.EVENTS.dead\n",
                 "t.yaml:3: nats.retry.subject_prefix: retry.EVENTS.> overlaps the dead-letter "
                 "subjects retry.EVENTS.dead.>");
    EXPECT_ERROR("nats:\n  retry:\n    subject_prefix: _eventhub.deliver\n",
                 "t.yaml:3: nats.retry.subject_prefix: _eventhub.deliver.> overlaps the deliver "
                 "subject _eventhub.deliver.EVENTS");
    {
        struct config *rc = LOAD_OK("nats:\n  stream_name: CALLS\n");
        if (rc) {
            CHECK_STR(rc->nats.retry_stream, "CALLS_RETRY");
            CHECK_STR(rc->nats.retry_subject_prefix, "retry.CALLS");
        }
        config_unref(rc);
        rc = LOAD_OK("nats:\n  retry:\n    stream: PARKED\n    subject_prefix: parked.in\n");
        if (rc) {
            CHECK_STR(rc->nats.retry_stream, "PARKED");
            CHECK_STR(rc->nats.retry_subject_prefix, "parked.in");
        }
        config_unref(rc);
    }
    EXPECT_ERROR("nats:\n  stream:\n    replicas: 6\n",
                 "t.yaml:3: nats.stream.replicas: 6 is out of range (1..5)");
    EXPECT_ERROR("nats:\n  stream:\n    replicas: 0\n",
                 "t.yaml:3: nats.stream.replicas: 0 is out of range");
    EXPECT_ERROR("nats:\n  stream:\n    duplicate_window: 0s\n",
                 "t.yaml:3: nats.stream.duplicate_window: must be greater than 0");
    EXPECT_ERROR(
        "nats:\n  stream:\n    max_age: 1m\n",
        "t.yaml:3: nats.stream.duplicate_window: 2m must not exceed nats.stream.max_age (1m)");
    EXPECT_ERROR("nats:\n  stream:\n    max_msgs: 0\n",
                 "t.yaml:3: nats.stream.max_msgs: 0 is not allowed (use -1");
    EXPECT_ERROR("nats:\n  stream:\n    max_bytes: -2\n",
                 "t.yaml:3: nats.stream.max_bytes: expected a size");
    EXPECT_ERROR("nats:\n  stream:\n    storage: disk\n",
                 "t.yaml:3: nats.stream.storage: expected file or memory");
    EXPECT_ERROR("nats:\n  consumer:\n    max_deliver: 0\n",
                 "t.yaml:3: nats.consumer.max_deliver: 0 is out of range (1..1000)");
    EXPECT_ERROR("nats:\n  max_deliveries: 1001\n",
                 "t.yaml:2: nats.max_deliveries: 1001 is out of range (1..1000)");
    EXPECT_ERROR("nats:\n  consumer:\n    max_ack_pending: 0\n",
                 "t.yaml:3: nats.consumer.max_ack_pending: 0 is out of range (1..100000)");
    EXPECT_ERROR("nats:\n  consumer:\n    max_ack_pending: 100001\n",
                 "t.yaml:3: nats.consumer.max_ack_pending: 100001 is out of range");
    EXPECT_ERROR("nats:\n  publish:\n    max_inflight: 0\n",
                 "t.yaml:3: nats.publish.max_inflight: 0 is out of range (1..1000000)");
    EXPECT_ERROR("nats:\n  publish:\n    max_inflight: 1000001\n",
                 "t.yaml:3: nats.publish.max_inflight: 1000001 is out of range");
    EXPECT_ERROR("nats:\n  consumer:\n    deliver_group: \"a b\"\n",
                 "t.yaml:3: nats.consumer.deliver_group: must not contain spaces");

    struct config *cfg = LOAD_OK("nats:\n"
                                 "  stream:\n"
                                 "    subject_pattern: \"*.in\"\n"
                                 "    storage: memory\n"
                                 "    max_age: 0\n"
                                 "    max_msgs: 1000\n"
                                 "    max_bytes: 10GB\n"
                                 "  consumer:\n"
                                 "    name: worker\n");
    if (cfg) {
        CHECK_STR(cfg->nats.subject_pattern, "*.in");
        CHECK_INT(cfg->nats.storage, STORAGE_MEMORY);
        CHECK_INT(cfg->nats.max_age_ms, 0);
        CHECK_INT(cfg->nats.max_msgs, 1000);
        CHECK_INT(cfg->nats.max_bytes, 10LL << 30);
        CHECK_STR(cfg->nats.deliver_group, "worker");
    }
    config_unref(cfg);
    cfg = LOAD_OK("nats:\n  subject_pattern: \"in.>\"\n");
    config_unref(cfg);
}

static void test_ack_wait_rule(void)
{
    /* A Go telephony-forwarder file: ack_wait_seconds 5 against the 3s default endpoint
     * timeout is not above timeout + margin, but loads (with a warning): delivery keeps
     * the lease with in-progress acks. */
    struct config *cfg = LOAD_OK("nats:\n  ack_wait_seconds: 5\n");
    if (cfg)
        CHECK_INT(cfg->nats.ack_wait_ms, 5000);
    config_unref(cfg);
    cfg = LOAD_OK("nats:\n  consumer:\n    ack_wait: 3s\n");
    config_unref(cfg);
    cfg = LOAD_OK("nats:\n  consumer:\n    ack_wait: 5001ms\n");
    config_unref(cfg);
    /* The default ack_wait (30s) against a slow endpoint loads too. */
    cfg = LOAD_OK("routes:\n"
                  "  - domain: a\n"
                  "    endpoints:\n"
                  "      - http://fast/\n"
                  "      - url: http://slow/\n"
                  "        timeout: 29s\n");
    config_unref(cfg);
    /* Too short for in-progress acks to keep the lease: refused, blaming the key. */
    EXPECT_ERROR("nats:\n  ack_wait_seconds: 2\n",
                 "t.yaml:2: nats.ack_wait_seconds: 2s is too short to keep a lease with "
                 "in-progress acks (at least 3s), and does not exceed the longest endpoint "
                 "timeout (3s) plus 2s of margin");
    EXPECT_ERROR("nats:\n  ack_wait_seconds: 0\n",
                 "t.yaml:2: nats.ack_wait_seconds: must be greater than 0");
    EXPECT_ERROR(
        "nats:\n  ack_wait_seconds: 30\n  consumer:\n    ack_wait: 30s\n",
        "t.yaml:4: nats.consumer.ack_wait: already set at line 2 as nats.ack_wait_seconds");
}

static void test_delivery_rules(void)
{
    EXPECT_ERROR("delivery:\n  timeout: 0s\n",
                 "t.yaml:2: delivery.timeout: must be greater than 0");
    EXPECT_ERROR("delivery:\n  connect_timeout: 0\n",
                 "t.yaml:2: delivery.connect_timeout: must be greater than 0");
    EXPECT_ERROR("delivery:\n  connect_timeout: 5s\n",
                 "t.yaml:2: delivery.connect_timeout: 5s must not exceed delivery.timeout (3s)");
    EXPECT_ERROR("delivery:\n  timeout: 500ms\n",
                 "t.yaml:2: delivery.connect_timeout: 1s must not exceed delivery.timeout (500ms)");
    EXPECT_ERROR("delivery:\n  max_concurrent: 0\n",
                 "t.yaml:2: delivery.max_concurrent: 0 is out of range (1..10000)");
    EXPECT_ERROR("delivery:\n  max_concurrent: 10001\n",
                 "t.yaml:2: delivery.max_concurrent: 10001 is out of range");
    EXPECT_ERROR("delivery:\n  backoff: []\n",
                 "t.yaml:2: delivery.backoff: must list at least one delay");
    EXPECT_ERROR("delivery:\n  backoff:\n    - 1s\n    - 0s\n",
                 "t.yaml:4: delivery.backoff[1]: must be greater than 0");
    EXPECT_ERROR("delivery:\n  backoff: [1s, 5]\n",
                 "t.yaml:2: delivery.backoff[1]: a duration needs a unit");
    EXPECT_ERROR("log:\n  level: verbose\n",
                 "t.yaml:2: log.level: expected debug, info, warn or error");
    EXPECT_ERROR("delivery:\n  endpoint_max_concurrent: 0\n",
                 "t.yaml:2: delivery.endpoint_max_concurrent: 0 is out of range (1..10000)");
    EXPECT_ERROR("delivery:\n  endpoint_max_concurrent: 10001\n",
                 "t.yaml:2: delivery.endpoint_max_concurrent: 10001 is out of range");
    EXPECT_ERROR("delivery:\n  max_retry_age: 0\n",
                 "t.yaml:2: delivery.max_retry_age: must be greater than 0");
    EXPECT_ERROR("delivery:\n  max_retry_age: 24\n",
                 "t.yaml:2: delivery.max_retry_age: a duration needs a unit");
    /* Against the stream's max_age: the line of whichever was written. */
    EXPECT_ERROR("nats:\n  stream:\n    max_age: 12h\n",
                 "t.yaml:3: delivery.max_retry_age: 1d must not exceed nats.stream.max_age (12h)");
    EXPECT_ERROR("delivery:\n  max_retry_age: 8d\n",
                 "t.yaml:2: delivery.max_retry_age: 8d must not exceed nats.stream.max_age (7d)");
    EXPECT_ERROR("delivery:\n  breaker:\n    failures: 1001\n",
                 "t.yaml:3: delivery.breaker.failures: 1001 is out of range (0..1000)");
    EXPECT_ERROR("delivery:\n  breaker:\n    failures: -1\n",
                 "t.yaml:3: delivery.breaker.failures: -1 is out of range");
    EXPECT_ERROR("delivery:\n  breaker:\n    cooldown: 0s\n",
                 "t.yaml:3: delivery.breaker.cooldown: must be greater than 0");
    EXPECT_ERROR("delivery:\n  breaker:\n    max_cooldown: 2s\n",
                 "t.yaml:3: delivery.breaker.max_cooldown: 2s must not be shorter than "
                 "delivery.breaker.cooldown (5s)");
    EXPECT_ERROR("delivery:\n  breaker:\n    cooldown: 10m\n",
                 "t.yaml:3: delivery.breaker.max_cooldown: 5m must not be shorter than "
                 "delivery.breaker.cooldown (10m)");
    EXPECT_ERROR("delivery:\n  breaker: 5\n",
                 "t.yaml:2: delivery.breaker: expected a mapping, got a string");
    EXPECT_ERROR("delivery:\n  breaker:\n    failure: 5\n",
                 "t.yaml:3: delivery.breaker.failure: unknown key (did you mean \"failures\"?)");
    EXPECT_ERROR("delivery:\n  retry_window: 0\n",
                 "t.yaml:2: delivery.retry_window: 0 is out of range (1..65536)");
    EXPECT_ERROR("delivery:\n  retry_window: 65537\n",
                 "t.yaml:2: delivery.retry_window: 65537 is out of range");
    struct config *cfg = LOAD_OK("nats:\n"
                                 "  stream: {max_age: 0}\n"
                                 "delivery:\n"
                                 "  endpoint_max_concurrent: 10000\n"
                                 "  max_retry_age: 90d\n"
                                 "  breaker:\n"
                                 "    failures: 0\n"
                                 "    cooldown: 1s\n"
                                 "    max_cooldown: 1s\n"
                                 "  retry_window: 65536\n");
    if (cfg) {
        CHECK_INT(cfg->delivery.endpoint_max_concurrent, 10000);
        CHECK_INT(cfg->delivery.max_retry_age_ms, 90LL * 86400 * 1000);
        CHECK_INT(cfg->delivery.breaker_failures, 0);
        CHECK_INT(cfg->delivery.breaker_cooldown_ms, 1000);
        CHECK_INT(cfg->delivery.breaker_max_cooldown_ms, 1000);
        CHECK_INT(cfg->delivery.retry_window, 65536);
    }
    config_unref(cfg);
    cfg = LOAD_OK("nats:\n  stream: {max_age: 1d}\ndelivery:\n  breaker: {max_cooldown: 1h}\n");
    if (cfg) {
        CHECK_INT(cfg->delivery.max_retry_age_ms, cfg->nats.max_age_ms); /* equal is fine */
        CHECK_INT(cfg->delivery.breaker_max_cooldown_ms, 3600000);
        CHECK_INT(cfg->delivery.breaker_failures, 5);
    }
    config_unref(cfg);
    cfg = LOAD_OK("delivery:\n  backoff: [250ms, 1m30s]\nlog:\n  level: warning\n");
    if (cfg) {
        CHECK_INT(cfg->delivery.backoff_count, 2);
        CHECK_INT(cfg->delivery.backoff_ms[1], 90000);
        CHECK_STR(cfg->log.level, "warning");
    }
    config_unref(cfg);
}

static void test_route_rules(void)
{
    EXPECT_ERROR("routes:\n  - domain: \"\"\n    endpoints: [http://a/]\n",
                 "t.yaml:2: routes[0].domain: must not be empty");
    EXPECT_ERROR("routes:\n  - domain: \"a b\"\n    endpoints: [http://a/]\n",
                 "t.yaml:2: routes[0].domain: \"a b\" is not a valid domain");
    /* Control characters of a quoted value are escaped: one line per message. */
    EXPECT_ERROR("routes:\n  - domain: \"a\\nb\\u0001\"\n    endpoints: [http://a/]\n",
                 "t.yaml:2: routes[0].domain: \"a\\nb\\x01\" is not a valid domain");
    EXPECT_ERROR("routes:\n  - domain: e.com\n\n      endpoints\n",
                 "t.yaml:2: routes[0].domain: \"e.com\\nendpoints\" is not a valid domain");
    EXPECT_ERROR("\"ser\\tver\": 1\nroutes: []\n", "t.yaml:1: ser\\tver: unknown key");
    EXPECT_ERROR("routes:\n  - endpoints: [http://a/]\n",
                 "t.yaml:2: routes[0]: missing required key \"domain\"");
    EXPECT_ERROR("routes:\n  - domain: a\n",
                 "t.yaml:2: routes[0]: missing required key \"endpoints\"");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints: []\n",
                 "t.yaml:3: routes[0].endpoints: must list at least one endpoint");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints: http://a/\n",
                 "t.yaml:3: routes[0].endpoints: expected a list");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints:\n      - http://a/\n      - ftp://b/\n",
                 "t.yaml:5: routes[0].endpoints[1]: not an http(s) URL");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints: [\"http:///x\"]\n",
                 "t.yaml:3: routes[0].endpoints[0]: URL has no host");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints: [\"http://h:99999/\"]\n",
                 "t.yaml:3: routes[0].endpoints[0]: URL has an invalid port");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints: [\"http://h/a b\"]\n",
                 "t.yaml:3: routes[0].endpoints[0]: URL must not contain spaces");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints:\n      - timeout: 1s\n",
                 "t.yaml:4: routes[0].endpoints[0]: missing required key \"url\"");
    EXPECT_ERROR(
        "routes:\n  - domain: a\n    endpoints:\n      - url: http://a/\n        timeout: 0s\n",
        "t.yaml:4: routes[0].endpoints[0].timeout: must be greater than 0");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints:\n      - url: http://a/\n        "
                 "headers:\n          \"Bad Name\": x\n",
                 "t.yaml:6: routes[0].endpoints[0].headers.Bad Name: not a valid header name");
    EXPECT_ERROR(
        "routes:\n  - domain: a\n    endpoints:\n      - url: http://a/\n        headers:\n        "
        "  X-A: \"a\\r\\nInjected: 1\"\n",
        "t.yaml:6: routes[0].endpoints[0].headers.X-A: header value must not contain CR or LF");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints:\n      - url: http://a/\n        "
                 "headers:\n          X-A: 1\n          x-a: 2\n",
                 "t.yaml:7: routes[0].endpoints[0].headers.x-a: duplicate key (first at line 6)");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints:\n      - url: http://a/\n        headers: "
                 "{Content-Length: 5}\n",
                 "t.yaml:5: routes[0].endpoints[0].headers.Content-Length: is set by eventhub");
    EXPECT_ERROR(
        "routes:\n  - domain: a\n    endpoints:\n      - url: http://a/\n        tiemout: 1s\n",
        "t.yaml:5: routes[0].endpoints[0].tiemout: unknown key (did you mean \"timeout\"?)");
    EXPECT_ERROR(
        "routes:\n"
        "  - domain: Tenant.example\n"
        "    endpoints: [http://a/]\n"
        "  - domain: tenant.EXAMPLE\n"
        "    endpoints: [http://b/]\n",
        "t.yaml:4: routes[1].domain: duplicate domain \"tenant.EXAMPLE\" (first at line 2)");
    EXPECT_ERROR("routes:\n"
                 "  - domain: \"*\"\n"
                 "    endpoints: [http://a/]\n"
                 "  - domain: default\n"
                 "    endpoints: [http://b/]\n",
                 "t.yaml:4: routes[1].domain: a second default route");
    EXPECT_ERROR("routes: {domain: a}\n",
                 "t.yaml:1: routes: expected a list of routes, got a mapping");
}

static void test_lookup(void)
{
    struct config *cfg = LOAD_OK("routes:\n"
                                 "  - domain: Tenant1.Example.com\n"
                                 "    endpoints: [http://a/]\n"
                                 "  - domain: default\n"
                                 "    endpoints: [http://default/]\n"
                                 "  - domain: b.example\n"
                                 "    endpoints: [http://b/]\n");
    if (cfg) {
        CHECK(config_find_route(cfg, "tenant1.example.com") == &cfg->routes[0]);
        CHECK(config_find_route(cfg, "TENANT1.EXAMPLE.COM") == &cfg->routes[0]);
        CHECK(config_find_route(cfg, "B.Example") == &cfg->routes[2]);
        CHECK(cfg->default_route == &cfg->routes[1]);
        CHECK(cfg->routes[1].is_default);
        CHECK_STR(cfg->routes[1].domain, "*");
        CHECK(config_find_route(cfg, "unknown.example") == cfg->default_route);
        CHECK(config_find_route(cfg, "tenant1.example.co") == cfg->default_route);
        CHECK(config_find_route(cfg, NULL) == cfg->default_route);
        CHECK(config_find_route(cfg, "") == cfg->default_route);
    }
    config_unref(cfg);

    /* Many routes: every one is found, and probing ends on misses. */
    size_t cap = 1 << 20, len = 0;
    char *yaml = malloc(cap);
    len += (size_t)snprintf(yaml + len, cap - len, "routes:\n");
    for (int i = 0; i < 2000; i++)
        len += (size_t)snprintf(yaml + len, cap - len,
                                "  - domain: d%d.example\n    endpoints: [http://h%d/]\n", i, i);
    cfg = LOAD_OK(yaml);
    free(yaml);
    if (cfg) {
        int found = 0;
        for (int i = 0; i < 2000; i++) {
            char d[32];
            snprintf(d, sizeof d, "D%d.EXAMPLE", i);
            const struct route *r = config_find_route(cfg, d);
            found += r == &cfg->routes[i];
        }
        CHECK_INT(found, 2000);
        CHECK(config_find_route(cfg, "d2000.example") == NULL);
    }
    config_unref(cfg);
}

static void test_schema_errors(void)
{
    EXPECT_ERROR("server:\n  port: abc\n",
                 "t.yaml:2: server.port: expected an integer, got \"abc\"");
    EXPECT_ERROR("server:\n  port: 80.5\n", "t.yaml:2: server.port: expected an integer");
    EXPECT_ERROR("server:\n  port: [1]\n", "t.yaml:2: server.port: expected a string, got a list");
    EXPECT_ERROR("server:\n  port: 99999999999\n",
                 "t.yaml:2: server.port: 99999999999 is out of range");
    EXPECT_ERROR("server: 8080\n", "t.yaml:1: server: expected a mapping, got a string");
    EXPECT_ERROR("log:\n  domain_logging: maybe\n",
                 "t.yaml:2: log.domain_logging: expected true or false");
    EXPECT_ERROR("delivery:\n  timeout: 3\n",
                 "t.yaml:2: delivery.timeout: a duration needs a unit, e.g. \"3s\"");
    EXPECT_ERROR("delivery:\n  timeout: 3 s\n", "t.yaml:2: delivery.timeout: expected a duration");
    EXPECT_ERROR("nats:\n  ack_wait_seconds: ten\n",
                 "t.yaml:2: nats.ack_wait_seconds: expected a duration");
    EXPECT_ERROR("nats:\n  strem_name: x\n",
                 "t.yaml:2: nats.strem_name: unknown key (did you mean \"stream_name\"?)");
    EXPECT_ERROR("\n\nfoo: 1\n", "t.yaml:3: foo: unknown key");
    EXPECT_ERROR("server:\n  port: 1\n  port: 2\n",
                 "t.yaml:3: server.port: duplicate key (first at line 2)");
    EXPECT_ERROR("nats:\n  stream_name: A\n  stream:\n    name: B\n",
                 "t.yaml:4: nats.stream.name: already set at line 2 as nats.stream_name");
    EXPECT_ERROR("- a\n- b\n", "t.yaml:1: the top level must be a mapping");
    EXPECT_ERROR("log:\n  dir: \"a\\0b\"\n", "t.yaml:2: log.dir: contains a NUL character");
    /* YAML syntax errors carry libyaml's problem and line. */
    EXPECT_ERROR("server:\n  port: 8080\n  address: a: b\n",
                 "t.yaml:3: YAML syntax error: mapping values are not allowed");
    EXPECT_ERROR("server:\n  port: 8080\n\n routes: x\n", "t.yaml:4: YAML syntax error:");
    EXPECT_ERROR("nats:\n  url: \"unterminated\n",
                 "t.yaml:3: YAML syntax error: found unexpected end of stream");
    EXPECT_ERROR("a: *nowhere\n", "t.yaml:1: YAML syntax error: found undefined alias");
    EXPECT_ERROR("server: {}\n---\nnats: {}\n", "t.yaml:3: only one YAML document is allowed");
    EXPECT_ERROR("log:\n  dir: \"\xff\"\n", "t.yaml:2: YAML error: invalid leading UTF-8 octet");

    /* All errors are reported, in line order. */
    char *errors = NULL;
    struct config *cfg = load("server:\n"
                              "  port: 70000\n"
                              "nats:\n"
                              "  bogus: 1\n"
                              "  stream:\n"
                              "    replicas: 9\n",
                              &errors);
    CHECK(cfg == NULL);
    CHECK_STR(errors, "t.yaml:2: server.port: 70000 is out of range (0..65535)\n"
                      "t.yaml:4: nats.bogus: unknown key\n"
                      "t.yaml:6: nats.stream.replicas: 9 is out of range (1..5)");
    free(errors);

    /* An alias cycle neither loops nor leaks. */
    EXPECT_ERROR("server: &s\n  x: *s\n", "t.yaml:2: server.x: unknown key");

    errors = NULL;
    cfg = config_load(FIXTURES_DIR "/does-not-exist.yaml", &errors);
    CHECK(cfg == NULL);
    CHECK_STR(errors, FIXTURES_DIR "/does-not-exist.yaml: cannot read: No such file or directory");
    free(errors);
    CHECK(config_load(FIXTURES_DIR, NULL) == NULL); /* a directory; errors may be NULL */
}

static void test_parsers(void)
{
    static const struct {
        const char *text;
        int64_t ms;
    } durations[] = {
        {"250ms", 250},    {"3s", 3000},     {"2m", 120000},         {"1h", 3600000},
        {"7d", 604800000}, {"1m30s", 90000}, {"1h2m3s4ms", 3723004}, {"0", 0},
        {"0s", 0},         {"30s1m", 90000}, {"1000ms", 1000},
    };
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        int64_t ms = -7;
        bool ok = config_parse_duration_ms(durations[i].text, &ms);
        unit_check(ok && ms == durations[i].ms, durations[i].text, __FILE__, __LINE__);
    }
    static const char *const bad_durations[] = {
        "",
        "3",
        "s",
        "3x",
        "-1s",
        "1.5s",
        " 3s",
        "3s ",
        "3S",
        "ms",
        "1m30",
        "+3s",
        "99999999999999999999s",
        "9223372036854775807d",
        "3 s",
        "1sm",
    };
    for (size_t i = 0; i < sizeof bad_durations / sizeof bad_durations[0]; i++) {
        int64_t ms = -7;
        bool ok = config_parse_duration_ms(bad_durations[i], &ms);
        unit_check(!ok && ms == -7, bad_durations[i], __FILE__, __LINE__);
    }
    CHECK(!config_parse_duration_ms(NULL, &(int64_t){0}));

    static const struct {
        const char *text;
        int64_t bytes;
    } sizes[] = {
        {"1048576", 1048576}, {"512KB", 524288},   {"1MB", 1048576},  {"1MiB", 1048576},
        {"10GB", 10LL << 30}, {"1kb", 1024},       {"2 MB", 2097152}, {"0", 0},
        {"3k", 3072},         {"1TiB", 1LL << 40}, {"7B", 7},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int64_t bytes = -7;
        bool ok = config_parse_size(sizes[i].text, &bytes);
        unit_check(ok && bytes == sizes[i].bytes, sizes[i].text, __FILE__, __LINE__);
    }
    static const char *const bad_sizes[] = {
        "",      "MB", "1.5MB", "-1", "1XB", "1MBs", " 1MB", "99999999999999999999", "8589934592GB",
        "1 M B",
    };
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        int64_t bytes = -7;
        bool ok = config_parse_size(bad_sizes[i], &bytes);
        unit_check(!ok && bytes == -7, bad_sizes[i], __FILE__, __LINE__);
    }
    CHECK(!config_parse_size(NULL, &(int64_t){0}));

    char buf[32];
    cfg_format_duration(90000, buf, sizeof buf);
    CHECK_STR(buf, "1m30s");
    cfg_format_duration(1500, buf, sizeof buf);
    CHECK_STR(buf, "1s500ms");
    cfg_format_duration(0, buf, sizeof buf);
    CHECK_STR(buf, "0s");
}

/* esl: --------------------------------------------------------------------------------- */

static const char *const default_esl_events[] = {
    "CHANNEL_CREATE", "CHANNEL_PROGRESS",        "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_ANSWER", "CHANNEL_BRIDGE",          "CHANNEL_UNBRIDGE",
    "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "HEARTBEAT",
};

/* Every field of an esl: item but name and host (which have no default). */
static void check_esl_defaults(const struct esl_node *e)
{
    CHECK_INT(e->port, 8021);
    CHECK_STR(e->password, "ClueCon");
    CHECK_INT(e->event_count, 9);
    for (size_t i = 0; i < e->event_count && i < 9; i++)
        CHECK_STR(e->events[i], default_esl_events[i]);
    CHECK_INT(e->filter_count, 0);
    CHECK(e->filters == NULL);
    CHECK_INT(e->format, ESL_FORMAT_PLAIN);
    CHECK_INT(e->publish, ESL_PUBLISH_SIGNALS);
    CHECK(e->default_domain == NULL);
    CHECK_INT(e->reconnect_initial_ms, 1000);
    CHECK_INT(e->reconnect_max_ms, 30000);
    CHECK_INT(e->heartbeat_timeout_ms, 60000);
    CHECK_INT(e->connect_timeout_ms, 5000);
    CHECK_INT(e->max_frame_bytes, 4 * 1024 * 1024);
    CHECK_INT(e->buffer_events, 10000);
    CHECK(e->logs == NULL);
}

static void test_esl_nodes(void)
{
    struct config *cfg = LOAD_OK("esl:\n  - name: fs1\n    host: 10.0.0.5\n");
    CHECK(cfg && cfg->esl_node_count == 1);
    if (cfg && cfg->esl_node_count == 1) {
        const struct esl_node *e = &cfg->esl_nodes[0];
        CHECK_STR(e->name, "fs1");
        CHECK_STR(e->host, "10.0.0.5");
        CHECK_INT(e->line, 2);
        check_esl_defaults(e);
    }
    config_unref(cfg);

    /* Absent, null and empty: no node. */
    static const char *const none[] = {"esl:\n", "esl: []\n", "esl: ~\n"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        cfg = LOAD_OK(none[i]);
        if (cfg)
            CHECK(cfg->esl_node_count == 0 && cfg->esl_nodes == NULL);
        config_unref(cfg);
    }

    setenv("EH_TEST_ESL_PW", "s3cret pass", 1);
    cfg = LOAD_OK("esl:\n"
                  "  - name: fs_1-A\n"
                  "    host: fs1.example.net\n"
                  "    port: 8022\n"
                  "    password: \"${EH_TEST_ESL_PW}\"\n"
                  "    events: [CHANNEL_ANSWER, \"CUSTOM sofia::register sofia::unregister\",\n"
                  "             HEARTBEAT]\n"
                  "    filters:\n"
                  "      - variable_domain_name example.com\n"
                  "      - Caller-Caller-ID-Name John Doe\n"
                  "    format: JSON\n"
                  "    publish: both\n"
                  "    default_domain: PBX.example.com\n"
                  "    reconnect: {initial: 250ms, max: 2m}\n"
                  "    heartbeat_timeout: 30s\n"
                  "    connect_timeout: 2s\n"
                  "    max_frame_bytes: 64KiB\n"
                  "    buffer_events: 10000000\n"
                  "    logs: warning\n"
                  "  - {name: fs2, host: \"::1\", publish: events, events: [ALL],\n"
                  "     max_frame_bytes: 1GiB, reconnect: {initial: 5s, max: 5s}}\n"
                  "  - name: fs3\n"
                  "    host: localhost\n"
                  "    publish: signals\n"
                  "    logs: \"\"\n"
                  "    default_domain:\n"
                  "    events:\n"
                  "    filters: []\n");
    unsetenv("EH_TEST_ESL_PW");
    CHECK(cfg && cfg->esl_node_count == 3);
    if (cfg && cfg->esl_node_count == 3) {
        const struct esl_node *e = &cfg->esl_nodes[0];
        CHECK_STR(e->name, "fs_1-A");
        CHECK_STR(e->host, "fs1.example.net");
        CHECK_INT(e->port, 8022);
        CHECK_STR(e->password, "s3cret pass");
        CHECK_INT(e->event_count, 3);
        if (e->event_count == 3) {
            CHECK_STR(e->events[0], "CHANNEL_ANSWER");
            CHECK_STR(e->events[1], "CUSTOM sofia::register sofia::unregister");
            CHECK_STR(e->events[2], "HEARTBEAT");
        }
        CHECK_INT(e->filter_count, 2);
        if (e->filter_count == 2) {
            CHECK_STR(e->filters[0], "variable_domain_name example.com");
            CHECK_STR(e->filters[1], "Caller-Caller-ID-Name John Doe");
        }
        CHECK_INT(e->format, ESL_FORMAT_JSON);
        CHECK_INT(e->publish, ESL_PUBLISH_BOTH);
        CHECK_STR(e->default_domain, "PBX.example.com");
        CHECK_INT(e->reconnect_initial_ms, 250);
        CHECK_INT(e->reconnect_max_ms, 120000);
        CHECK_INT(e->heartbeat_timeout_ms, 30000);
        CHECK_INT(e->connect_timeout_ms, 2000);
        CHECK_INT(e->max_frame_bytes, 64 * 1024);
        CHECK_INT(e->buffer_events, 10000000);
        CHECK_STR(e->logs, "warning");
        CHECK_INT(e->line, 2);

        e = &cfg->esl_nodes[1];
        CHECK_STR(e->host, "::1");
        CHECK_INT(e->publish, ESL_PUBLISH_EVENTS);
        CHECK_INT(e->event_count, 1); /* ALL includes HEARTBEAT: nothing added */
        CHECK_STR(e->events[0], "ALL");
        CHECK_INT(e->max_frame_bytes, 1024 * 1024 * 1024);
        CHECK_INT(e->reconnect_initial_ms, 5000); /* initial == max is fine */
        CHECK_INT(e->line, 20);

        e = &cfg->esl_nodes[2];
        CHECK_STR(e->name, "fs3");
        CHECK_STR(e->host, "localhost");
        check_esl_defaults(e); /* null and empty values keep the defaults */
    }
    config_unref(cfg);

    /* Host names and IP literals. */
    static const char *const hosts[] = {"fe80::1", "192.0.2.7", "a", "fs-1.example.com",
                                        "x1.123abc"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, "esl:\n  - name: fs1\n    host: \"%s\"\n", hosts[i]);
        config_unref(LOAD_OK(yaml));
    }
}

static void test_esl_rules(void)
{
    /* The contract's example. */
    EXPECT_ERROR("esl:\n  - name: fs1\n    host: h\n    port: 70000\n",
                 "t.yaml:4: esl[0].port: 70000 is out of range (1..65535)");
    EXPECT_ERROR("esl:\n  - name: fs1\n    host: h\n    port: 0\n",
                 "t.yaml:4: esl[0].port: 0 is out of range (1..65535)");
    EXPECT_ERROR("esl:\n  - name: fs1\n    host: h\n    port: http\n",
                 "t.yaml:4: esl[0].port: expected an integer, got \"http\"");

    /* Shapes. */
    EXPECT_ERROR("esl: {name: a}\n",
                 "t.yaml:1: esl: expected a list of FreeSWITCH servers, got a mapping");
    EXPECT_ERROR("esl:\n  - fs1\n",
                 "t.yaml:2: esl[0]: expected a mapping {name, host, ...}, got a string");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n  -\n",
                 "t.yaml:4: esl[1]: expected a mapping {name, host, ...}, got nothing");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    hots: x\n",
                 "t.yaml:4: esl[0].hots: unknown key (did you mean \"host\"?)");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    name: b\n",
                 "t.yaml:4: esl[0].name: duplicate key (first at line 2)");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    reconnect: 5s\n",
                 "t.yaml:4: esl[0].reconnect: expected a mapping, got a string");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    reconnect:\n      mx: 5s\n",
                 "t.yaml:5: esl[0].reconnect.mx: unknown key (did you mean \"max\"?)");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    password: ${EH_TEST_MISSING}\n",
                 "t.yaml:4: esl[0].password: environment variable EH_TEST_MISSING is not set");

    /* name and host. */
    EXPECT_ERROR("esl:\n  - host: h\n", "t.yaml:2: esl[0]: missing required key \"name\"");
    EXPECT_ERROR("esl:\n  - name:\n    host: h\n",
                 "t.yaml:2: esl[0]: missing required key \"name\"");
    EXPECT_ERROR("esl:\n  - name: a\n", "t.yaml:2: esl[0]: missing required key \"host\"");
    EXPECT_ERROR("esl:\n  - name: \"\"\n    host: h\n", "t.yaml:2: esl[0].name: must not be empty");
    EXPECT_ERROR("esl:\n  - name: fs 1\n    host: h\n",
                 "t.yaml:2: esl[0].name: \"fs 1\" must be 1..64 letters, digits, '_' or '-'");
    EXPECT_ERROR("esl:\n  - name: fs.1\n    host: h\n", "t.yaml:2: esl[0].name: \"fs.1\" must be");
    char yaml[1400];
    snprintf(yaml, sizeof yaml, "esl:\n  - name: %s\n    host: h\n", RUN_OF_65);
    EXPECT_ERROR(yaml, "t.yaml:2: esl[0].name: \"" RUN_OF_65 "\" must be 1..64");
    snprintf(yaml, sizeof yaml, "esl:\n  - name: %.64s\n    host: h\n", RUN_OF_65);
    config_unref(LOAD_OK(yaml));
    EXPECT_ERROR("esl:\n"
                 "  - name: fs1\n"
                 "    host: a\n"
                 "  - name: fs2\n"
                 "    host: b\n"
                 "  - host: c\n"
                 "    name: FS1\n",
                 "t.yaml:7: esl[2].name: duplicate name \"FS1\" (first at line 2)");
    EXPECT_ERROR("esl:\n  - name: a\n    host: \"\"\n", "t.yaml:3: esl[0].host: must not be empty");
    static const char *const bad_hosts[] = {
        "a b", "[::1]", "-a.example", "a..b", "1.2.3.999", "a_b.example", "h:8021", "a.example/x"};
    for (size_t i = 0; i < sizeof bad_hosts / sizeof bad_hosts[0]; i++) {
        char want[128];
        snprintf(yaml, sizeof yaml, "esl:\n  - name: a\n    host: \"%s\"\n", bad_hosts[i]);
        snprintf(want, sizeof want,
                 "t.yaml:3: esl[0].host: \"%s\" is not a host name or IP address", bad_hosts[i]);
        EXPECT_ERROR(yaml, want);
    }

    /* password: never echoed. */
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    password: \"\"\n",
                 "t.yaml:4: esl[0].password: must not be empty");
    char *errors = NULL;
    CHECK(load("esl:\n  - name: a\n    host: h\n    password: \"pw\\r\\nauth x\"\n", &errors) ==
          NULL);
    CHECK_STR(errors,
              "t.yaml:4: esl[0].password: must not contain CR, LF or other control characters");
    free(errors);
    snprintf(yaml, sizeof yaml, "esl:\n  - name: a\n    host: h\n    password: %.513s\n",
             RUN_OF_1025);
    EXPECT_ERROR(yaml, "t.yaml:4: esl[0].password: must be at most 512 characters");
    snprintf(yaml, sizeof yaml, "esl:\n  - name: a\n    host: h\n    password: %.512s\n",
             RUN_OF_1025);
    config_unref(LOAD_OK(yaml));

    /* events */
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    events: []\n",
                 "t.yaml:4: esl[0].events: must list at least one event (leave events out for "
                 "the default list)");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    events: ALL\n",
                 "t.yaml:4: esl[0].events: expected a list of strings, got a string");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    events: [[ALL]]\n",
                 "t.yaml:4: esl[0].events[0]: expected a string, got a list");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    events: [HEARTBEAT, \"\"]\n",
                 "t.yaml:4: esl[0].events[1]: must not be empty");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    events:\n      - HEARTBEAT\n"
                 "      - channel_answer\n",
                 "t.yaml:6: esl[0].events[1]: \"channel_answer\" is not a FreeSWITCH event name");
    EXPECT_ERROR(
        "esl:\n  - name: a\n    host: h\n    events: [\"CHANNEL_ANSWER CHANNEL_HANGUP\"]\n",
        "t.yaml:4: esl[0].events[0]: \"CHANNEL_ANSWER CHANNEL_HANGUP\" is not a "
        "FreeSWITCH event name");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    events: [\"CUSTOM  sofia::register\"]\n",
                 "t.yaml:4: esl[0].events[0]: \"CUSTOM  sofia::register\" is not a CUSTOM "
                 "subscription");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    events: [\"CUSTOM \"]\n",
                 "t.yaml:4: esl[0].events[0]: \"CUSTOM \" is not a CUSTOM subscription");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    events: [\"CUSTOM sofia/register\"]\n",
                 "t.yaml:4: esl[0].events[0]: \"CUSTOM sofia/register\" has an invalid subclass");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    events:\n      - HEARTBEAT\n"
                 "      - CHANNEL_ANSWER\n      - HEARTBEAT\n",
                 "t.yaml:7: esl[0].events[2]: duplicate \"HEARTBEAT\" (first at line 5)");

    /* filters */
    static const struct {
        const char *filter, *want;
    } bad_filters[] = {
        {"Event-Name", "\"Event-Name\" is not \"Header value\""},
        {" Event-Name X", "\" Event-Name X\" is not \"Header value\""},
        {"Event:Name X", "\"Event:Name X\" has an invalid header name"},
        {"delete Event-Name", "\"delete Event-Name\" is not a filter (\"filter delete\""},
        {"Event-Name   ", "\"Event-Name   \" has no value"},
        {"Event-Name X\\r\\nauth y", "esl[0].filters[0]: must not contain CR or LF"},
        {"Event-Name \\tX", "esl[0].filters[0]: must not contain control characters"},
    };
    for (size_t i = 0; i < sizeof bad_filters / sizeof bad_filters[0]; i++) {
        char want[128];
        snprintf(yaml, sizeof yaml, "esl:\n  - name: a\n    host: h\n    filters: [\"%s\"]\n",
                 bad_filters[i].filter);
        snprintf(want, sizeof want, "t.yaml:4: esl[0].filters[0]: %s",
                 strchr(bad_filters[i].want, '"') == bad_filters[i].want
                     ? bad_filters[i].want
                     : bad_filters[i].want + strlen("esl[0].filters[0]: "));
        EXPECT_ERROR(yaml, want);
    }
    snprintf(yaml, sizeof yaml, "esl:\n  - name: a\n    host: h\n    filters: [\"X %s\"]\n",
             &RUN_OF_1025[3]); /* 1 + 1 + 1022 = 1024: fits */
    config_unref(LOAD_OK(yaml));
    snprintf(yaml, sizeof yaml, "esl:\n  - name: a\n    host: h\n    filters: [\"X %s\"]\n",
             &RUN_OF_1025[2]);
    EXPECT_ERROR(yaml, "is longer than 1024 characters");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    filters:\n      - Event-Name X\n"
                 "      - Event-Name X\n",
                 "t.yaml:6: esl[0].filters[1]: duplicate \"Event-Name X\" (first at line 5)");

    /* The other keys. */
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    format: xml\n",
                 "t.yaml:4: esl[0].format: expected plain or json, got \"xml\"");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    publish: all\n",
                 "t.yaml:4: esl[0].publish: expected signals, events or both, got \"all\"");
    static const char *const bad_domains[] = {"10.0.0.1",   "a_b.example",  "-a.example",
                                              "a..example", "example.com.", "::1"};
    for (size_t i = 0; i < sizeof bad_domains / sizeof bad_domains[0]; i++) {
        char want[128];
        snprintf(yaml, sizeof yaml, "esl:\n  - name: a\n    host: h\n    default_domain: \"%s\"\n",
                 bad_domains[i]);
        snprintf(want, sizeof want, "t.yaml:4: esl[0].default_domain: \"%s\" is not a host name",
                 bad_domains[i]);
        EXPECT_ERROR(yaml, want);
    }
    /* 63-character labels are fine, 64 are not; 253 characters in all at most. */
    snprintf(yaml, sizeof yaml, "esl:\n  - name: a\n    host: h\n    default_domain: %.63s.com\n",
             RUN_OF_65);
    config_unref(LOAD_OK(yaml));
    snprintf(yaml, sizeof yaml, "esl:\n  - name: a\n    host: h\n    default_domain: %.64s.com\n",
             RUN_OF_65);
    EXPECT_ERROR(yaml, "t.yaml:4: esl[0].default_domain:");
    snprintf(yaml, sizeof yaml,
             "esl:\n  - name: a\n    host: h\n    default_domain: %.63s.%.63s.%.63s.%.61s\n",
             RUN_OF_65, RUN_OF_65, RUN_OF_65, RUN_OF_65);
    config_unref(LOAD_OK(yaml)); /* 253 */
    snprintf(yaml, sizeof yaml,
             "esl:\n  - name: a\n    host: h\n    default_domain: %.63s.%.63s.%.63s.%.62s\n",
             RUN_OF_65, RUN_OF_65, RUN_OF_65, RUN_OF_65);
    EXPECT_ERROR(yaml, "t.yaml:4: esl[0].default_domain:"); /* 254 */

    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    reconnect:\n      initial: 40s\n",
                 "t.yaml:5: esl[0].reconnect.initial: 40s must not exceed esl[0].reconnect.max "
                 "(30s)");
    /* initial kept its default: the canonical key, on the line of max. */
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    reconnect: {max: 500ms}\n",
                 "t.yaml:4: esl[0].reconnect.initial: 1s must not exceed esl[0].reconnect.max "
                 "(500ms)");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    reconnect:\n      initial: 0s\n",
                 "t.yaml:5: esl[0].reconnect.initial: must be greater than 0");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    reconnect:\n      max: 0\n",
                 "t.yaml:5: esl[0].reconnect.max: must be greater than 0");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    heartbeat_timeout: 999ms\n",
                 "t.yaml:4: esl[0].heartbeat_timeout: must be at least 1s");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    heartbeat_timeout: 60\n",
                 "t.yaml:4: esl[0].heartbeat_timeout: a duration needs a unit");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    connect_timeout: 0\n",
                 "t.yaml:4: esl[0].connect_timeout: must be greater than 0");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    max_frame_bytes: 65535\n",
                 "t.yaml:4: esl[0].max_frame_bytes: 65535 is out of range (65536..1073741824)");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    max_frame_bytes: 2GiB\n",
                 "t.yaml:4: esl[0].max_frame_bytes: 2147483648 is out of range");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    max_frame_bytes: 4 MBs\n",
                 "t.yaml:4: esl[0].max_frame_bytes: expected a size");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    buffer_events: 0\n",
                 "t.yaml:4: esl[0].buffer_events: 0 is out of range (1..10000000)");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    buffer_events: 10000001\n",
                 "t.yaml:4: esl[0].buffer_events: 10000001 is out of range (1..10000000)");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    logs: emerg\n",
                 "t.yaml:4: esl[0].logs: expected debug, info, notice, warning, err, crit or "
                 "alert, got \"emerg\"");
    EXPECT_ERROR("esl:\n  - name: a\n    host: h\n    logs: WARNING\n",
                 "t.yaml:4: esl[0].logs: expected debug");

    /* At most CFG_MAX_ESL_NODES. */
    size_t cap = 64 * 1024, len = 0;
    char *big = malloc(cap);
    len += (size_t)snprintf(big + len, cap - len, "esl:\n");
    for (int i = 0; i <= CFG_MAX_ESL_NODES; i++)
        len += (size_t)snprintf(big + len, cap - len, "  - {name: n%d, host: h}\n", i);
    EXPECT_ERROR(big, "t.yaml:2: esl: too many servers (at most 1000)");
    free(big);

    /* Every error, in line order, and the other nodes still checked. */
    errors = NULL;
    CHECK(load("esl:\n"
               "  - name: fs1\n"
               "    host: \"bad host\"\n"
               "    port: 0\n"
               "  - name: fs1\n"
               "    reconnect:\n"
               "      initial: 1m\n"
               "calls:\n"
               "  bucket: \"a.b\"\n",
               &errors) == NULL);
    CHECK_STR(errors,
              "t.yaml:3: esl[0].host: \"bad host\" is not a host name or IP address\n"
              "t.yaml:4: esl[0].port: 0 is out of range (1..65535)\n"
              "t.yaml:5: esl[1]: missing required key \"host\"\n"
              "t.yaml:5: esl[1].name: duplicate name \"fs1\" (first at line 2)\n"
              "t.yaml:7: esl[1].reconnect.initial: 1m must not exceed esl[1].reconnect.max (30s)\n"
              "t.yaml:9: calls.bucket: \"a.b\" is not a key-value bucket name (letters, digits, "
              "'_', '-')");
    free(errors);
}

static void test_esl_warnings(void)
{
    struct config *cfg = NULL;
    char *errors = NULL;
    char *logged = load_logged("esl:\n"
                               "  - name: fs1\n"
                               "    host: h\n"
                               "    events:\n"
                               "      - CHANNEL_ANSWER\n"
                               "      - \"CUSTOM sofia::register\"\n",
                               &cfg, &errors);
    CHECK(cfg != NULL && errors == NULL);
    /* A block list starts at its first item. */
    CHECK(logged && strstr(logged, "t.yaml:5: esl[0].events: HEARTBEAT added (the connection "
                                   "watchdog needs it)"));
    CHECK(logged && strstr(logged, "\"level\":\"warn\""));
    CHECK(logged && strstr(logged, "\"subsystem\":\"config\""));
    if (cfg && cfg->esl_nodes[0].event_count == 3) {
        CHECK_STR(cfg->esl_nodes[0].events[0], "CHANNEL_ANSWER");
        CHECK_STR(cfg->esl_nodes[0].events[1], "CUSTOM sofia::register");
        CHECK_STR(cfg->esl_nodes[0].events[2], "HEARTBEAT");
    } else {
        CHECK(!"HEARTBEAT appended");
    }
    config_unref(cfg);
    free(errors);
    free(logged);

    /* No warning, nothing added: HEARTBEAT or ALL already there, or the default list. */
    static const struct {
        const char *yaml;
        size_t events;
    } quiet[] = {
        {"esl:\n  - {name: a, host: h, events: [CHANNEL_ANSWER, HEARTBEAT]}\n", 2},
        {"esl:\n  - {name: a, host: h, events: [ALL]}\n", 1},
        {"esl:\n  - {name: a, host: h, heartbeat_timeout: 25s}\n", 9},
    };
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
        cfg = NULL;
        errors = NULL;
        logged = load_logged(quiet[i].yaml, &cfg, &errors);
        CHECK(cfg != NULL && errors == NULL);
        CHECK(logged && !strstr(logged, "esl[0]"));
        if (cfg)
            CHECK_INT(cfg->esl_nodes[0].event_count, quiet[i].events);
        config_unref(cfg);
        free(errors);
        free(logged);
    }

    /* A heartbeat timeout under 25s loads, with a warning naming its line. */
    cfg = NULL;
    errors = NULL;
    logged =
        load_logged("esl:\n  - name: a\n    host: h\n    heartbeat_timeout: 10s\n", &cfg, &errors);
    CHECK(cfg != NULL && errors == NULL);
    CHECK(logged && strstr(logged, "t.yaml:4: esl[0].heartbeat_timeout: 10s is shorter than 25s"));
    if (cfg)
        CHECK_INT(cfg->esl_nodes[0].heartbeat_timeout_ms, 10000);
    config_unref(cfg);
    free(errors);
    free(logged);
}

/* api: --------------------------------------------------------------------------------- */

static void test_api(void)
{
    struct config *cfg = LOAD_OK("api:\n"
                                 "  workers: 8\n"
                                 "  max_concurrent_scans: 6\n"
                                 "  queue_timeout: 250ms\n"
                                 "  scan_timeout: 1ms\n"
                                 "  scan_max_messages: 1\n");
    if (cfg) {
        CHECK_INT(cfg->api.workers, 8);
        CHECK_INT(cfg->api.max_concurrent_scans, 6);
        CHECK_INT(cfg->api.queue_timeout_ms, 250);
        CHECK_INT(cfg->api.scan_timeout_ms, 1);
        CHECK_INT(cfg->api.scan_max_messages, 1);
    }
    config_unref(cfg);
    /* One worker is the dead-letter lane's and one stays for light requests. */
    EXPECT_ERROR("api:\n  max_concurrent_scans: 3\n",
                 "t.yaml:2: api.max_concurrent_scans: 3 must be at most api.workers - 2 (2)");
    EXPECT_ERROR("api:\n  workers: 3\n",
                 "t.yaml:2: api.max_concurrent_scans: 2 must be at most api.workers - 2 (1)");
    EXPECT_ERROR("api:\n  workers: 2\n", "t.yaml:2: api.workers: 2 is out of range (3..64)");
    EXPECT_ERROR("api:\n  scan_timeout: 0\n", "t.yaml:2: api.scan_timeout: must be greater than 0");
    EXPECT_ERROR("api:\n  scan_timeout: 11m\n", "t.yaml:2: api.scan_timeout:");
    EXPECT_ERROR("api:\n  scan_max_messages: 0\n",
                 "t.yaml:2: api.scan_max_messages: 0 is out of range (1..10000000)");
    EXPECT_ERROR("api:\n  queue_timeout: 0\n",
                 "t.yaml:2: api.queue_timeout: must be greater than 0");
}

/* calls: ------------------------------------------------------------------------------- */

static void test_calls(void)
{
    struct config *cfg = LOAD_OK("calls:\n"
                                 "  timezone: Asia/Ho_Chi_Minh\n"
                                 "  max_call_age: 90m\n"
                                 "  max_calls: 10000000\n"
                                 "  bucket: call-records_1\n"
                                 "  retention: 0\n");
    if (cfg) {
        CHECK_STR(cfg->calls.timezone, "Asia/Ho_Chi_Minh");
        CHECK_INT(cfg->calls.max_call_age_ms, 90 * 60 * 1000);
        CHECK_INT(cfg->calls.max_calls, 10000000);
        CHECK_STR(cfg->calls.bucket, "call-records_1");
        CHECK_INT(cfg->calls.retention_ms, 0);
    }
    config_unref(cfg);
    cfg = LOAD_OK("calls:\n  timezone: \"\"\n");
    if (cfg)
        CHECK(cfg->calls.timezone == NULL);
    config_unref(cfg);
    static const char *const zones[] = {"UTC", "Etc/UTC", "Etc/GMT+5", "America/Argentina/Salta"};
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        char yaml[128];
        snprintf(yaml, sizeof yaml, "calls:\n  timezone: \"%s\"\n", zones[i]);
        cfg = LOAD_OK(yaml);
        if (cfg)
            CHECK_STR(cfg->calls.timezone, zones[i]);
        config_unref(cfg);
    }

    EXPECT_ERROR("calls:\n  timezone: Mars/Olympus_Mons\n",
                 "t.yaml:2: calls.timezone: \"Mars/Olympus_Mons\" is not a known time zone (no "
                 "such file under /usr/share/zoneinfo)");
    EXPECT_ERROR("calls:\n  timezone: Asia\n",
                 "t.yaml:2: calls.timezone: \"Asia\" is not a known time zone");
    static const char *const bad_names[] = {"../../etc/passwd", "/etc/localtime",
                                            "Asia/Ho Chi Minh", "Asia/..",
                                            "Asia/Saigon\\n",   "Europe/Paris;"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        char yaml[128];
        snprintf(yaml, sizeof yaml, "calls:\n  timezone: \"%s\"\n", bad_names[i]);
        EXPECT_ERROR(yaml, "t.yaml:2: calls.timezone:");
        EXPECT_ERROR(yaml, "is not a time zone name (an IANA name such as Asia/Ho_Chi_Minh");
    }
    if (access("/usr/share/zoneinfo/leapseconds", R_OK) == 0) /* a text file, not a zone */
        EXPECT_ERROR("calls:\n  timezone: leapseconds\n",
                     "t.yaml:2: calls.timezone: \"leapseconds\" is not a time zone file");
    EXPECT_ERROR("calls:\n  max_call_age: 0\n",
                 "t.yaml:2: calls.max_call_age: must be greater than 0");
    EXPECT_ERROR("calls:\n  max_calls: 0\n",
                 "t.yaml:2: calls.max_calls: 0 is out of range (1..10000000)");
    EXPECT_ERROR("calls:\n  max_calls: 10000001\n",
                 "t.yaml:2: calls.max_calls: 10000001 is out of range (1..10000000)");
    EXPECT_ERROR("calls:\n  bucket: \"\"\n", "t.yaml:2: calls.bucket: must not be empty");

    /* The signal form and the operator-named members. */
    cfg = LOAD_OK("");
    if (cfg) {
        CHECK(!cfg->calls.typed_signals); /* seed by default */
        for (int i = 0; i < CONFIG_CALLS_FIELDS; i++)
            CHECK(cfg->calls.field_headers[i] == NULL);
    }
    config_unref(cfg);
    cfg = LOAD_OK("calls:\n"
                  "  signal_format: typed\n"
                  "  fields:\n"
                  "    network: variable_network\n"
                  "    crm_contact_id: variable_crm-contact.id\n");
    if (cfg) {
        CHECK(cfg->calls.typed_signals);
        CHECK_STR(config_calls_field_names[0], "network");
        CHECK_STR(cfg->calls.field_headers[0], "variable_network");
        CHECK(cfg->calls.field_headers[1] == NULL);
        CHECK(cfg->calls.field_headers[2] == NULL);
        CHECK_STR(config_calls_field_names[3], "crm_contact_id");
        CHECK_STR(cfg->calls.field_headers[3], "variable_crm-contact.id");
    }
    config_unref(cfg);
    EXPECT_ERROR("calls:\n  signal_format: json\n",
                 "t.yaml:2: calls.signal_format: expected seed or typed, got \"json\"");
    EXPECT_ERROR("calls:\n  fields: [network]\n",
                 "t.yaml:2: calls.fields: expected a mapping of member: header");
    EXPECT_ERROR("calls:\n  fields:\n    carrier: variable_carrier\n",
                 "t.yaml:3: calls.fields.carrier: unknown member; calls.fields names network, "
                 "provider, actual_hotline or crm_contact_id");
    EXPECT_ERROR("calls:\n  fields:\n    network: \"variable network\"\n",
                 "t.yaml:3: calls.fields.network: expected an event header name");
    EXPECT_ERROR("calls:\n  fields:\n    provider: \"x y\"\n    provider: variable_p\n",
                 "t.yaml:4: calls.fields.provider: duplicate key (first at line 3)");
    cfg = LOAD_OK("calls:\n  fields:\n    network: ~\n    provider: null\n");
    if (cfg) /* null leaves a member unset, as everywhere in the file */
        CHECK(cfg->calls.field_headers[0] == NULL && cfg->calls.field_headers[1] == NULL);
    config_unref(cfg);
    EXPECT_ERROR("calls:\n  bucket: \"KV.calls\"\n",
                 "t.yaml:2: calls.bucket: \"KV.calls\" is not a key-value bucket name");
    EXPECT_ERROR("calls:\n  bucket: \"a b\"\n",
                 "t.yaml:2: calls.bucket: \"a b\" is not a key-value bucket name");
    EXPECT_ERROR("calls:\n  retention: -1s\n", "t.yaml:2: calls.retention: expected a duration");
    EXPECT_ERROR("calls: [a]\n", "t.yaml:1: calls: expected a mapping, got a list");
    EXPECT_ERROR("calls:\n  buckt: x\n",
                 "t.yaml:2: calls.buckt: unknown key (did you mean \"bucket\"?)");
}

/* routes[].events ---------------------------------------------------------------------- */

static void test_route_kinds(void)
{
    struct config *cfg =
        LOAD_OK("routes:\n"
                "  - domain: a.example\n"
                "    endpoints: [http://a/]\n"
                "    events: [ingress, call_signal, CHANNEL_ANSWER, \"CUSTOM sofia::register\"]\n"
                "  - domain: b.example\n"
                "    endpoints: [http://b/]\n"
                "  - domain: c.example\n"
                "    endpoints: [http://c/]\n"
                "    events: ~\n"
                "  - events:\n"
                "      - ALL\n"
                "    domain: \"*\"\n"
                "    endpoints: [http://d/]\n");
    if (cfg) {
        const struct route *r = &cfg->routes[0];
        CHECK_INT(r->event_kind_count, 4);
        if (r->event_kind_count == 4) {
            CHECK_STR(r->event_kinds[0], "ingress");
            CHECK_STR(r->event_kinds[1], "call_signal");
            CHECK_STR(r->event_kinds[2], "CHANNEL_ANSWER");
            CHECK_STR(r->event_kinds[3], "CUSTOM sofia::register");
        }
        CHECK(cfg->routes[1].event_kind_count == 0 && cfg->routes[1].event_kinds == NULL);
        CHECK(cfg->routes[2].event_kind_count == 0 && cfg->routes[2].event_kinds == NULL);
        CHECK(cfg->default_route == &cfg->routes[3]);
        CHECK_INT(cfg->routes[3].event_kind_count, 1);
    }
    config_unref(cfg);

    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints: [http://a/]\n    events: []\n",
                 "t.yaml:4: routes[0].events: must list at least one kind (leave events out for "
                 "every kind)");
    EXPECT_ERROR(
        "routes:\n  - domain: a\n    endpoints: [http://a/]\n    events: [ingress, Ingress]\n",
        "t.yaml:4: routes[0].events[1]: \"Ingress\" is not an event kind: expected "
        "ingress, call_signal or a FreeSWITCH event name");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints: [http://a/]\n    events: [call-signal]\n",
                 "t.yaml:4: routes[0].events[0]: \"call-signal\" is not an event kind");
    EXPECT_ERROR("routes:\n"
                 "  - domain: a\n"
                 "    endpoints: [http://a/]\n"
                 "    events:\n"
                 "      - ingress\n"
                 "      - call_signal\n"
                 "      - ingress\n",
                 "t.yaml:7: routes[0].events[2]: duplicate \"ingress\" (first at line 5)");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints: [http://a/]\n    events: ingress\n",
                 "t.yaml:4: routes[0].events: expected a list of strings, got a string");
    EXPECT_ERROR("routes:\n  - domain: a\n    endpoints: [http://a/]\n    evnts: [ingress]\n",
                 "t.yaml:4: routes[0].evnts: unknown key (did you mean \"events\"?)");
    EXPECT_ERROR("routes:\n  - x\n",
                 "t.yaml:2: routes[0]: expected a mapping {domain, endpoints, events}, got a "
                 "string");
}

/* config.yaml.example ----------------------------------------------------------------- */

struct compare {
    const struct config *a, *b;
    int mismatches;
};

static void compare_leaf(const char *path, const struct cfg_field *f, void *arg)
{
    struct compare *c = arg;
    const char *pa = (const char *)c->a + f->offset, *pb = (const char *)c->b + f->offset;
    bool same = true;
    switch (f->type) {
    case CFG_T_STR: {
        const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;
        same = (!sa && !sb) || (sa && sb && strcmp(sa, sb) == 0);
        break;
    }
    case CFG_T_BOOL:
        same = *(const bool *)pa == *(const bool *)pb;
        break;
    case CFG_T_INT:
        same = *(const int *)pa == *(const int *)pb;
        break;
    case CFG_T_SIZE:
        same = *(const size_t *)pa == *(const size_t *)pb;
        break;
    case CFG_T_I64:
    case CFG_T_SIZE64:
    case CFG_T_DURATION:
    case CFG_T_SECONDS:
        same = *(const int64_t *)pa == *(const int64_t *)pb;
        break;
    default:
        break;
    }
    if (!same) {
        c->mismatches++;
        printf("#   example differs from the default at %s\n", path);
    }
}

/* One line of the example as YAML would read it with one level of "# " removed. */
struct example_line {
    bool live;       /* not commented out */
    bool blank;      /* nothing but spaces (and a lone '#') */
    int col;         /* column of the first character ("- " of a list item included) */
    int key_col;     /* column of the key, after any "- " and any further "# " */
    const char *key; /* "name: fs1 ..." */
};

static struct example_line example_line(const char *line)
{
    struct example_line l = {0};
    const char *s = line + strspn(line, " ");
    int shift = 0; /* what uncommenting removes: "#" and one space */
    l.live = *s != '#';
    if (!l.live) {
        shift = s[1] == ' ' ? 2 : 1;
        s += shift;
    }
    s += strspn(s, " ");
    l.blank = *s == '\n' || *s == '\0';
    l.col = (int)(s - line) - shift;
    while ((s[0] == '-' && s[1] == ' ') || *s == '#' || *s == ' ')
        s++;
    l.key_col = (int)(s - line) - shift;
    l.key = s;
    return l;
}

static const char *next_line(const char *line)
{
    const char *nl = strchr(line, '\n');
    return nl ? nl + 1 : line + strlen(line);
}

/*
 * Whether `path` ("nats.stream.name") appears in the example: each section as a key
 * (live, or commented out like the esl: block) indented deeper than its parent, the
 * leaf live or commented out inside the innermost section. A live section ends at the
 * next live line indented no deeper than its key; a commented-out one at the next line,
 * live or not, indented no deeper.
 */
static bool documented(const char *text, const char *path)
{
    char seg[64];
    const char *p = path;
    const char *lo = text, *hi = text + strlen(text);
    int parent_col = -1;
    for (;;) {
        size_t n = strcspn(p, ".");
        snprintf(seg, sizeof seg, "%.*s:", (int)n, p);
        const char *found = NULL;
        struct example_line key = {0};
        for (const char *line = lo; line < hi && !found; line = next_line(line)) {
            struct example_line l = example_line(line);
            if (!l.blank && l.key_col > parent_col && strncmp(l.key, seg, strlen(seg)) == 0) {
                found = line;
                key = l;
            }
        }
        if (!found)
            return false;
        if (p[n] == '\0')
            return true;
        lo = next_line(found);
        for (const char *line = lo; line < hi; line = next_line(line)) {
            struct example_line l = example_line(line);
            if (!l.blank && (l.live || !key.live) && l.col <= key.key_col) {
                hi = line;
                break;
            }
        }
        parent_col = key.key_col;
        p += n + 1;
    }
}

struct coverage {
    const char *text;
    int missing;
};

static void check_documented(const char *path, const struct cfg_field *f, void *arg)
{
    struct coverage *c = arg;
    (void)f;
    if (!documented(c->text, path)) {
        c->missing++;
        printf("#   config.yaml.example does not document %s\n", path);
    }
}

/* The example's esl: block, uncommented, loads and holds the defaults. */
static void check_example_esl(const char *text)
{
    const char *block = strstr(text, "\n# esl:\n");
    CHECK(block != NULL);
    if (!block)
        return;
    block++;
    size_t len = (size_t)(block - text);
    char *live = malloc(strlen(text) + 1);
    memcpy(live, text, len);
    const char *line = block;
    for (; *line == '#'; line = next_line(line)) {
        const char *body = line + (line[1] == ' ' ? 2 : 1);
        size_t n = (size_t)(next_line(line) - body);
        memcpy(live + len, body, n);
        len += n;
    }
    strcpy(live + len, line);

    unsetenv("ESL_PASSWORD");
    char *errors = NULL;
    struct config *cfg = config_load_string(live, strlen(live), "example", &errors);
    CHECK(cfg != NULL);
    if (errors)
        printf("#   errors: %s\n", errors);
    if (cfg) {
        CHECK_INT(cfg->esl_node_count, 1);
        const struct esl_node *e = &cfg->esl_nodes[0];
        CHECK_STR(e->name, "fs1");
        CHECK_STR(e->host, "127.0.0.1");
        check_esl_defaults(e);
    }
    config_unref(cfg);
    free(errors);
    free(live);
}

static void test_example(void)
{
    char *errors = NULL;
    struct config *ex = config_load(EXAMPLE_PATH, &errors);
    CHECK(ex != NULL);
    if (errors)
        printf("#   errors: %s\n", errors);
    free(errors);
    struct config *def = LOAD_OK("");
    if (ex && def) {
        struct compare c = {.a = ex, .b = def};
        cfg_schema_foreach(compare_leaf, &c);
        CHECK_INT(c.mismatches, 0);
        CHECK(ex->nats.embedded);
        CHECK_INT(ex->nats.storage, def->nats.storage);
        CHECK_INT(ex->delivery.backoff_count, def->delivery.backoff_count);
        CHECK(memcmp(ex->delivery.backoff_ms, def->delivery.backoff_ms,
                     def->delivery.backoff_count * sizeof(int64_t)) == 0);
        CHECK_INT(ex->server.port, 8080);
        CHECK_INT(ex->route_count, 1);
        const struct route *r = config_find_route(ex, "example.com");
        CHECK(r != NULL);
        if (r) {
            CHECK_INT(r->endpoint_count, 1);
            CHECK_STR(r->endpoints[0].url, "http://127.0.0.1:9000/webhook");
        }
        CHECK(ex->default_route == NULL);
        CHECK(r && r->event_kind_count == 0);
        CHECK_INT(ex->esl_node_count, 0); /* commented out: make run follows no FreeSWITCH */
        CHECK(ex->calls.timezone == NULL);
    }
    config_unref(ex);
    config_unref(def);

    char *text = read_text(EXAMPLE_PATH);
    CHECK(text != NULL);
    if (text) {
        struct coverage cov = {.text = text};
        cfg_schema_foreach_key(check_documented, &cov);
        CHECK_INT(cov.missing, 0);
        CHECK(!documented(text, "nats.stream.nonexistent")); /* the check can fail */
        CHECK(!documented(text, "server.max_age"));
        CHECK(!documented(text, "esl.nonexistent"));
        CHECK(!documented(text, "esl.reconnect.port")); /* port is outside reconnect */
        CHECK(!documented(text, "calls.name"));
        CHECK(documented(text, "routes"));
        CHECK(documented(text, "esl.reconnect.initial"));
        CHECK(documented(text, "esl.default_domain")); /* commented out twice */
        check_example_esl(text);
    }
    free(text);
}

#define SIGNED_ROUTE(secret_lines)                                                                 \
    "routes:\n"                                                                                    \
    "  - domain: a.example\n"                                                                      \
    "    endpoints:\n"                                                                             \
    "      - url: http://127.0.0.1:9/hook\n" secret_lines

static void test_webhook_secrets(void)
{
    struct config *cfg =
        LOAD_OK(SIGNED_ROUTE("        secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"));
    if (cfg) {
        const struct endpoint *e = &cfg->routes[0].endpoints[0];
        CHECK_INT(e->signing_key_count, 1);
        CHECK(e->sign);
        CHECK(cfg->delivery.signature_headers);
        config_unref(cfg);
    }
    cfg = LOAD_OK("delivery:\n  signature_headers: none\n" SIGNED_ROUTE(
        "        secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, "
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA]\n"));
    if (cfg) {
        CHECK_INT(cfg->routes[0].endpoints[0].signing_key_count, 2);
        CHECK(!cfg->routes[0].endpoints[0].sign); /* keys kept, calls not signed */
        config_unref(cfg);
    }
    setenv("EVENTHUB_TEST_HOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
    cfg = LOAD_OK(SIGNED_ROUTE("        secret: ${EVENTHUB_TEST_HOOK_SECRET}\n"));
    CHECK(cfg && cfg->routes[0].endpoints[0].signing_key_count == 1);
    config_unref(cfg);
    EXPECT_ERROR(SIGNED_ROUTE("        secret: s3cret-without-prefix\n"),
                 "t.yaml:5: routes[0].endpoints[0].secret: a secret is written whsec_<base64>");
    EXPECT_ERROR(SIGNED_ROUTE("        secret: whsec_c2hvcnQ=\n"),
                 "routes[0].endpoints[0].secret: the key is 5 bytes; it must be 24 to 64");
    EXPECT_ERROR(SIGNED_ROUTE("        secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, x]\n"),
                 "routes[0].endpoints[0].secrets[1]: a secret is written whsec_<base64>");
    EXPECT_ERROR(SIGNED_ROUTE("        secrets: []\n"), "must list 1 to 8 secrets");
    EXPECT_ERROR(SIGNED_ROUTE("        secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
                              "        secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw]\n"),
                 "give either secret or secrets, not both");
    EXPECT_ERROR("delivery:\n  signature_headers: sometimes\n" SIGNED_ROUTE(""),
                 "delivery.signature_headers");
    /* The message never repeats the secret. */
    char *errors = NULL;
    const char *yaml = SIGNED_ROUTE("        secret: whsec_Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4!!\n");
    CHECK(load(yaml, &errors) == NULL);
    CHECK(errors && !strstr(errors, "Zm9vYmFy"));
    free(errors);
}

#define KEYS(lines) "ingress:\n  api_keys:\n" lines

static void test_api_keys(void)
{
    struct config *cfg = LOAD_OK(KEYS("    - name: crm\n"
                                      "      key: crm-0123456789abcdef\n"
                                      "      domains: [acme.example, \"*.tenants.example\"]\n"
                                      "    - name: pbx.1\n"
                                      "      key: pbx-0123456789abcdef\n"));
    if (cfg) {
        CHECK_INT(cfg->ingress.api_key_count, 2);
        CHECK(api_keys_required(cfg));
        const char t1[] = "crm-0123456789abcdef", t2[] = "pbx-0123456789abcdef";
        const struct api_key *crm = api_keys_find(cfg, t1, sizeof t1 - 1);
        const struct api_key *pbx = api_keys_find(cfg, t2, sizeof t2 - 1);
        CHECK(crm && strcmp(crm->name, "crm") == 0);
        CHECK(pbx && strcmp(pbx->name, "pbx.1") == 0);
        CHECK(!api_keys_find(cfg, t1, sizeof t1 - 2)); /* a prefix is not the key */
        CHECK(!api_keys_find(cfg, "crm-0123456789abcdeF", 20));
        CHECK(!api_keys_find(cfg, "", 0));
        /* Scope: exact (any case), "*.suffix" at any depth, never the bare suffix or a
         * name that only ends like it. */
        CHECK(api_key_allows(crm, "acme.example"));
        CHECK(api_key_allows(crm, "ACME.example"));
        CHECK(api_key_allows(crm, "eu.tenants.example"));
        CHECK(api_key_allows(crm, "a.b.Tenants.Example"));
        CHECK(!api_key_allows(crm, "tenants.example"));
        CHECK(!api_key_allows(crm, "eviltenants.example"));
        CHECK(!api_key_allows(crm, "x.example"));
        CHECK(!api_key_allows(crm, "acme.example.evil"));
        CHECK(!api_key_allows(crm, "sub.acme.example"));
        CHECK(!api_key_allows(crm, ""));
        CHECK(api_key_allows(pbx, "anything.example"));
        config_unref(cfg);
    }
    cfg = LOAD_OK("routes: []\n");
    CHECK(cfg && !api_keys_required(cfg) && !api_keys_find(cfg, "x", 1));
    config_unref(cfg);
    cfg = LOAD_OK(KEYS("    - {name: all, key: all-0123456789abcdef, domains: [\"*\"]}\n"));
    CHECK(cfg && api_key_allows(&cfg->ingress.api_keys[0], "x.example"));
    config_unref(cfg);

    CHECK(api_key_pattern_problem("*.example.net") == NULL);
    CHECK(api_key_pattern_problem("example.net") == NULL);
    CHECK(api_key_pattern_problem("*") == NULL);
    CHECK(api_key_pattern_problem("*example.net") != NULL);
    CHECK(api_key_pattern_problem("a.*.net") != NULL);
    CHECK(api_key_pattern_problem("*.") != NULL);
    CHECK(api_key_pattern_problem("a b") != NULL);

    EXPECT_ERROR(KEYS("    - name: crm\n      key: short\n"),
                 "t.yaml:4: ingress.api_keys[0].key: must be 16 to 4096 characters long (it is 5)");
    EXPECT_ERROR(KEYS("    - name: crm\n      key: \"has a space 0123456789\"\n"),
                 "ingress.api_keys[0].key: may hold only visible ASCII");
    EXPECT_ERROR(KEYS("    - key: crm-0123456789abcdef\n"),
                 "ingress.api_keys[0]: missing required key \"name\"");
    EXPECT_ERROR(KEYS("    - name: crm\n"), "ingress.api_keys[0]: missing required key \"key\"");
    EXPECT_ERROR(KEYS("    - {name: _other, key: crm-0123456789abcdef}\n"),
                 "ingress.api_keys[0].name: \"_other\" is reserved");
    EXPECT_ERROR(KEYS("    - {name: \"c r m\", key: crm-0123456789abcdef}\n"),
                 "ingress.api_keys[0].name: may hold only letters");
    EXPECT_ERROR(KEYS("    - {name: crm, key: crm-0123456789abcdef}\n"
                      "    - {name: CRM, key: pbx-0123456789abcdef}\n"),
                 "ingress.api_keys[1].name: duplicate name \"CRM\"");
    EXPECT_ERROR(KEYS("    - {name: a, key: same-0123456789abcdef}\n"
                      "    - {name: b, key: same-0123456789abcdef}\n"),
                 "ingress.api_keys[1].key: the same key as ingress.api_keys[0]");
    EXPECT_ERROR(KEYS("    - {name: a, key: a-0123456789abcdefg, domains: []}\n"),
                 "must list at least one domain");
    EXPECT_ERROR(KEYS("    - {name: a, key: a-0123456789abcdefg, domains: [\"a.*.net\"]}\n"),
                 "ingress.api_keys[0].domains[0]");
    EXPECT_ERROR(KEYS("    - {name: a, key: a-0123456789abcdefg, scope: [x]}\n"),
                 "ingress.api_keys[0].scope");
    EXPECT_ERROR("ingress:\n  api_keys: a-key\n", "ingress.api_keys: expected a list");
    /* The message never repeats a key. */
    char *errors = NULL;
    CHECK(load(KEYS("    - {name: a, key: \"dup-0123456789abcdef\"}\n"
                    "    - {name: b, key: \"dup-0123456789abcdef\"}\n"
                    "    - {name: c, key: \"tiny-key\"}\n"),
               &errors) == NULL);
    CHECK(errors && !strstr(errors, "dup-0123") && !strstr(errors, "tiny-key"));
    free(errors);
}

int main(void)
{
    log_set_level(LOG_LEVEL_WARN);
    test_defaults();
    test_refcount();
    test_go_forwarder();
    test_webhook_secrets();
    test_api_keys();
    test_endpoint_objects();
    test_endpoint_display();
    test_endpoint_limits();
    test_endpoint_key();
    test_env();
    test_nats_urls();
    test_server_rules();
    test_server_guards();
    test_stream_rules();
    test_ack_wait_rule();
    test_delivery_rules();
    test_route_rules();
    test_lookup();
    test_schema_errors();
    test_parsers();
    test_esl_nodes();
    test_esl_rules();
    test_esl_warnings();
    test_calls();
    test_api();
    test_route_kinds();
    test_example();
    return unit_done();
}
