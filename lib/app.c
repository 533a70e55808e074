/* app — see app.h. Runs on the main thread. */
#include "app.h"

#include "http/api_auth.h"
#include "http/api_worker.h"
#include "nats/broker.h"
#include "api/calls_api.h"
#include "core/clock.h"
#include "config/config.h"
#include "api/config_api.h"
#include "config/config_watch.h"
#include "delivery/dead_letter.h"
#include "delivery/delivery.h"
#include "delivery/dlq_replay.h"
#include "api/dlq_api.h"
#include "sinks/domain_log.h"
#include "sinks/event_history.h"
#include "sinks/event_log.h"
#include "api/events_api.h"
#include "sources/esl/esl_source.h"
#include "eventhub_version.h"
#include "api/health.h"
#include "http/http_server.h"
#include "sources/ingress.h"
#include "sources/source.h"
#include "core/log.h"
#include "api/logs_api.h"
#include "sinks/metrics.h"
#include "api/metrics_api.h"
#include "nats/nats_link.h"
#include "nats/publisher.h"
#include "config/reloader.h"
#include "api/stream_api.h"
#include "api/web_ui.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Every kind of event source, in start (and stop) order. A new kind: one line here. */
static const struct source_class *const source_classes[] = {
    &ingress_source_class, /* POST /events */
    &esl_source_class,     /* FreeSWITCH's Event Socket, one per esl.nodes entry */
};

struct app {
    struct config *cfg;
    struct broker *broker;
    struct nats_link *link;
    struct publisher *pub;
    struct dead_letter *dl;
    struct delivery *delivery;
    struct source_set *sources;
    struct ingress *ingress; /* the HTTP source, in `sources` (its route's ctx) */
    struct health *health;
    struct http_server *http;
    struct delivery *stopped_delivery; /* taken out of `delivery` by shutdown_app */
    struct api_worker *api;
    struct calls_api *calls;
    /* Control-plane access: the HTTP server applies it to every route from .access. */
    struct api_auth *auth;
    /* The read/replay APIs: logs, stream messages, dead letters. */
    struct logs_api *logs_api;
    struct stream_api *stream_api;
    struct dlq_api *dlq_api;
    struct domain_log *events_log; /* per-domain event logs, or NULL when off */
    struct outcomes outcomes;      /* sinks registered before any producer starts */
    /* GET /metrics and GET /api/stats: the registry (an outcome sink) and its API. */
    struct metrics *metrics;
    struct metrics_api *metrics_api;
    /* GET /api/v1/events: recent events per domain (an outcome sink). */
    struct event_history *history;

    /* Route-table reloads (file change, POST /api/config/reload, SIGHUP), GET /api/config. */
    struct reloader *reloader;
    struct config_watch *watch; /* NULL when server.watch_config is off */
    struct config_api *config_api;

    pthread_mutex_t lock; /* guards delivery against the link's setup thread */
};

/* On the link's setup thread, after each successful JetStream setup. */
static bool on_nats_ready(void *closure)
{
    struct app *app = closure;
    pthread_mutex_lock(&app->lock);
    /* Setup can finish before app_run has built delivery: report "not yet" and the
     * link retries shortly, so the consumer is always bound. */
    bool ok = app->delivery != NULL &&
              (!app->cfg->delivery.enabled || delivery_subscribe(app->delivery) == 0);
    pthread_mutex_unlock(&app->lock);
    return ok;
}

/* The reloader's apply step, on the reloading thread (reloads are serialized): the
 * validated config's routes and ingress keys serve from now on; events in flight keep
 * their table. */
static void apply_routes(void *closure, struct config *fresh)
{
    struct app *app = closure;
    metrics_set_routes(app->metrics, fresh);     /* label values before delivery uses them */
    source_set_reconfigure(app->sources, fresh); /* the ingress keys */
    pthread_mutex_lock(&app->lock);
    if (app->delivery) /* NULL once shutdown has begun */
        delivery_set_config(app->delivery, fresh);
    pthread_mutex_unlock(&app->lock);
}

static void reload_now(struct app *app, enum reload_trigger trigger)
{
    struct reload_result res;
    reloader_reload(app->reloader, trigger, &res); /* logs the outcome */
    reload_result_clear(&res);
}

/* On the config watcher's thread. */
static void on_config_file_changed(void *closure)
{
    reload_now(closure, RELOAD_FILE_CHANGE);
}

