/*
 * api_auth — who may use the control plane (the /api/... routes and /metrics).
 *
 * Owns a copy of the admin token (server.admin_token, or EVENTHUB_ADMIN_TOKEN through
 * the config module) and server.protect_read_apis. The rules:
 *
 *   mutating request (replay, reload, ...):
 *     token configured  → "Authorization: Bearer <token>" required, from any client;
 *     no token          → loopback clients only (403 for the others).
 *   read request (GET /api/..., /metrics):
 *     protect_read_apis and a token configured → the token is required;
 *     otherwise                                → open.
 *
 * http_server applies these rules to every route from its `.access` (the authorize
 * hook below): READ routes are reads, ADMIN routes are mutating, PUBLIC routes
 * (/health, POST /events) never get here. No handler calls this itself.
 *
 * "Loopback clients only" trusts the operator's own browser, whatever page it shows:
 * before a handler runs, http_server (http_policy, the control plane's rules) has
 * refused pages of other origins (Sec-Fetch-Site, Origin), changes not sent as
 * application/json, and Host names that are not this server's (DNS rebinding).
 *
 * Threads: api_auth_check runs on libmicrohttpd's thread (when a request's head is
 * complete, before its handler). api_auth_update may run on any other thread (a config
 * reload): the settings are guarded by a mutex held only while copying/comparing.
 * Tokens are compared in constant time for a given token length.
 */
#ifndef EVENTHUB_API_AUTH_H
#define EVENTHUB_API_AUTH_H

#include "http/http_server.h"

#include <stdbool.h>
#include <stddef.h>

struct api_auth;
struct config;
struct http_request;

/* Copies the settings out of `cfg` (borrowed). NULL on allocation failure. */
struct api_auth *api_auth_new(const struct config *cfg);
/* Takes the settings of another config (thread-safe). Not called on reload today: the
 * admin token and protect_read_apis take effect at restart, like every key but routes. */
void api_auth_update(struct api_auth *a, const struct config *cfg);
void api_auth_free(struct api_auth *a); /* accepts NULL */

/*
 * True when the request may go on. When it
 * returns false the request has been answered already — 401 {"error":"unauthorized"}
 * with WWW-Authenticate: Bearer (token missing or wrong), or 403 {"error":"forbidden"}
 * (mutating request from a non-loopback client while no token is configured) — and
 * the handler must simply return. `a` NULL allows everything (tests, tools).
 */
bool api_auth_check(const struct api_auth *a, struct http_request *req, bool mutating);

/* http_server's authorize hook (ctx = the api_auth): ADMIN is mutating, READ a read. */
bool api_auth_authorize(void *auth, struct http_request *req, enum http_access access);

/* Helpers, exposed for the unit tests. */

/* Constant-time (in the expected token's length) comparison of two tokens. */
bool api_auth_token_equal(const char *expected, size_t expected_len, const char *given,
                          size_t given_len);
/* The token of an "Authorization: Bearer <token>" value (scheme case-insensitive,
 * surrounding blanks skipped); NULL when the header is absent or not Bearer. */
const char *api_auth_bearer_token(const char *authorization, size_t *len);

#endif
