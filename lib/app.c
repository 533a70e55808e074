/* app — see app.h. Runs on the main thread. */
#include "app.h"

#include "api_worker.h"
#include "broker.h"
#include "calls_api.h"
#include "clock.h"
#include "config.h"
#include "dead_letter.h"
#include "delivery.h"
#include "domain_log.h"
#include "event_log.h"
#include "esl_source.h"
#include "eventhub_version.h"
#include "health.h"
#include "http_server.h"
#include "ingress.h"
#include "log.h"
#include "nats_link.h"
#include "publisher.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct app {
    struct config *cfg;
    struct broker *broker;
    struct nats_link *link;
    struct publisher *pub;
    struct dead_letter *dl;
    struct delivery *delivery;
    struct ingress *ingress;
    struct health *health;
    struct http_server *http;
    struct delivery *stopped_delivery; /* taken out of `delivery` by shutdown_app */
    struct esl_source **sources;       /* one per FreeSWITCH node */
    size_t source_count;
    struct api_worker *api;
    struct calls_api *calls;
    struct domain_log *events_log; /* per-domain event logs, or NULL when off */
    struct outcomes outcomes;      /* sinks registered before any producer starts */

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

static void reload_routes(struct app *app)
{
    char *errors = NULL;
    struct config *fresh = config_load(app->cfg->path, &errors);
    if (!fresh) {
        log_error("config", "reload refused, the running routes stay: %s", errors);
        free(errors);
        return;
    }
    delivery_set_config(app->delivery, fresh);
    log_info("config",
             "routes reloaded from %s (%zu routes); other settings take effect at restart",
             fresh->path, fresh->route_count);
    config_unref(fresh);
}

static void shutdown_app(struct app *app)
{
    const struct config *cfg = app->cfg;
    if (app->ingress)
        ingress_stop_accepting(app->ingress);
    if (app->health)
        health_set_shutting_down(app->health);
    /* FreeSWITCH first: stop reading, then let queued events reach JetStream. */
    for (size_t i = 0; i < app->source_count; i++)
        esl_source_stop(app->sources[i], cfg->nats.publish_timeout_ms);
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
    for (size_t i = 0; i < app->source_count; i++) {
        esl_source_stop(app->sources[i], 0);
        esl_source_free(app->sources[i]);
    }
    free(app->sources);
    ingress_free(app->ingress);
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
    broker_stop(app->broker);
    pthread_mutex_destroy(&app->lock);
    config_unref(app->cfg);
    free(app);
}

int app_run(struct config *cfg)
{
    struct app *app = calloc(1, sizeof *app);
    if (!app)
        return 1;
    app->cfg = config_ref(cfg);
    pthread_mutex_init(&app->lock, NULL);
    int status = 1;

    log_info("app", "eventhub %s starting (config %s, %zu routes)", EVENTHUB_VERSION, cfg->path,
             cfg->route_count);
    const char *url = NULL;
    if (cfg->nats.embedded) {
        app->broker = broker_start(cfg);
        if (!app->broker)
            goto out;
        url = broker_url(app->broker);
    }
    app->link = nats_link_new(cfg, url, on_nats_ready, app);
    if (!app->link)
        goto out;
    app->pub =
        publisher_new(app->link, cfg->nats.max_inflight_publishes, cfg->nats.publish_timeout_ms);
    app->dl = dead_letter_new(cfg, app->link);
    if (cfg->log.domain_logging) {
        struct domain_log_options lo = {.dir = cfg->log.dir};
        app->events_log = domain_log_new(&lo);
        if (!app->events_log)
            goto out;
        struct outcome_sink sink = event_log_sink(app->events_log);
        outcomes_add(&app->outcomes, &sink);
    }
    struct delivery *delivery =
        app->pub && app->dl ? delivery_new(cfg, app->link, app->dl, &app->outcomes) : NULL;
    if (!delivery)
        goto out;
    pthread_mutex_lock(&app->lock);
    app->delivery = delivery;
    pthread_mutex_unlock(&app->lock);

    if (cfg->esl_node_count > 0) {
        app->sources = calloc(cfg->esl_node_count, sizeof *app->sources);
        if (!app->sources)
            goto out;
        for (size_t i = 0; i < cfg->esl_node_count; i++) {
            app->sources[i] = esl_source_start(cfg, &cfg->esl_nodes[i], app->pub, &app->outcomes,
                                               app->events_log);
            if (!app->sources[i])
                goto out;
            app->source_count++;
        }
    }

    app->ingress = ingress_new(cfg, app->link, app->pub, &app->outcomes);
    app->health = health_new(app->link, app->pub, app->delivery);
    app->api = api_worker_new(256);
    app->calls = app->api ? calls_api_new(cfg, app->link, app->api) : NULL;
    if (!app->ingress || !app->health || !app->calls)
        goto out;
    health_set_sources(app->health, app->sources, app->source_count);
    const struct http_route routes[] = {
        {"/events", false, HTTP_POST, cfg->server.max_body_bytes, ingress_handle, app->ingress},
        {"/health", false, HTTP_GET | HTTP_HEAD, 0, health_handle, app->health},
        {"/api/v1/calls", true, HTTP_GET, 0, calls_api_handle, app->calls},
    };
    struct http_server_options hopts = {
        .address = cfg->server.address,
        .port = cfg->server.port,
        .max_connections = cfg->server.max_connections,
        .connection_timeout_ms = cfg->server.connection_timeout_ms,
    };
    app->http = http_server_new(&hopts, routes, sizeof routes / sizeof routes[0]);
    if (!app->http)
        goto out;

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
            reload_routes(app);
            continue;
        }
        log_info("app", "%s received: draining (in-flight publishes %d, deliveries %d)",
                 strsignal(sig), publisher_inflight(app->pub), delivery_inflight(app->delivery));
        break;
    }
    int64_t t0 = clock_mono_ms();
    shutdown_app(app);
    log_info("app", "stopped cleanly in %lld ms", (long long)(clock_mono_ms() - t0));
    status = 0;
out:
    free_app(app);
    return status;
}
