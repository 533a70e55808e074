/*
 * lane_report — how the endpoint lanes (lanes.h) are shown: the "endpoints" array of
 * GET /api/stats and the eventhub_endpoint_* families of GET /metrics.
 *
 * Reads the views the delivery thread publishes twice a second (lanes_views); runs on
 * an API worker thread. Endpoints are shown by label and display_url only (redact.h).
 */
#ifndef EVENTHUB_LANE_REPORT_H
#define EVENTHUB_LANE_REPORT_H

#include <cjson/cJSON.h>
#include <stdio.h>

struct lanes;

/* Adds "endpoints": [...] to `o` (an empty array when ls is NULL). */
void lane_report_json(struct lanes *ls, cJSON *o);

/* Writes the per-endpoint metric families (nothing when ls is NULL). */
void lane_report_metrics(struct lanes *ls, FILE *f);

#endif