static void shutdown_app(struct app *app)
{
    const struct config *cfg = app->cfg;
    if (app->health)
        health_set_shutting_down(app->health);
    /* Sources first, at once: HTTP refuses new events (503), FreeSWITCH stops reading;
     * then what they queued reaches JetStream. */
    source_set_stop(app->sources, cfg->nats.publish_timeout_ms);
    config_watch_stop(app->watch); /* no file-change reload from here on (it can wait) */
    app->watch = NULL;
    if (app->pub) {
        /* After close no publish can start, so the drain sees all there will be. */
        publisher_close(app->pub);
        if (!publisher_drain(app->pub, cfg->nats.publish_timeout_ms + 1000))
            log_warn("app", "publishes still unacknowledged after the publish timeout");
    }
    /* Their answers (202 or 503) go out before the listener closes. */
    if (app->http && !http_server_wait_idle(app->http, 5000))
        log_warn("app", "some answers were not sent before shutdown");
    pthread_mutex_lock(&app->lock);
    struct delivery *delivery = app->delivery;
    app->delivery = NULL; /* the setup thread must not subscribe it any more */
    pthread_mutex_unlock(&app->lock);
    if (delivery) {
        delivery_stop(delivery, cfg->server.shutdown_timeout_ms);
        app->stopped_delivery = delivery;
    }
    dead_letter_free(app->dl, cfg->nats.publish_timeout_ms * 2);
    app->dl = NULL;
    http_server_free(app->http);
    app->http = NULL;
    api_worker_free(app->api); /* after HTTP: no new API job can arrive */
    app->api = NULL;
}

static void free_app(struct app *app)
{
    http_server_free(app->http);
    api_worker_free(app->api);
    calls_api_free(app->calls);
    config_watch_stop(app->watch); /* before what its reloads touch */
    config_api_free(app->config_api);
    reloader_free(app->reloader);
    logs_api_free(app->logs_api);
    stream_api_free(app->stream_api);
    dlq_api_free(app->dlq_api);
    api_auth_free(app->auth);
    source_set_free(app->sources); /* after HTTP: ingress is a route's ctx */
    health_free(app->health);
    pthread_mutex_lock(&app->lock);
    struct delivery *delivery = app->delivery ? app->delivery : app->stopped_delivery;
    app->delivery = NULL;
    pthread_mutex_unlock(&app->lock);
    delivery_stop(delivery, 0);
    dead_letter_free(app->dl, 0);
    nats_link_free(app->link);
    /* After the connection is closed no nats.c callback can reach these. */
    publisher_free(app->pub, 0);
    delivery_free(delivery);
    domain_log_free(app->events_log); /* no writer left: HTTP, delivery, ESL are gone */
    metrics_api_free(app->metrics_api);
    metrics_free(app->metrics); /* likewise: no producer left */
    /* The history too: no producer is left, and HTTP (its reader) is gone. */
    event_history_free(app->history);
    broker_stop(app->broker);
    pthread_mutex_destroy(&app->lock);
    config_unref(app->cfg);
    free(app);
}

/* The embedded broker (when nats.url is embedded), the NATS link, the publisher and the dead-letter
 * worker. */
static bool start_link(struct app *app)
{
    struct config *cfg = app->cfg;
    const char *url = NULL;
    if (cfg->nats.embedded) {
        app->broker = broker_start(cfg);
        if (!app->broker)
            return false;
        url = broker_url(app->broker);
    }
    app->link = nats_link_new(cfg, url, on_nats_ready, app);
    if (!app->link)
        return false;
    app->pub =
        publisher_new(app->link, cfg->nats.max_inflight_publishes, cfg->nats.publish_timeout_ms);
    app->dl = dead_letter_new(cfg, app->link);
    return true;
}

/* The outcome sinks: per-domain log, metrics, event history. */
static bool start_sinks(struct app *app)
{
    struct config *cfg = app->cfg;
    if (cfg->log.domain_logging) {
        struct domain_log_options lo = {
            .dir = cfg->log.dir,
            .max_file_bytes = (uint64_t)cfg->log.max_file_bytes,
            .max_age_days = cfg->log.max_age_days,
            .max_backups = cfg->log.max_backups,
        };
        app->events_log = domain_log_new(&lo);
        if (!app->events_log)
            return false;
        struct outcome_sink sink = event_log_sink(app->events_log);
        outcomes_add(&app->outcomes, &sink);
    }
    app->metrics = metrics_new(0, 0);
    if (!app->metrics)
        return false;
    for (size_t i = 0; i < sizeof source_classes / sizeof source_classes[0]; i++)
        metrics_add_source(app->metrics, source_classes[i]->kind);
    metrics_add_source(app->metrics, DLQ_REPLAY_SOURCE);
    metrics_set_routes(app->metrics, cfg);
    struct outcome_sink msink = metrics_sink(app->metrics);
    outcomes_add(&app->outcomes, &msink);
    struct event_history_options hist = {
        .max_domains = cfg->history.max_domains,
        .per_domain = cfg->history.per_domain,
        .max_event_bytes = cfg->history.max_event_bytes,
        .max_deliver = cfg->nats.max_deliver,
    };
    app->history = event_history_new(&hist);
    if (!app->history)
        return false;
    struct outcome_sink history_sink = event_history_sink(app->history);
    outcomes_add(&app->outcomes, &history_sink);
    return true;
}

