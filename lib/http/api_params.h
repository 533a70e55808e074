/*
 * api_params — checks query parameters of the control-plane APIs on the HTTP thread,
 * answering 400 {"error":"invalid_parameter"} itself when one is wrong, so a handler
 * reads: if (!api_param_long(req, "limit", 1, 1000, 50, &limit)) return;
 *
 * Pure request parsing, libmicrohttpd's thread (inside a handler).
 */
#ifndef EVENTHUB_API_PARAMS_H
#define EVENTHUB_API_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_request;

/* Parses a decimal integer (nothing else, no sign but '-') in [min, max]; NULL text
 * is false. For the unit tests and for path segments. */
bool api_param_parse_long(const char *text, long long min, long long max, long long *out);

/* Query parameter `name` as an integer in [min, max]; `def` when absent. On a bad
 * value answers 400 naming the parameter and its bounds, and returns false. */
bool api_param_long(struct http_request *req, const char *name, long long min, long long max,
                    long long def, long long *out);

/* Query parameter `name` copied into out (cap bytes); "" when absent. An empty value
 * counts as absent. Answers 400 and returns false when it does not fit. */
bool api_param_string(struct http_request *req, const char *name, char *out, size_t cap);

#endif
