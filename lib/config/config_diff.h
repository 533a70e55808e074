/*
 * config_diff — how a reloaded config relates to the one running: which settings it
 * changes (each takes effect only at the next start), and whether its route table fits
 * the settings that keep running.
 *
 * A hot reload swaps the route table only (endpoint timeouts, headers, max_concurrent
 * and rate_limit included). Every other key (server.*, nats.*, delivery.*, log.*, esl,
 * calls, history) was applied at startup — a listener, a
 * connection, a stream, a consumer — and is not changed halfway; a reload reports those
 * that differ so the operator knows a restart is due.
 *
 * The comparison walks the config module's key tables (config_schema.c), so a key added
 * there is compared without touching this file (custom-typed keys have a comparer
 * here). Keys are reported in their canonical spelling ("nats.stream.name" also for
 * the Go "nats.stream_name"), settings derived from a changed key too
 * ("nats.dead_letter.stream" follows the stream name), and never with their values.
 *
 * Pure functions of their arguments; any thread.
 */
#ifndef EVENTHUB_CONFIG_DIFF_H
#define EVENTHUB_CONFIG_DIFF_H

#include <stddef.h>

struct config;

struct config_diff {
    char **keys; /* canonical key paths, in file-section order; each malloc'd */
    size_t count;
};

/*
 * The settings (everything but `routes`) whose values differ between `running` and
 * `fresh`: "server.port", "nats.url" (the embedded flag or the server list),
 * "delivery.backoff", "esl" (servers added or removed), "esl[1].host", ... Fills *out
 * (empty when nothing differs) and returns 0; -1 when out of memory (*out empty).
 */
int config_diff_settings(const struct config *running, const struct config *fresh,
                         struct config_diff *out);
void config_diff_clear(struct config_diff *d); /* frees the keys; accepts an empty diff */

/*
 * Makes `fresh` run under `running`'s settings: an endpoint without a timeout of its
 * own gets running's delivery.timeout, one without a max_concurrent of its own running's
 * delivery.endpoint_max_concurrent (not the ones `fresh` was loaded with, which only
 * take effect at restart). `fresh` must not be shared with any other thread yet —
 * this is the one write to a loaded config, done before it is published.
 */
void config_adopt_running_settings(struct config *fresh, const struct config *running);

/*
 * Whether the route table of `fresh` can run under `running`'s settings: every
 * endpoint timeout plus the 2 s margin must stay below the running ack wait (a longer
 * call would be redelivered while still in flight). NULL when it fits; otherwise a
 * malloc'd newline-separated list "file:line: routes[i].endpoints[j].timeout: ...".
 */
char *config_check_routes_fit(const struct config *fresh, const struct config *running);

#endif
