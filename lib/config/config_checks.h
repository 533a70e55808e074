/*
 * config_checks — the shape of one value, for the mappers' list items and for
 * validation: URLs, FreeSWITCH event names, route event kinds, ESL filters. Pure
 * functions of a string: any thread.
 */
#ifndef EVENTHUB_CONFIG_CHECKS_H
#define EVENTHUB_CONFIG_CHECKS_H

#include <stdbool.h>

/* NULL when `url` has one of `schemes` ("http", ...) and a host; else why not (the
   scheme case returns `bad_scheme`). */
const char *cfg_url_problem(const char *url, const char *const *schemes, const char *bad_scheme);
/* cfg_check_fn for esl[].events: a FreeSWITCH Event-Name ([A-Z0-9_]+, "ALL" among
   them) or "CUSTOM" followed by subclass names ("CUSTOM sofia::register"). */
const char *cfg_event_name_problem(const char *s);
/* cfg_check_fn for routes[].events: "ingress", "call_signal" or an event name. */
const char *cfg_route_kind_problem(const char *s);
/* cfg_check_fn for esl[].filters: "Header value". */
const char *cfg_filter_problem(const char *s);

/* A space, a control character or DEL. */
bool cfg_is_space_or_ctl(unsigned char c);
/* An ASCII letter or digit. */
bool cfg_is_alnum(unsigned char c);
/* Every byte of `s` (not empty) is alphanumeric or in `extra`. */
bool cfg_only(const char *s, const char *extra);

#endif