/* Delivery (its consumers are bound when JetStream is ready: on_nats_ready). */
static bool start_delivery(struct app *app)
{
    struct delivery *delivery =
        app->pub && app->dl ? delivery_new(app->cfg, app->link, app->dl, &app->outcomes) : NULL;
    if (!delivery)
        return false;
    pthread_mutex_lock(&app->lock);
    app->delivery = delivery;
    pthread_mutex_unlock(&app->lock);

    return true;
}

/* Every source of events (source_classes), started: they publish from now on. */
static bool start_sources(struct app *app)
{
    app->sources = source_set_new(source_classes, sizeof source_classes / sizeof source_classes[0]);
    if (!app->sources)
        return false;
    struct source_env env = {
        .cfg = app->cfg,
        .link = app->link,
        .pub = app->pub,
        .outcomes = &app->outcomes,
        .domain_logs = app->events_log,
    };
    if (!source_set_create(app->sources, &env))
        return false;
    app->ingress = source_set_find(app->sources, &ingress_source_class);
    return app->ingress && source_set_start(app->sources);
}

/* Health, the API workers and every API module. */
static bool start_apis(struct app *app)
{
    struct config *cfg = app->cfg;
    app->health = health_new(app->link, app->pub, app->delivery);
    struct api_worker_options wopts = {
        .workers = (unsigned)cfg->api.workers,
        .max_scans = (unsigned)cfg->api.max_concurrent_scans,
        .queue_timeout_ms = cfg->api.queue_timeout_ms,
    };
    app->api = api_worker_new(&wopts);
    app->calls = app->api ? calls_api_new(cfg, app->link, app->api) : NULL;
    if (!app->health || !app->calls)
        return false;
    health_set_sources(app->health, app->sources);
    app->reloader = reloader_new(cfg, apply_routes, app);
    app->config_api = app->reloader ? config_api_new(app->reloader, app->api) : NULL;
    if (!app->config_api)
        return false;
    struct metrics_api_deps mdeps = {
        .cfg = cfg,
        .metrics = app->metrics,
        .link = app->link,
        .pub = app->pub,
        .delivery = app->delivery,
        .worker = app->api,
        .sources = app->sources,
    };
    app->metrics_api = metrics_api_new(&mdeps);
    if (!app->metrics_api)
        return false;
    app->logs_api = logs_api_new(cfg, app->api);
    app->stream_api = stream_api_new(cfg, app->link, app->api);
    app->dlq_api =
        dlq_api_new(cfg, app->link, app->api, &app->outcomes, delivery_lanes(app->delivery));
    return app->logs_api && app->stream_api && app->dlq_api;
}

size_t app_routes(const struct app *app, const struct config *cfg, struct http_route *out,
                  size_t cap)
{
#define CTX(member) (app ? (void *)app->member : NULL)
    /* One line per route: what it answers, who may call it (.access, applied by the
     * server), and which of http_policy's rules apply (.plane; the zero value is the
     * control plane: the Host allowlist, no page of another origin, JSON for whatever
     * changes something). The /api/v1/... paths answer their pre-v1 alias too. */
    const struct http_route routes[] = {
        /* the data plane: upstream systems call it by any DNS name (no Host rule); browsers
         * on other origins cannot send it application/json without a preflight */
        {.path = "/events",
         .methods = HTTP_POST,
         .max_body = cfg->server.max_body_bytes,
         .handler = ingress_handle,
         .ctx = CTX(ingress),
         .plane = HTTP_PLANE_DATA,
         .access = HTTP_ACCESS_PUBLIC, /* but ingress.api_keys, through the gate */
         .gate = ingress_gate},
        {.path = "/health",
         .methods = HTTP_GET | HTTP_HEAD,
         .handler = health_handle,
         .ctx = CTX(health),
         .plane = HTTP_PLANE_PUBLIC,
         .access = HTTP_ACCESS_PUBLIC},
        {.path = "/metrics",
         .methods = HTTP_GET,
         .handler = metrics_api_handle_metrics,
         .ctx = CTX(metrics_api),
         .access = HTTP_ACCESS_READ},
        {.path = "/api/v1/stats",
         .alias = "/api/stats",
         .methods = HTTP_GET,
         .handler = metrics_api_handle_stats,
         .ctx = CTX(metrics_api),
         .access = HTTP_ACCESS_READ},
        {.path = "/api/v1/events",
         .alias = "/api/events",
         .methods = HTTP_GET,
         .handler = events_api_handle,
         .ctx = CTX(history),
         .access = HTTP_ACCESS_READ},
        {.path = "/api/v1/calls",
         .prefix = true,
         .methods = HTTP_GET,
         .handler = calls_api_handle,
         .ctx = CTX(calls),
         .access = HTTP_ACCESS_READ},
        {.path = "/api/v1/config",
         .alias = "/api/config",
         .methods = HTTP_GET,
         .handler = config_api_handle_get,
         .ctx = CTX(config_api),
         .access = HTTP_ACCESS_READ},
        {.path = "/api/v1/config/reload",
         .alias = "/api/config/reload",
         .methods = HTTP_POST,
         .max_body = 1024,
         .handler = config_api_handle_reload,
         .ctx = CTX(config_api),
         .access = HTTP_ACCESS_ADMIN},
        {.path = "/api/v1/logs",
         .alias = "/api/logs",
         .prefix = true,
         .methods = HTTP_GET,
         .handler = logs_api_handle,
         .ctx = CTX(logs_api),
         .access = HTTP_ACCESS_READ},
        {.path = "/api/v1/stream/messages",
         .alias = "/api/stream/messages",
         .methods = HTTP_GET,
         .handler = stream_api_handle,
         .ctx = CTX(stream_api),
         .access = HTTP_ACCESS_READ},
        {.path = "/api/v1/dlq",
         .alias = "/api/dlq",
         .prefix = true,
         .methods = HTTP_GET,
         .handler = dlq_api_handle,
         .ctx = CTX(dlq_api),
         .access = HTTP_ACCESS_READ},
        {.path = "/api/v1/dlq",
         .alias = "/api/dlq",
         .prefix = true,
         .methods = HTTP_POST,
         .max_body = 4096,
         .handler = dlq_api_handle,
         .ctx = CTX(dlq_api),
         .access = HTTP_ACCESS_ADMIN},
    };
#undef CTX
    size_t n = sizeof routes / sizeof routes[0];
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = routes[i];
    return n;
}

