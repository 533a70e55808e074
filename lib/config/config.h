/*
 * config — eventhub's configuration: parse (libyaml), map, validate, freeze.
 *
 * A `struct config` is immutable once config_load() returns it, and refcounted so a
 * hot reload can swap a new one in while events already being delivered finish with
 * the one they started with (config_ref / config_unref, any thread).
 *
 * Loading: the YAML file is read with libyaml's document loader (each node keeps its
 * line), then mapped with descriptor tables into the typed struct below, then checked
 * as a whole (cross-field rules in one place). Every error names the file, the line
 * and the key path: "config.yaml:12: routes[0].endpoints[1]: not an http(s) URL".
 * All errors are collected, not just the first.
 *
 * Scalars may reference the environment: "${NAME}" or "${NAME:-fallback}" anywhere in
 * a string value; an unset variable without a fallback is an error naming the line.
 * A few secrets can also come straight from the environment (they win over the file):
 * EVENTHUB_NATS_TOKEN, EVENTHUB_NATS_USER, EVENTHUB_NATS_PASSWORD,
 * EVENTHUB_NATS_CREDENTIALS.
 *
 * Files written for the Go telephony-forwarder load unchanged: server.port, nats.url,
 * nats.stream_name, nats.subject_pattern, nats.ack_wait_seconds, nats.max_deliveries,
 * server.read_timeout_seconds / write_timeout_seconds (accepted, ignored with a
 * warning), routes: [{domain, endpoints: [url, ...]}].
 *
 * Durations in YAML: an integer means seconds for keys ending in "_seconds", otherwise
 * a string with unit: "250ms", "3s", "2m", "1h", "7d" (combinations like "1m30s" too).
 * Sizes: an integer (bytes) or "512KB", "1MB", "10GB" (powers of 1024; KiB/MiB/GiB too).
 */
#ifndef EVENTHUB_CONFIG_H
#define EVENTHUB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct webhook_key;

/* calls.fields: the call-signal members an operator fills from channel variables. */
#define CONFIG_CALLS_FIELDS 4
extern const char *const config_calls_field_names[CONFIG_CALLS_FIELDS];

struct endpoint {
    char *url;          /* http:// or https:// */
    char *display_url;  /* url with its secrets taken out (redact.h): what every API answer,
                           log line, metrics label and record shows; never the url itself */
    char *label;        /* display_url, unique within the route: endpoints that differ only
                           in secrets (userinfo, query values, header values) share a
                           display_url, so the 2nd, 3rd... distinct one gets " #2", " #3"...
                           (in route order); the metrics' endpoint label */
    int64_t timeout_ms; /* total request timeout; defaults to delivery.timeout_ms */
    char **headers;     /* "Name: value" lines added to each request */
    size_t header_count;
    int max_concurrent; /* calls in flight to this endpoint at most, 1..10000; defaults to
                           delivery.endpoint_max_concurrent */
    double rate_per_s;  /* rate_limit ("100/s", "30/m", "0.5/h") in calls per second;
                           0 = unlimited */
    char key[17];       /* 16 lower-case hex digits: FNV-1a 64 over the route's domain, '\0',
                           label, '\0' (no secret goes in); the lane's name in NATS
                           (consumer, subject) */
    /* secret / secrets: the Standard Webhooks keys (whsec_..., new first), decoded; never
     * shown. sign: keys are set and delivery.signature_headers is standard. */
    struct webhook_key *signing_keys;
    size_t signing_key_count;
    bool sign;
    int line;                      /* where it was defined */
    bool timeout_inherited;        /* no timeout of its own: timeout_ms is delivery.timeout */
    bool max_concurrent_inherited; /* no max_concurrent of its own: it is
                                      delivery.endpoint_max_concurrent */
};

struct route {
    char *domain;    /* exact tenant domain; "*" for the default route */
    bool is_default; /* `domain: "*"` or `domain: default` */
    struct endpoint *endpoints;
    size_t endpoint_count;
    /* routes[].events: the kinds of event this route wants; none = every kind. A kind
     * is "ingress" (POST /events), "call_signal" (a finished FreeSWITCH call), or a
     * FreeSWITCH Event-Name ("CHANNEL_ANSWER", ...) for raw ESL events. */
    char **event_kinds;
    size_t event_kind_count;
    int line;
};

enum esl_format { ESL_FORMAT_PLAIN = 0, ESL_FORMAT_JSON };

/* What an ESL node publishes: call signals (default), raw events, or both. */
enum esl_publish { ESL_PUBLISH_SIGNALS = 1, ESL_PUBLISH_EVENTS = 2, ESL_PUBLISH_BOTH = 3 };

