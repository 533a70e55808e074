/*
 * lane_report — see lane_report.h.
 */
#include "delivery/lane_report.h"

#include "core/clock.h"
#include "delivery/lanes.h"
#include "core/metrics_text.h"

#include <stdlib.h>
#include <string.h>

static const char *const STATES[] = {"healthy", "failing",      "open",   "half_open",
                                     "paused",  "rate_limited", "retired"};

void lane_report_json(struct lanes *ls, cJSON *o)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "endpoints");
    size_t n = 0;
    struct lane_view *v = ls ? lanes_views(ls, &n) : NULL;
    for (size_t i = 0; arr && i < n; i++) {
        const struct lane_view *l = &v[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "domain", l->domain);
        cJSON_AddStringToObject(e, "label", l->label);
        cJSON_AddStringToObject(e, "url", l->url);
        cJSON_AddStringToObject(e, "key", l->key);
        cJSON_AddStringToObject(e, "state", l->state);
        cJSON_AddNumberToObject(e, "in_flight", l->in_flight);
        cJSON_AddNumberToObject(e, "waiting", l->waiting);
        cJSON_AddNumberToObject(e, "parked", (double)l->parked);
        cJSON_AddNumberToObject(e, "consecutive_failures", l->consecutive_failures);
        if (l->last_status)
            cJSON_AddNumberToObject(e, "last_status", l->last_status);
        else
            cJSON_AddNullToObject(e, "last_status");
        if (l->last_error[0])
            cJSON_AddStringToObject(e, "last_error", l->last_error);
        else
            cJSON_AddNullToObject(e, "last_error");
        if (l->next_try_wall_ms) {
            char ts[32];
            clock_format_rfc3339_ms(l->next_try_wall_ms, ts, sizeof ts);
            cJSON_AddStringToObject(e, "next_try_at", ts);
        } else {
            cJSON_AddNullToObject(e, "next_try_at");
        }
        cJSON_AddNumberToObject(e, "delivered", (double)l->delivered);
        cJSON_AddNumberToObject(e, "failed", (double)l->failed);
        cJSON_AddItemToArray(arr, e);
    }
    free(v);
}

void lane_report_metrics(struct lanes *ls, FILE *f)
{
    if (!ls)
        return;
    size_t n = 0;
    struct lane_view *v = lanes_views(ls, &n);
    metrics_text_family(f, "eventhub_endpoint_state", "gauge",
                        "1 for the endpoint's current delivery state, 0 for the others.");
    for (size_t i = 0; i < n; i++) {
        for (size_t s = 0; s < sizeof STATES / sizeof STATES[0]; s++) {
            struct metrics_label l[4] = {{"domain", v[i].domain},
                                         {"endpoint", v[i].label},
                                         {"key", v[i].key},
                                         {"state", STATES[s]}};
            metrics_text_sample(f, "eventhub_endpoint_state", l, 4,
                                strcmp(v[i].state, STATES[s]) == 0);
        }
    }
    static const struct {
        const char *name, *help;
    } gauges[] = {
        {"eventhub_endpoint_in_flight", "Calls to the endpoint in flight."},
        {"eventhub_endpoint_waiting", "Calls to the endpoint waiting in eventhub."},
        {"eventhub_endpoint_parked",
         "The endpoint's deliveries parked in the retry stream (-1: not known yet)."},
        {"eventhub_endpoint_consecutive_failures", "Failed calls in a row."},
    };
    for (size_t g = 0; g < sizeof gauges / sizeof gauges[0]; g++) {
        metrics_text_family(f, gauges[g].name, "gauge", gauges[g].help);
        for (size_t i = 0; i < n; i++) {
            struct metrics_label l[3] = {
                {"domain", v[i].domain}, {"endpoint", v[i].label}, {"key", v[i].key}};
            int64_t val = g == 0   ? v[i].in_flight
                          : g == 1 ? v[i].waiting
                          : g == 2 ? v[i].parked
                                   : v[i].consecutive_failures;
            metrics_text_sample_signed(f, gauges[g].name, l, 3, val);
        }
    }
    free(v);
}
