/* api_auth — see api_auth.h. */
#include "http/api_auth.h"

#include "config/config.h"
#include "http/http_server.h"
#include "core/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Mutable part, behind a pointer so api_auth_check can take a const object. */
struct api_auth_state {
    pthread_mutex_t lock;
    char *token; /* NULL = no token configured */
    size_t token_len;
    bool protect_read;
};

struct api_auth {
    struct api_auth_state *state;
};

static void take_settings(struct api_auth_state *s, const struct config *cfg)
{
    const char *tok = cfg->server.admin_token;
    char *copy = (tok && tok[0]) ? strdup(tok) : NULL;
    pthread_mutex_lock(&s->lock);
    if (s->token) {
        /* Do not leave the old secret in freed memory. */
        memset(s->token, 0, s->token_len);
        free(s->token);
    }
    s->token = copy;
    s->token_len = copy ? strlen(copy) : 0;
    s->protect_read = cfg->server.protect_read_apis;
    pthread_mutex_unlock(&s->lock);
    if (tok && tok[0] && !copy)
        log_error("auth", "out of memory copying the admin token: the control plane is "
                          "limited to loopback clients");
}

struct api_auth *api_auth_new(const struct config *cfg)
{
    struct api_auth *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->state = calloc(1, sizeof *a->state);
    if (!a->state) {
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->state->lock, NULL);
    take_settings(a->state, cfg);
    if (!a->state->token)
        log_info("auth", "no admin_token configured: mutating /api endpoints answer only "
                         "loopback clients");
    else if (a->state->protect_read)
        log_info("auth", "admin token required for every /api endpoint and /metrics");
    else
        log_info("auth", "admin token required for mutating /api endpoints");
    if (cfg->server.protect_read_apis && !a->state->token)
        log_warn("auth", "server.protect_read_apis is set but no admin_token is configured: "
                         "the read APIs stay open");
    return a;
}

void api_auth_update(struct api_auth *a, const struct config *cfg)
{
    if (a)
        take_settings(a->state, cfg);
}

void api_auth_free(struct api_auth *a)
{
    if (!a)
        return;
    if (a->state->token) {
        memset(a->state->token, 0, a->state->token_len);
        free(a->state->token);
    }
    pthread_mutex_destroy(&a->state->lock);
    free(a->state);
    free(a);
}

bool api_auth_token_equal(const char *expected, size_t expected_len, const char *given,
                          size_t given_len)
{
    /* Walks the whole expected token whatever the input, so the time spent says
     * nothing about how many leading bytes matched. */
    unsigned char diff = (unsigned char)(expected_len != given_len);
    for (size_t i = 0; i < expected_len; i++) {
        unsigned char g = i < given_len ? (unsigned char)given[i] : 0;
        diff |= (unsigned char)((unsigned char)expected[i] ^ g);
    }
    return expected_len > 0 && diff == 0;
}

const char *api_auth_bearer_token(const char *authorization, size_t *len)
{
    *len = 0;
    if (!authorization)
        return NULL;
    const char *p = authorization;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return NULL;
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0)
        return NULL;
    *len = n;
    return p;
}

static void deny_unauthorized(struct http_request *req, bool present)
{
    http_request_add_header(req, "WWW-Authenticate", "Bearer realm=\"eventhub\"");
    http_respond_error(req, 401, "unauthorized",
                       present ? "the bearer token is not the admin token"
                               : "this endpoint requires the admin token: send "
                                 "\"Authorization: Bearer <token>\"");
}

bool api_auth_check(const struct api_auth *a, struct http_request *req, bool mutating)
{
    if (!a)
        return true;
    struct api_auth_state *s = a->state;
    size_t given_len = 0;
    const char *given =
        api_auth_bearer_token(http_request_header(req, "Authorization"), &given_len);

    pthread_mutex_lock(&s->lock);
    bool has_token = s->token != NULL;
    bool needs_token = has_token && (mutating || s->protect_read);
    bool ok =
        !needs_token || (given && api_auth_token_equal(s->token, s->token_len, given, given_len));
    pthread_mutex_unlock(&s->lock);

    if (needs_token) {
        if (!ok) {
            log_debug("auth", "%s %s refused: %s", mutating ? "mutating" : "read",
                      http_request_path(req), given ? "wrong token" : "no token");
            deny_unauthorized(req, given != NULL);
        }
        return ok;
    }
    if (mutating && !has_token && !http_request_from_loopback(req)) {
        static struct log_ratelimit rl;
        int suppressed = 0;
        if (log_ratelimit_ok(&rl, 5, 60000, &suppressed))
            log_warn("auth",
                     "mutating request %s from a non-loopback client refused (no admin_token; "
                     "%d similar suppressed)",
                     http_request_path(req), suppressed);
        http_respond_error(req, 403, "forbidden",
                           "no admin_token is configured: the control plane only answers "
                           "loopback clients");
        return false;
    }
    return true;
}

bool api_auth_authorize(void *auth, struct http_request *req, enum http_access access)
{
    return access == HTTP_ACCESS_PUBLIC || api_auth_check(auth, req, access == HTTP_ACCESS_ADMIN);
}