/* One FreeSWITCH server to follow over the Event Socket (inbound mode). */
struct esl_node {
    char *name;     /* esl[].name, required, unique; [A-Za-z0-9_-] */
    char *host;     /* esl[].host, required */
    int port;       /* esl[].port, default 8021 */
    char *password; /* esl[].password, default "ClueCon" (use ${ENV}); at most
                       512 characters, no control characters */
    char **events;  /* esl[].events: Event-Names to subscribe, default the
                       channel events call tracking needs plus HEARTBEAT;
                       ["ALL"] allowed; "CUSTOM a::b c::d" is one entry.
                       Never empty; always has HEARTBEAT or ALL */
    size_t event_count;
    char **filters; /* esl[].filters: "Header value" lines sent as
                       "filter Header value" after subscribing; each at most
                       1024 characters, no control characters */
    size_t filter_count;
    enum esl_format format;       /* esl[].format: plain (default) | json */
    enum esl_publish publish;     /* esl[].publish: signals (default) | events | both */
    char *default_domain;         /* esl[].default_domain: a hostname, or NULL */
    int64_t reconnect_initial_ms; /* esl[].reconnect.initial, default 1s */
    int64_t reconnect_max_ms;     /* esl[].reconnect.max, default 30s (>= initial) */
    int64_t heartbeat_timeout_ms; /* esl[].heartbeat_timeout, default 60s: silence past
                                     this means a dead peer (FreeSWITCH sends HEARTBEAT
                                     every 20 s by default) */
    int64_t connect_timeout_ms;   /* esl[].connect_timeout, default 5s */
    size_t max_frame_bytes;       /* esl[].max_frame_bytes, default 4 MiB, 64 KiB..1 GiB */
    int buffer_events;            /* esl[].buffer_events, default 10000: events waiting for
                                     JetStream while it is unreachable; past it, new events
                                     are dropped, logged and counted */
    char *logs;                   /* esl[].logs: FreeSWITCH log level to collect (debug,
                                     info, notice, warning, err, crit, alert), or NULL */
    int line;
};

enum storage_kind { STORAGE_FILE = 0, STORAGE_MEMORY };

/* One ingress.api_keys entry: a bearer token an upstream sends with POST /events, and
 * the domains it may post for (api_keys.h looks them up and applies the scope). */
struct api_key {
    char *name;               /* [A-Za-z0-9_.-], 1..64, unique: what history, logs, the
                                 stored message and /metrics record; never the key */
    unsigned char digest[32]; /* SHA-256 of the key text; the text itself is not kept */
    char **domains;           /* exact names or "*.suffix" patterns; NULL = every domain */
    size_t domain_count;
    int line;
};

struct config {
    char *path; /* file it was loaded from (as given) */

    struct {
        char *address;                   /* server.address, default "0.0.0.0" */
        int port;                        /* server.port, default 8080; 0 = any free port */
        size_t max_body_bytes;           /* server.max_body_bytes, default 1 MiB */
        int max_connections;             /* server.max_connections, default 4096 */
        int max_connections_per_ip;      /* server.max_connections_per_ip, default a quarter of
                                            max_connections, at least 4; 0 = no limit */
        int64_t connection_timeout_ms;   /* server.connection_timeout, default 30s (idle) */
        int64_t request_head_timeout_ms; /* server.request_head_timeout, default 10s; 0 = none */
        int64_t request_body_timeout_ms; /* server.request_body_timeout, default 30s; 0 = none */
        char **allowed_hosts;            /* server.allowed_hosts: Host names answered besides
                                            IP literals, localhost and the machine's names */
        size_t allowed_host_count;
        int64_t shutdown_timeout_ms; /* server.shutdown_timeout, default 15s */
        char *admin_token;           /* server.admin_token (or EVENTHUB_ADMIN_TOKEN): bearer token
                                        the control plane requires; NULL = none, and then the
                                        mutating APIs answer only loopback clients */
        bool protect_read_apis;      /* server.protect_read_apis, default false: the read APIs
                                        (/api/...) require the token too (when one is set) */
        bool watch_config;           /* server.watch_config, default true: reload the routes when
                                        the config file changes on disk */
    } server;

    struct {
        bool embedded;  /* nats.url: embedded (the default) */
        char **servers; /* nats.url (may be a comma list) and/or nats.servers: [...] */
        size_t server_count;
        char *token;                /* nats.token */
        char *user;                 /* nats.user */
        char *password;             /* nats.password */
        char *credentials_file;     /* nats.credentials */
        char *name;                 /* nats.connection_name, default "eventhub" */
        int64_t reconnect_wait_ms;  /* nats.reconnect_wait, default 1s (jittered, for ever) */
        int64_t connect_timeout_ms; /* nats.connect_timeout, default 2s */

