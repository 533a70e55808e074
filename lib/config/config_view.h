/*
 * config_view — a loaded config as JSON for GET /api/config, with the secrets taken
 * out.
 *
 * What is shown: the route table (domains, event kinds, endpoints with URL, timeout
 * and header names) and a summary of the settings an operator asks about (listener,
 * stream, consumer, subjects, delivery limits, FreeSWITCH servers by name and host).
 * What is never shown: header values (they carry API keys: shown as "***"), a URL's
 * userinfo, query values and fragment (the endpoints' display_url and redact.h: the
 * rule every other place that shows a URL follows too), nats.token / user / password /
 * credentials (only which kind of authentication is configured), server.admin_token
 * (only whether one is set), the ingress API keys (their names and scopes only) and
 * the FreeSWITCH passwords. The settings are an
 * allow-list: a key added to the config is not shown until it is added here.
 *
 * Pure functions; any thread. Durations are integers in milliseconds (keys ending in
 * "_ms"), sizes in bytes.
 */
#ifndef EVENTHUB_CONFIG_VIEW_H
#define EVENTHUB_CONFIG_VIEW_H

#include <cjson/cJSON.h>

struct config;

/*
 * Adds to `obj`: "routes" (every route but the default one, in file order: {"domain",
 * "events"?: [...], "endpoints": [{"url", "timeout_ms", "max_concurrent", "rate_per_s"
 * (calls per second, null = unlimited), "headers": {"Name": "***"}}]}),
 * "default_route" (the same shape with domain "*", or null) and "route_count" (all of
 * them, the default route included). Out of memory leaves members out.
 */
void config_view_add_routes(cJSON *obj, const struct config *cfg);

/* Adds "ingress": {"api_keys": [{"name", "key": "***", "domains": [...] or null (every
 * domain)}]}: the keys reload with the routes, so `cfg` is the active config. */
void config_view_add_ingress(cJSON *obj, const struct config *cfg);

/* {"server": {...}, "nats": {...}, "delivery": {...}, "log": {...}, "esl": [...],
 * "calls": {...}, "history": {...}}; NULL when out of memory. */
cJSON *config_view_settings(const struct config *cfg);

#endif
