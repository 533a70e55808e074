/*
 * Unit tests: logs_api's day reader (logs_day_*), the part of GET /api/logs?domain=&date=
 * that needs no HTTP: lines sorted by type and domain with their bytes kept, anything
 * that is not a clean JSON object counted as invalid and left out, the stats. (Reading
 * the files: test_domain_log; the endpoint itself: test_logs_api.py.)
 */
#include "sinks/domain_log.h"
#include "api/logs_api.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static bool add(struct logs_day *d, const char *line)
{
    return logs_day_line(d, line, strlen(line));
}

static long long stat_of(const cJSON *o, const char *name)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "stats"), name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

static void test_sorting(void)
{
    cJSON *o = cJSON_CreateObject();
    struct logs_day *d = logs_day_new(o, "example.com");
    CHECK(d != NULL);
    CHECK(add(d, "{\"type\":\"received\",\"domain\":\"example.com\",\"n\":12345678901234567890}"));
    CHECK(add(d, "{\"type\":\"forwarded\",\"domain\":\"Example.COM\"}"));
    CHECK(add(d, "{\"type\":\"failed\"}")); /* no domain: the one asked for */
    CHECK(add(d, "{\"type\":\"dead_lettered\",\"domain\":\"example.com\"}"));
    CHECK(add(d, "{\"type\":\"replayed\",\"domain\":\"example.com\"}"));
    struct domain_log_read_result res = {.lines = 5};
    size_t lines = 0;
    CHECK(!logs_day_finish(d, &res, &lines));
    CHECK_INT(lines, 5);
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "events_by_domain"));
    CHECK_STR(text, "{\"example.com\":[{\"type\":\"received\",\"domain\":\"example.com\",\"n\":"
                    "12345678901234567890},{\"type\":\"replayed\",\"domain\":\"example.com\"}],"
                    "\"Example.COM\":[{\"type\":\"forwarded\",\"domain\":\"Example.COM\"}]}");
    free(text);
    text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "failed_events_by_domain"));
    CHECK_STR(text, "{\"example.com\":[{\"type\":\"failed\"},{\"type\":\"dead_lettered\","
                    "\"domain\":\"example.com\"}]}");
    free(text);
    CHECK_INT(stat_of(o, "total"), 5);
    CHECK_INT(stat_of(o, "other"), 1);
    CHECK_INT(stat_of(o, "invalid"), -1);
    cJSON_Delete(o);
}

static void test_invalid(void)
{
    cJSON *o = cJSON_CreateObject();
    struct logs_day *d = logs_day_new(o, "example.com");
    CHECK(add(d, "not json"));
    CHECK(add(d, "[1,2]"));
    CHECK(add(d, "{\"type\":\"received\"} trailing"));
    CHECK(add(d, "{\"type\":\"received\",\"x\":\"\xff\"}")); /* not UTF-8 */
    /* A byte order mark (cJSON skips it): emitted raw, it would break the answer. */
    CHECK(add(d, "\xef\xbb\xbf{\"type\":\"received\"}"));
    struct domain_log_read_result res = {.lines = 5, .more = true};
    size_t lines = 0;
    CHECK(logs_day_finish(d, &res, &lines)); /* more lines: truncated */
    CHECK_INT(stat_of(o, "invalid"), 5);
    CHECK_INT(stat_of(o, "total"), 0);
    char *text = cJSON_PrintUnformatted(o);
    cJSON *back = cJSON_Parse(text);
    CHECK(back != NULL);
    CHECK(strstr(text, "\xef\xbb\xbf") == NULL);
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(o);
}

int main(void)
{
    test_sorting();
    test_invalid();
    return unit_done();
}