        /* Stream. */
        char *stream_name;           /* nats.stream_name | nats.stream.name, default "EVENTS" */
        char *subject_pattern;       /* nats.subject_pattern | nats.stream.subject_pattern,
                                        default "events.*"; exactly one token is "*" or the
                                        last token is ">"; the domain token replaces it */
        enum storage_kind storage;   /* nats.stream.storage: file (default) | memory */
        int64_t max_age_ms;          /* nats.stream.max_age, default 7d; 0 = unlimited */
        int64_t max_msgs;            /* nats.stream.max_msgs, default -1 (unlimited) */
        int64_t max_bytes;           /* nats.stream.max_bytes, default -1 (unlimited) */
        int64_t duplicate_window_ms; /* nats.stream.duplicate_window, default 2m */
        int replicas;                /* nats.stream.replicas, default 1; 1..5 */

        /* Dead letters. */
        char *dlq_stream;         /* nats.dead_letter.stream, default "<stream_name>_DLQ" */
        char *dlq_subject_prefix; /* nats.dead_letter.subject_prefix, default "dlq.<stream_name>" */
        int64_t dlq_max_age_ms;   /* nats.dead_letter.max_age, default 30d */

        /* Parked deliveries (one lane per endpoint). */
        char *retry_stream;         /* nats.retry.stream, default "<stream_name>_RETRY" */
        char *retry_subject_prefix; /* nats.retry.subject_prefix, default "retry.<stream_name>":
                                       an endpoint's records are "<prefix>.<endpoint key>" */

        /* Consumer. */
        char *consumer_name;   /* nats.consumer.name, default "eventhub" (durable) */
        char *deliver_group;   /* nats.consumer.deliver_group, default = consumer_name */
        char *deliver_subject; /* nats.consumer.deliver_subject, default
                                  "_eventhub.deliver.<stream_name>" */
        int64_t ack_wait_ms;   /* nats.ack_wait_seconds | nats.consumer.ack_wait, default 30s */
        int max_deliver;       /* nats.max_deliveries | nats.consumer.max_deliver, default 5 */
        int max_ack_pending;   /* nats.consumer.max_ack_pending, default 1024 */

        /* Publishing. */
        int64_t publish_timeout_ms; /* nats.publish.timeout, default 5s */
        int max_inflight_publishes; /* nats.publish.max_inflight, default 4096 */

        /* Embedded broker (used when embedded). */
        char *embedded_binary;   /* nats.embedded.binary, default "nats-server" (PATH) */
        char *embedded_data_dir; /* nats.embedded.data_dir, default "data/nats" */
        int embedded_port;       /* nats.embedded.port, default 0 = pick a free port */
    } nats;

    struct {
        bool enabled;               /* delivery.enabled, default true; false = ingress-only
                                       instance (another instance delivers) */
        int64_t timeout_ms;         /* delivery.timeout, default 3s (per endpoint request) */
        int64_t connect_timeout_ms; /* delivery.connect_timeout, default 1s */
        int max_concurrent;         /* delivery.max_concurrent, default 256 requests in flight */
        int max_host_connections;   /* delivery.max_host_connections, default 256 (= max_concurrent:
                                       by default no call waits for a connection) */
        int64_t *backoff_ms;        /* delivery.backoff, default [1s, 5s, 30s, 2m, 5m];
                                       attempt n waits backoff[min(n-1, count-1)] */
        size_t backoff_count;
        int endpoint_max_concurrent; /* delivery.endpoint_max_concurrent, default 32: an
                                        endpoint's max_concurrent unless it sets its own */
        int64_t max_retry_age_ms;    /* delivery.max_retry_age, default 24h (<= nats.stream.max_age
                                        when that is set): an event parked longer is
                                        dead-lettered endpoint_unavailable */
        int breaker_failures;        /* delivery.breaker.failures, default 5 consecutive failures
                                        open an endpoint's breaker; 0 = no breaker */
        int64_t breaker_cooldown_ms; /* delivery.breaker.cooldown, default 5s: first wait of an
                                        open breaker before a trial call */
        int64_t breaker_max_cooldown_ms; /* delivery.breaker.max_cooldown, default 5m (>= cooldown):
                                            the longest that wait grows to */
        int retry_window;                /* delivery.retry_window, default 256: a lane consumer's
                                            max_ack_pending */
        bool signature_headers;          /* delivery.signature_headers: standard (default) signs
                                            calls to endpoints with a secret; none does not */
    } delivery;

    struct {
        char *level;            /* log.level, default "info" (CLI -log-level wins) */
        char *file;             /* log.file, default NULL = stderr (CLI -log-file wins) */
        bool domain_logging;    /* log.domain_logging, default true (CLI -domain-logging wins) */
        char *dir;              /* log.dir, default "logs" */
        int64_t max_file_bytes; /* log.max_file_size, default 500 MiB: a day's file is
                                   rotated past it */
        int max_age_days;       /* log.max_age_days, default 30: older files are deleted */
        int max_backups;        /* log.max_backups, default 30: rotated files kept per day */
    } log;

