/* events_api — see events_api.h. Runs on the HTTP thread. */
#include "api/events_api.h"

#include "core/event.h"
#include "sinks/event_history.h"
#include "http/http_server.h"

#include <stdlib.h>
#include <string.h>

/* A strict decimal integer in [min, max]; absent leaves *out as it is. */
static bool parse_int(const char *text, long min, long max, long *out)
{
    if (!text)
        return true;
    if (text[0] < '0' || text[0] > '9')
        return false; /* no sign, no blanks */
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (*end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_type(const char *text, unsigned *lists)
{
    if (!text || strcmp(text, "all") == 0)
        *lists = EVENT_HISTORY_ALL;
    else if (strcmp(text, "successful") == 0)
        *lists = EVENT_HISTORY_SUCCESSFUL;
    else if (strcmp(text, "failed") == 0)
        *lists = EVENT_HISTORY_FAILED;
    else
        return false;
    return true;
}

void events_api_handle(void *ctx, struct http_request *req)
{
    struct event_history *h = ctx;
    struct event_history_query q = {0};
    if (!parse_type(http_request_query(req, "type"), &q.lists)) {
        http_respond_error(req, 400, "invalid_parameter", "type must be successful, failed or all");
        return;
    }
    long limit = EVENTS_API_DEFAULT_LIMIT;
    if (!parse_int(http_request_query(req, "limit"), 1, EVENTS_API_MAX_LIMIT, &limit)) {
        http_respond_error(req, 400, "invalid_parameter", "limit must be an integer 1..1000");
        return;
    }
    q.limit = (int)limit;
    q.domain = http_request_query(req, "domain");
    if (q.domain && strlen(q.domain) > EVENT_DOMAIN_MAX) {
        http_respond_error(req, 400, "invalid_parameter", "domain is longer than 255 bytes");
        return;
    }
    size_t len = 0;
    char *json = event_history_query_json(h, &q, &len);
    if (!json) {
        http_respond_error(req, 503, "out_of_memory", "try again later");
        return;
    }
    http_respond(req, 200, "application/json", json, len);
    free(json);
}