/* The HTTP server with its route table, and the config file watcher. */
static bool start_http(struct app *app)
{
    struct config *cfg = app->cfg;
    struct http_route routes[APP_MAX_ROUTES];
    size_t route_count = app_routes(app, cfg, routes, APP_MAX_ROUTES);
    if (route_count > APP_MAX_ROUTES) {
        log_error("app", "%zu routes, more than APP_MAX_ROUTES (%d)", route_count, APP_MAX_ROUTES);
        return false;
    }
    struct http_server_options hopts = {
        .address = cfg->server.address,
        .port = cfg->server.port,
        .max_connections = cfg->server.max_connections,
        .max_connections_per_ip = cfg->server.max_connections_per_ip,
        .connection_timeout_ms = cfg->server.connection_timeout_ms,
        .request_head_timeout_ms = cfg->server.request_head_timeout_ms,
        .request_body_timeout_ms = cfg->server.request_body_timeout_ms,
        .allowed_hosts = cfg->server.allowed_hosts,
        .allowed_host_count = cfg->server.allowed_host_count,
        /* the dashboard (web/): GET/HEAD that no route above takes */
        .fallback = web_ui_handle,
        .authorize = api_auth_authorize,
        .authorize_ctx = app->auth,
    };
    app->http = http_server_new(&hopts, routes, route_count);
    if (!app->http)
        return false;
    if (cfg->server.watch_config) {
        struct config_watch_options wo = {
            .path = cfg->path, .changed = on_config_file_changed, .closure = app};
        app->watch = config_watch_start(&wo); /* NULL is logged; API and SIGHUP still work */
    }

    return true;
}

/* Until SIGINT or SIGTERM; SIGHUP reloads the routes. */
static void wait_for_signals(struct app *app)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload_now(app, RELOAD_SIGHUP);
            continue;
        }
        log_info("app", "%s received: draining (in-flight publishes %d, deliveries %d)",
                 strsignal(sig), publisher_inflight(app->pub), delivery_inflight(app->delivery));
        break;
    }
}

int app_run(struct config *cfg)
{
    struct app *app = calloc(1, sizeof *app);
    if (!app)
        return 1;
    app->cfg = config_ref(cfg);
    pthread_mutex_init(&app->lock, NULL);
    int status = 1;
    app->auth = api_auth_new(cfg);
    log_info("app", "eventhub %s starting (config %s, %zu routes)", EVENTHUB_VERSION, cfg->path,
             cfg->route_count);
    /* Built bottom up; shutdown_app stops them top down. */
    if (app->auth && start_link(app) && start_sinks(app) && start_delivery(app) &&
        start_sources(app) && start_apis(app) && start_http(app)) {
        wait_for_signals(app);
        int64_t t0 = clock_mono_ms();
        shutdown_app(app);
        log_info("app", "stopped cleanly in %lld ms", (long long)(clock_mono_ms() - t0));
        status = 0;
    }
    free_app(app);
    return status;
}