    struct {
        /* ingress.api_keys: when any is set, POST /events needs "Authorization: Bearer
         * <key>" of one of them (401 without, 403 for a domain outside its scope). They
         * reload with the routes. */
        struct api_key *api_keys;
        size_t api_key_count;
    } ingress;

    struct esl_node *esl_nodes; /* esl: [...] in file order; may be empty */
    size_t esl_node_count;

    struct {
        char *timezone;          /* calls.timezone, default NULL = UTC; an IANA name
                                    ("Asia/Ho_Chi_Minh") for time_* fields */
        int64_t max_call_age_ms; /* calls.max_call_age, default 4h */
        int max_calls;           /* calls.max_calls, default 100000 */
        char *bucket;            /* calls.bucket, default "CALLS": JetStream key-value
                                    bucket of call records */
        int64_t retention_ms;    /* calls.retention, default 30d */
        bool typed_signals;      /* calls.signal_format: seed (default, false) | typed */
        /* calls.fields: the event header each member is read from, NULL = none; in the
           order of config_calls_field_names (call_tracker's enum call_extra_field) */
        char *field_headers[CONFIG_CALLS_FIELDS];
    } calls;

    struct {
        int max_domains;        /* history.max_domains, default 1000 (least recently
                                   active domains are forgotten first) */
        int per_domain;         /* history.per_domain, default 100 successful and 100
                                   failed events kept per domain */
        size_t max_event_bytes; /* history.max_event_bytes, default 16 KiB: larger
                                   payloads are kept truncated (flagged) */
    } history;

    struct {
        int workers;              /* api.workers, default 4 (3..64): threads that run the API
                                     requests needing JetStream or the log files (api_worker) */
        int max_concurrent_scans; /* api.max_concurrent_scans, default 2: event-stream, call-record
                                     and log-file scans running at once; at most workers - 2 (one
                                     worker is the dead-letter lane's, one always stays for the
                                     light requests) */
        int64_t queue_timeout_ms; /* api.queue_timeout, default 5s: longest a request waits for a
                                     worker; then 503 busy */
        int64_t scan_timeout_ms;  /* api.scan_timeout, default 2s: wall time one request may spend
                                     walking a stream or reading a day of logs; then it answers
                                     what it found with a cursor ("partial": true) */
        int scan_max_messages;    /* api.scan_max_messages, default 20000: sequences one request
                                     may visit in a stream */
    } api;

    struct route *routes; /* in file order; the default route, if any, is among them */
    size_t route_count;
    const struct route *default_route; /* points into routes, or NULL */

    /* private: refcount and the domain index; see config.c */
    struct config_private *priv;
};

/*
 * Loads and validates `path`. On success returns a new config (refcount 1) and sets
 * *errors to NULL. On failure returns NULL and sets *errors to a malloc'd, newline-
 * separated list of messages "path:line: key.path: message" (caller frees).
 * Warnings (deprecated or ignored keys) are logged with subsystem "config".
 */
struct config *config_load(const char *path, char **errors);

/* Same, from a YAML text already in memory; `name` stands for the file in messages. */
struct config *config_load_string(const char *yaml, size_t len, const char *name, char **errors);

/*
 * A command-line setting that beats the file (-domain-logging), for every config
 * loaded from now on: the first and each reload, so a reload does not see a change
 * the file never made. -1 (the default) = none. Call before any thread loads one.
 */
void config_set_domain_logging_override(int on);

/*
 * Reads the whole file config_load() would read (a regular file of at most 16 MiB) into
 * a new NUL-terminated buffer (*out, caller frees; *len excludes the NUL). 0, or -errno
 * (-EFBIG when too large). For callers that need the bytes too (a reload compares them).
 */
int config_read_file(const char *path, char **out, size_t *len);

struct config *config_ref(struct config *cfg);
void config_unref(struct config *cfg); /* accepts NULL */

/*
 * The route for `domain`: the exact match (ASCII case-insensitive), else the default
 * route, else NULL. O(1) average. The result borrows from `cfg`.
 */
const struct route *config_find_route(const struct config *cfg, const char *domain);

/* The longest endpoint timeout of any route (for the ack_wait check and shutdown). */
int64_t config_max_endpoint_timeout_ms(const struct config *cfg);

/* Parses "250ms", "3s", "1m30s", "2h", "7d" into milliseconds; false when malformed. */
bool config_parse_duration_ms(const char *text, int64_t *out_ms);
/* Parses "1048576", "512KB", "1MB", "1MiB", "10GB" into bytes; false when malformed. */
bool config_parse_size(const char *text, int64_t *out_bytes);

#endif
