/* event_log — see event_log.h. */
#include "sinks/event_log.h"

#include "core/clock.h"
#include "sinks/domain_log.h"
#include "core/json_print.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static cJSON *line_start(const char *type, const char *domain, const char *event_id,
                         uint64_t stream_seq)
{
    char ts[32];
    clock_format_rfc3339_ms(clock_wall_ms(), ts, sizeof ts);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ts", ts);
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "domain", domain ? domain : "");
    cJSON_AddStringToObject(o, "event_id", event_id ? event_id : "");
    cJSON_AddNumberToObject(o, "stream_seq", (double)stream_seq);
    return o;
}

static void line_finish(struct domain_log *dl, const char *domain, cJSON *o)
{
    char *text = json_print(o);
    cJSON_Delete(o);
    if (text)
        domain_log_write(dl, domain, text);
    free(text);
}

static void on_received(void *ctx, const struct outcome_received *r)
{
    struct domain_log *dl = ctx;
    cJSON *o = line_start("received", r->domain, r->event_id, r->stream_seq);
    cJSON_AddBoolToObject(o, "duplicate", r->duplicate);
    cJSON_AddStringToObject(o, "source", r->source);
    if (r->api_key)
        cJSON_AddStringToObject(o, "api_key", r->api_key);
    if (r->event && r->event_len > 0) {
        char *copy = malloc(r->event_len + 1);
        if (copy) {
            memcpy(copy, r->event, r->event_len);
            copy[r->event_len] = '\0';
            cJSON_AddRawToObject(o, "event", copy); /* stored events are valid JSON */
            free(copy);
        }
    }
    line_finish(dl, r->domain, o);
}

static void on_delivery(void *ctx, const struct outcome_delivery *oc)
{
    struct domain_log *dl = ctx;
    cJSON *o = line_start(oc->type, oc->domain, oc->event_id, oc->stream_seq);
    cJSON_AddNumberToObject(o, "attempt", oc->attempt);
    if (oc->max_deliver > 0)
        cJSON_AddNumberToObject(o, "max_deliver", oc->max_deliver);
    if (strcmp(oc->type, "forwarded") != 0)
        cJSON_AddBoolToObject(o, "will_retry", oc->will_retry);
    if (oc->reason)
        cJSON_AddStringToObject(o, "reason", oc->reason);
    if (oc->detail)
        cJSON_AddStringToObject(o, "detail", oc->detail);
    cJSON *eps = cJSON_AddArrayToObject(o, "endpoints");
    for (size_t i = 0; i < oc->endpoint_count; i++) {
        const struct outcome_endpoint *e = &oc->endpoints[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "url", e->url);
        if (e->status)
            cJSON_AddNumberToObject(j, "status", e->status);
        else
            cJSON_AddNullToObject(j, "status");
        if (e->error && e->error[0])
            cJSON_AddStringToObject(j, "error", e->error);
        cJSON_AddBoolToObject(j, "delivered", e->delivered);
        cJSON_AddItemToArray(eps, j);
    }
    line_finish(dl, oc->domain, o);
}

struct outcome_sink event_log_sink(struct domain_log *dl)
{
    return (struct outcome_sink){.received = on_received, .delivery = on_delivery, .ctx = dl};
}
