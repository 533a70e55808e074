/*
 * test_config_view — GET /api/config's JSON never carries a secret: URL userinfo (user
 * names too), query values and fragments (the rule of redact.h), header values, NATS
 * credentials, the admin token and the FreeSWITCH passwords are left out, while what an operator
 * needs (domains, URLs without the secret, header names, timeouts, endpoint limits, stream,
 * retry-stream and consumer names, the breaker settings) is there.
 */
#include "config/config.h"
#include "config/config_view.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define YAML                                                                                       \
    "server:\n"                                                                                    \
    "  admin_token: ADMIN-SECRET\n"                                                                \
    "nats:\n"                                                                                      \
    "  url: nats://natsuser:NATS-URL-SECRET@127.0.0.1:4222, nats://NATS-TOK-SECRET@h2:4222\n"      \
    "  token: NATS-TOKEN-SECRET\n"                                                                 \
    "  stream_name: CALLS\n"                                                                       \
    "esl:\n"                                                                                       \
    "  - {name: fs1, host: 10.0.0.1, password: ESL-SECRET}\n"                                      \
    "routes:\n"                                                                                    \
    "  - domain: a.example.com\n"                                                                  \
    "    events: [ingress]\n"                                                                      \
    "    endpoints:\n"                                                                             \
    "      - url: https://hook:URL-SECRET@crm.example.com/in?token=QUERY-SECRET#FRAG-SECRET\n"     \
    "        timeout: 2s\n"                                                                        \
    "        max_concurrent: 4\n"                                                                  \
    "        rate_limit: 30/m\n"                                                                   \
    "        headers:\n"                                                                           \
    "          Authorization: \"Bearer HEADER-SECRET\"\n"                                          \
    "          X-Api-Key: \"KEY-SECRET\"\n"                                                        \
    "      - http://127.0.0.1:9000/plain\n"                                                        \
    "  - domain: \"*\"\n"                                                                          \
    "    endpoints: [http://127.0.0.1:9000/any]\n"

static void test_view(void)
{
    char *errors = NULL;
    struct config *cfg = config_load_string(YAML, strlen(YAML), "t.yaml", &errors);
    CHECK(cfg != NULL);
    if (!cfg) {
        printf("#   %s\n", errors ? errors : "");
        free(errors);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    config_view_add_routes(o, cfg);
    cJSON_AddItemToObject(o, "settings", config_view_settings(cfg));
    char *text = cJSON_PrintUnformatted(o);
    CHECK(text != NULL);
    const char *secrets[] = {
        "ADMIN-SECRET",  "NATS-URL-SECRET", "NATS-TOK-SECRET", "NATS-TOKEN-SECRET",
        "ESL-SECRET",    "URL-SECRET",      "QUERY-SECRET",    "FRAG-SECRET",
        "HEADER-SECRET", "KEY-SECRET",      "Bearer",          "natsuser",
        "hook:"};
    for (size_t i = 0; text && i < sizeof secrets / sizeof secrets[0]; i++) {
        bool absent = strstr(text, secrets[i]) == NULL;
        unit_check(absent, secrets[i], __FILE__, __LINE__);
    }

    CHECK_INT(cJSON_GetObjectItem(o, "route_count")->valueint, 2);
    const cJSON *routes = cJSON_GetObjectItem(o, "routes");
    CHECK_INT(cJSON_GetArraySize(routes), 1); /* the default route is apart */
    const cJSON *r0 = cJSON_GetArrayItem(routes, 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r0, "domain")), "a.example.com");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(r0, "events"), 0)),
              "ingress");
    const cJSON *eps = cJSON_GetObjectItem(r0, "endpoints");
    const cJSON *e0 = cJSON_GetArrayItem(eps, 0), *e1 = cJSON_GetArrayItem(eps, 1);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e0, "url")),
              "https://***@crm.example.com/in?token=***#***");
    CHECK_INT(cJSON_GetObjectItem(e0, "timeout_ms")->valueint, 2000);
    CHECK_INT(cJSON_GetObjectItem(e0, "max_concurrent")->valueint, 4);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(e0, "rate_per_s")) == 0.5);
    const cJSON *h = cJSON_GetObjectItem(e0, "headers");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "Authorization")), "***");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "X-Api-Key")), "***");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e1, "url")), "http://127.0.0.1:9000/plain");
    CHECK_INT(cJSON_GetObjectItem(e1, "timeout_ms")->valueint, 3000); /* delivery.timeout */
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(e1, "headers")), 0);
    CHECK_INT(cJSON_GetObjectItem(e1, "max_concurrent")->valueint, 32); /* delivery default */
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(e1, "rate_per_s")));         /* unlimited */
    const cJSON *def = cJSON_GetObjectItem(o, "default_route");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(def, "domain")), "*");

    const cJSON *s = cJSON_GetObjectItem(o, "settings");
    const cJSON *nats = cJSON_GetObjectItem(s, "nats");
    const cJSON *servers = cJSON_GetObjectItem(nats, "servers");
    CHECK_INT(cJSON_GetArraySize(servers), 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(servers, 0)), "nats://***@127.0.0.1:4222");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(servers, 1)), "nats://***@h2:4222");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(nats, "auth"), 0)),
              "token");
    const cJSON *stream = cJSON_GetObjectItem(nats, "stream");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(stream, "name")), "CALLS");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(stream, "subject_pattern")), "events.*");
    const cJSON *retry = cJSON_GetObjectItem(nats, "retry");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(retry, "stream")), "CALLS_RETRY");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(retry, "subject_prefix")), "retry.CALLS");
    const cJSON *delivery = cJSON_GetObjectItem(s, "delivery");
    CHECK_INT(cJSON_GetObjectItem(delivery, "endpoint_max_concurrent")->valueint, 32);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(delivery, "max_retry_age_ms")) == 86400000);
    CHECK_INT(cJSON_GetObjectItem(delivery, "retry_window")->valueint, 256);
    const cJSON *breaker = cJSON_GetObjectItem(delivery, "breaker");
    CHECK_INT(cJSON_GetObjectItem(breaker, "failures")->valueint, 5);
    CHECK_INT(cJSON_GetObjectItem(breaker, "cooldown_ms")->valueint, 5000);
    CHECK_INT(cJSON_GetObjectItem(breaker, "max_cooldown_ms")->valueint, 300000);
    const cJSON *consumer = cJSON_GetObjectItem(nats, "consumer");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(consumer, "name")), "eventhub");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "server"), "admin_token_set")));
    const cJSON *esl0 = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "esl"), 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(esl0, "host")), "10.0.0.1");
    CHECK(cJSON_GetObjectItem(esl0, "password") == NULL);
    const cJSON *api = cJSON_GetObjectItem(s, "api");
    CHECK_INT(cJSON_GetObjectItem(api, "workers")->valueint, 4);
    CHECK_INT(cJSON_GetObjectItem(api, "scan_timeout_ms")->valueint, 2000);

    free(text);
    cJSON_Delete(o);
    config_unref(cfg);
}

static void test_no_default_route(void)
{
    const char *yaml = "routes: []\n";
    struct config *cfg = config_load_string(yaml, strlen(yaml), "t.yaml", NULL);
    CHECK(cfg != NULL);
    if (!cfg)
        return;
    cJSON *o = cJSON_CreateObject();
    config_view_add_routes(o, cfg);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "default_route")));
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(o, "routes")), 0);
    CHECK_INT(cJSON_GetObjectItem(o, "route_count")->valueint, 0);
    cJSON_Delete(o);
    config_unref(cfg);
}

int main(void)
{
    test_view();
    test_no_default_route();
    return unit_done();
}
