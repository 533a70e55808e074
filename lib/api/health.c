/* health — see health.h. */
#include "api/health.h"

#include "core/clock.h"
#include "delivery/delivery.h"
#include "eventhub_version.h"
#include "http/http_server.h"
#include "nats/nats_link.h"
#include "nats/publisher.h"
#include "sources/source.h"
#include "core/json_print.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdlib.h>

struct health {
    struct nats_link *link;
    struct publisher *pub;
    struct delivery *delivery;
    int64_t started_ms;
    _Atomic bool shutting_down;
    const struct source_set *sources;
};

void health_set_sources(struct health *h, const struct source_set *sources)
{
    h->sources = sources;
}

struct health *health_new(struct nats_link *link, struct publisher *pub, struct delivery *delivery)
{
    struct health *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->link = link;
    h->pub = pub;
    h->delivery = delivery;
    h->started_ms = clock_mono_ms();
    atomic_init(&h->shutting_down, false);
    return h;
}

void health_free(struct health *h)
{
    free(h);
}

void health_set_shutting_down(struct health *h)
{
    atomic_store(&h->shutting_down, true);
}

void health_handle(void *ctx, struct http_request *req)
{
    struct health *h = ctx;
    bool ready = nats_link_ready(h->link);
    bool stopping = atomic_load(&h->shutting_down);
    char server[256];
    nats_link_server(h->link, server, sizeof server);

    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", stopping ? "shutting_down" : ready ? "ok" : "unavailable");
    cJSON_AddStringToObject(o, "nats", nats_link_connected(h->link) ? "connected" : "disconnected");
    cJSON_AddStringToObject(o, "jetstream", nats_link_state(h->link));
    cJSON_AddStringToObject(o, "server", server);
    char problem[400];
    bool have_problem = nats_link_problem(h->link, problem, sizeof problem);
    if (!ready || stopping)
        cJSON_AddStringToObject(o, "reason",
                                stopping       ? "eventhub is shutting down"
                                : have_problem ? problem
                                               : nats_link_state(h->link));
    cJSON_AddNumberToObject(o, "inflight_publishes", publisher_inflight(h->pub));
    cJSON_AddNumberToObject(o, "inflight_deliveries", delivery_inflight(h->delivery));
    cJSON_AddNumberToObject(o, "uptime_seconds",
                            (double)((clock_mono_ms() - h->started_ms) / 1000));
    cJSON_AddStringToObject(o, "version", EVENTHUB_VERSION);
    source_set_add_json(h->sources, o);
    char *text = json_print(o);
    cJSON_Delete(o);
    http_respond_json(req, ready && !stopping ? 200 : 503, text ? text : "{}");
    free(text);
}
