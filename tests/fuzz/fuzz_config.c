/*
 * fuzz_config — the config loader: YAML (libyaml's document loader), the mapping
 * through the key tables, ${ENV} expansion and every validation rule, via
 * config_load_string() (what config_load() and a reload run on the file's bytes).
 *
 * The input is the file. A rejected file must come with messages, each naming the
 * file ("fuzz.yaml:LINE: ..." or "fuzz.yaml: ..."). An accepted one is then used as
 * the service uses it: routes and ingress keys looked up, the /api/config view built (it must print
 * as JSON that parses back), and diffed against a running config in both directions, as a hot
 * reload does.
 */
#include "config/api_keys.h"
#include "config/config.h"
#include "config/config_diff.h"
#include "config/config_view.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.yaml"

static struct config *running;

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(LOG_LEVEL_ERROR); /* deprecated-key warnings on every input */
    /* Something for ${FUZZ_SECRET} and ${FUZZ_EMPTY:-x} to expand to. */
    setenv("FUZZ_SECRET", "s3cret", 1);
    setenv("FUZZ_EMPTY", "", 1);
    static const char base[] = "routes:\n"
                               "  - domain: example.com\n"
                               "    endpoints: [http://127.0.0.1:9000/webhook]\n"
                               "  - domain: \"*\"\n"
                               "    endpoints:\n"
                               "      - url: https://user:pw@hooks.example/x\n"
                               "        timeout: 5s\n"
                               "        headers: {Authorization: Bearer t}\n";
    char *errors = NULL;
    running = config_load_string(base, sizeof base - 1, "running.yaml", &errors);
    check(running != NULL);
    free(errors);
    return 0;
}

static void check_json(cJSON *o)
{
    check(o != NULL);
    char *text = cJSON_PrintUnformatted(o);
    check(text != NULL);
    cJSON *back = cJSON_Parse(text);
    check(back != NULL);
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(o);
}

static void use(struct config *cfg)
{
    static const char *const domains[] = {"example.com", "EXAMPLE.COM",  "a.b", "",
                                          "*",           "x.example.org"};
    for (size_t i = 0; i < sizeof domains / sizeof domains[0]; i++) {
        const struct route *r = config_find_route(cfg, domains[i]);
        (void)r;
    }
    (void)config_max_endpoint_timeout_ms(cfg);

    /* Ingress keys: the lookup, each key's scope for the same domains, and each key
     * allows no empty domain. */
    static const char token[] = "crm-0123456789abcdef";
    const struct api_key *found = api_keys_find(cfg, token, sizeof token - 1);
    check(!found || (found >= cfg->ingress.api_keys &&
                     found < cfg->ingress.api_keys + cfg->ingress.api_key_count));
    check(api_keys_required(cfg) == (cfg->ingress.api_key_count > 0));
    for (size_t k = 0; k < cfg->ingress.api_key_count; k++) {
        check(!api_key_allows(&cfg->ingress.api_keys[k], ""));
        for (size_t i = 0; i < sizeof domains / sizeof domains[0]; i++)
            (void)api_key_allows(&cfg->ingress.api_keys[k], domains[i]);
    }

    cJSON *view = cJSON_CreateObject();
    config_view_add_routes(view, cfg);
    config_view_add_ingress(view, cfg);
    check_json(view);
    check_json(config_view_settings(cfg));

    struct config_diff d = {0};
    check(config_diff_settings(running, cfg, &d) == 0);
    for (size_t i = 0; i < d.count; i++)
        check(d.keys[i] && d.keys[i][0]);
    config_diff_clear(&d);
    check(config_diff_settings(cfg, running, &d) == 0);
    config_diff_clear(&d);
    free(config_check_routes_fit(cfg, running));
    free(config_check_routes_fit(running, cfg));

    struct config *ref = config_ref(cfg);
    check(ref == cfg);
    config_unref(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *errors = NULL;
    struct config *cfg = config_load_string((const char *)data, size, NAME, &errors);
    if (!cfg) {
        check(errors != NULL && errors[0] != '\0');
        for (const char *line = errors; line;
             line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
            check(strncmp(line, NAME ":", strlen(NAME) + 1) == 0 ||
                  strncmp(line, "(", 1) == 0); /* "(N more errors not shown)" */
        free(errors);
        return 0;
    }
    check(errors == NULL);
    use(cfg);
    config_unref(cfg);
    return 0;
}
