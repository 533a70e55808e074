/*
 * test_config — the config module: defaults, the Go telephony-forwarder file, endpoint
 * objects, ${ENV} expansion, every validation rule with its exact "file:line: key"
 * prefix, YAML and schema errors, the domain index, the duration/size parsers, and
 * config.yaml.example (loads, sets every key to its real default, documents every key).
 */
#include "config.h"
#include "config_internal.h"
#include "log.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXAMPLE_PATH FIXTURES_DIR "/../../../config.yaml.example"

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
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    if (buf)
        (void)fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    return buf;
}

static void check_defaults(const struct config *cfg)
{
    CHECK_STR(cfg->server.address, "0.0.0.0");
    CHECK_INT(cfg->server.port, 8080);
    CHECK_INT(cfg->server.max_body_bytes, 1024 * 1024);
    CHECK_INT(cfg->server.max_connections, 4096);
    CHECK_INT(cfg->server.connection_timeout_ms, 30000);
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
    CHECK_INT(cfg->delivery.max_host_connections, 64);
    CHECK_INT(cfg->delivery.backoff_count, 5);
    if (cfg->delivery.backoff_count == 5) {
        CHECK_INT(cfg->delivery.backoff_ms[0], 1000);
        CHECK_INT(cfg->delivery.backoff_ms[1], 5000);
        CHECK_INT(cfg->delivery.backoff_ms[2], 30000);
        CHECK_INT(cfg->delivery.backoff_ms[3], 120000);
        CHECK_INT(cfg->delivery.backoff_ms[4], 300000);
    }

    CHECK_STR(cfg->log.level, "info");
    CHECK(cfg->log.file == NULL);
    CHECK(cfg->log.domain_logging);
    CHECK_STR(cfg->log.dir, "logs");
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
    /* The example of the contract: 3s against the 3s default endpoint timeout. */
    EXPECT_ERROR("nats:\n  ack_wait_seconds: 3\n",
                 "t.yaml:2: nats.ack_wait_seconds: 3s must exceed the longest endpoint timeout "
                 "(3s) plus 2s of margin");
    /* Equal to timeout + margin is not enough. */
    EXPECT_ERROR("nats:\n  consumer:\n    ack_wait: 5s\n",
                 "t.yaml:3: nats.consumer.ack_wait: 5s must exceed the longest endpoint timeout");
    struct config *cfg = LOAD_OK("nats:\n  consumer:\n    ack_wait: 5001ms\n");
    config_unref(cfg);
    /* The default ack_wait (30s) against a slow endpoint: blame that endpoint's line. */
    EXPECT_ERROR("routes:\n"
                 "  - domain: a\n"
                 "    endpoints:\n"
                 "      - http://fast/\n"
                 "      - url: http://slow/\n"
                 "        timeout: 29s\n",
                 "t.yaml:5: nats.consumer.ack_wait: 30s must exceed the longest endpoint timeout "
                 "(29s) plus 2s of margin");
    EXPECT_ERROR(
        "delivery:\n  timeout: 1m\n",
        "t.yaml:2: nats.consumer.ack_wait: 30s must exceed the longest endpoint timeout (1m)");
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
    struct config *cfg = LOAD_OK("delivery:\n  backoff: [250ms, 1m30s]\nlog:\n  level: warning\n");
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

/* Whether `path` ("nats.stream.name") appears in the example: every section as a live
   key at its indentation, the leaf live or commented out inside the innermost section. */
static bool documented(const char *text, const char *path)
{
    char seg[64];
    const char *p = path;
    const char *lo = text, *hi = text + strlen(text);
    for (int indent = 0;; indent += 2) {
        size_t n = strcspn(p, ".");
        snprintf(seg, sizeof seg, "%.*s:", (int)n, p);
        bool leaf = p[n] == '\0';
        const char *found = NULL;
        for (const char *line = lo; line < hi && !found; line = strchr(line, '\n') + 1) {
            const char *s = line + strspn(line, " ");
            if (!leaf && s - line == indent && strncmp(s, seg, strlen(seg)) == 0)
                found = line;
            if (leaf) {
                s += strspn(s, "#");
                s += strspn(s, " ");
                s += strspn(s, "-");
                s += strspn(s, " ");
                if (strncmp(s, seg, strlen(seg)) == 0)
                    found = line;
            }
            if (!strchr(line, '\n'))
                break;
        }
        if (!found)
            return false;
        if (leaf)
            return true;
        /* The section ends at the next live line indented no deeper than its key. */
        lo = strchr(found, '\n') + 1;
        for (const char *line = lo; line < hi; line = strchr(line, '\n') + 1) {
            const char *s = line + strspn(line, " ");
            if (*s && *s != '\n' && *s != '#' && s - line <= indent) {
                hi = line;
                break;
            }
            if (!strchr(line, '\n'))
                break;
        }
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
    }
    config_unref(ex);
    config_unref(def);

    char *text = read_text(EXAMPLE_PATH);
    CHECK(text != NULL);
    if (text) {
        struct coverage cov = {.text = text};
        cfg_schema_foreach(check_documented, &cov);
        CHECK_INT(cov.missing, 0);
        CHECK(!documented(text, "nats.stream.nonexistent")); /* the check can fail */
        CHECK(!documented(text, "server.max_age"));
        CHECK(documented(text, "routes"));
    }
    free(text);
}

int main(void)
{
    log_set_level(LOG_LEVEL_WARN);
    test_defaults();
    test_refcount();
    test_go_forwarder();
    test_endpoint_objects();
    test_env();
    test_nats_urls();
    test_server_rules();
    test_stream_rules();
    test_ack_wait_rule();
    test_delivery_rules();
    test_route_rules();
    test_lookup();
    test_schema_errors();
    test_parsers();
    test_example();
    return unit_done();
}
