/* Unit tests: event_history (the in-memory store behind GET /api/events). */
#include "sinks/event_history.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct event_history *make(int max_domains, int per_domain, size_t max_event_bytes,
                                  size_t max_total_bytes)
{
    struct event_history_options o = {
        .max_domains = max_domains,
        .per_domain = per_domain,
        .max_event_bytes = max_event_bytes,
        .max_total_bytes = max_total_bytes,
        .max_deliver = 5,
    };
    return event_history_new(&o);
}

static void received(struct event_history *h, const char *domain, const char *id, uint64_t seq,
                     const char *event)
{
    struct outcome_received r = {
        .domain = domain,
        .event_id = id,
        .stream_seq = seq,
        .source = "http",
        .event = event,
        .event_len = event ? strlen(event) : 0,
    };
    event_history_received(h, &r);
}

/* One attempt whose first `failing` endpoints answer 500 and the rest 200. */
static void attempt(struct event_history *h, const char *type, const char *domain, const char *id,
                    uint64_t seq, int n, bool will_retry, size_t endpoints, size_t failing,
                    const char *event)
{
    struct outcome_endpoint eps[32];
    char urls[32][48];
    for (size_t i = 0; i < endpoints; i++) {
        snprintf(urls[i], sizeof urls[i], "http://127.0.0.1:9/e%zu", i);
        bool bad = i < failing;
        eps[i] = (struct outcome_endpoint){.url = urls[i],
                                           .status = bad ? 500 : 200,
                                           .error = bad ? "HTTP 500" : "",
                                           .delivered = !bad,
                                           .called = true,
                                           .latency_us = 1000};
    }
    bool dead = strcmp(type, "dead_lettered") == 0;
    struct outcome_delivery d = {
        .type = type,
        .domain = domain,
        .event_id = id,
        .stream_seq = seq,
        .attempt = n,
        .max_deliver = 3,
        .will_retry = will_retry,
        .reason = dead ? "max_deliveries_exceeded" : NULL,
        .detail = dead ? "1 of 2 endpoint(s) still failing" : NULL,
        .endpoints = eps,
        .endpoint_count = endpoints,
        .event = event,
        .event_len = event ? strlen(event) : 0,
    };
    event_history_delivery(h, &d);
}

static cJSON *query(struct event_history *h, unsigned lists, const char *domain, int limit)
{
    struct event_history_query q = {.lists = lists, .domain = domain, .limit = limit};
    size_t len = 0;
    char *text = event_history_query_json(h, &q, &len);
    CHECK(text != NULL);
    if (!text)
        return cJSON_CreateObject();
    CHECK_INT(len, strlen(text));
    cJSON *j = cJSON_Parse(text);
    CHECK(j != NULL);
    free(text);
    return j ? j : cJSON_CreateObject();
}

static cJSON *list_of(const cJSON *root, const char *map, const char *domain)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, map), domain);
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : "(not a string)";
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static bool is_true(const cJSON *o, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static const cJSON *item(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

#define EV(id) "{\"domain\":\"example.com\",\"event_id\":\"" id "\",\"n\":1}"

static void test_lifecycle(void)
{
    struct event_history *h = make(10, 10, 4096, 0);
    received(h, "Example.COM", "e1", 1, EV("e1"));
    cJSON *j = query(h, EVENT_HISTORY_ALL, NULL, 50);
    const cJSON *ok = list_of(j, "events_by_domain", "example.com");
    CHECK_INT(cJSON_GetArraySize(ok), 1);
    const cJSON *e = cJSON_GetArrayItem(ok, 0);
    CHECK_STR(str(e, "event_id"), "e1");
    CHECK_STR(str(e, "domain"), "example.com");
    CHECK_STR(str(e, "status"), "pending");
    CHECK_INT(num(e, "stream_seq"), 1);
    CHECK_INT(num(e, "delivery_attempt"), 0);
    CHECK_INT(num(e, "max_deliver"), 5);
    CHECK(cJSON_IsFalse(item(e, "will_retry")));
    CHECK_INT(cJSON_GetArraySize(item(e, "endpoints")), 0);
    CHECK_INT(cJSON_GetArraySize(item(e, "attempts")), 0);
    CHECK_INT(num(item(e, "payload"), "n"), 1);
    CHECK(cJSON_IsFalse(item(e, "truncated")));
    CHECK(strlen(str(e, "received_at")) == 24);
    CHECK(cJSON_GetObjectItemCaseSensitive(item(j, "failed_events_by_domain"), "example.com") ==
          NULL);
    cJSON_Delete(j);

    /* Fails once (will retry): moves to the failed list. */
    attempt(h, "failed", "example.com", "e1", 1, 1, true, 2, 1, EV("e1"));
    j = query(h, EVENT_HISTORY_ALL, NULL, 50);
    CHECK(list_of(j, "events_by_domain", "example.com") == NULL);
    e = cJSON_GetArrayItem(list_of(j, "failed_events_by_domain", "example.com"), 0);
    CHECK_STR(str(e, "status"), "failed");
    CHECK(is_true(e, "will_retry"));
    CHECK_INT(num(e, "delivery_attempt"), 1);
    CHECK_INT(num(e, "max_deliver"), 3);
    const cJSON *eps = item(e, "endpoints");
    CHECK_INT(cJSON_GetArraySize(eps), 2);
    CHECK_STR(str(cJSON_GetArrayItem(eps, 0), "url"), "http://127.0.0.1:9/e0");
    CHECK_INT(num(cJSON_GetArrayItem(eps, 0), "status"), 500);
    CHECK_STR(str(cJSON_GetArrayItem(eps, 0), "error"), "HTTP 500");
    CHECK(cJSON_IsFalse(item(cJSON_GetArrayItem(eps, 0), "delivered")));
    CHECK(cJSON_IsNull(item(cJSON_GetArrayItem(eps, 1), "error")));
    CHECK(is_true(cJSON_GetArrayItem(eps, 1), "delivered"));
    cJSON_Delete(j);

    /* Succeeds on attempt 2: back to the successful list, the failure kept in attempts. */
    attempt(h, "forwarded", "example.com", "e1", 1, 2, false, 2, 0, EV("e1"));
    j = query(h, EVENT_HISTORY_ALL, NULL, 50);
    CHECK(list_of(j, "failed_events_by_domain", "example.com") == NULL);
    e = cJSON_GetArrayItem(list_of(j, "events_by_domain", "example.com"), 0);
    CHECK_STR(str(e, "status"), "successful");
    CHECK(cJSON_IsFalse(item(e, "will_retry")));
    CHECK_INT(num(e, "delivery_attempt"), 2);
    const cJSON *atts = item(e, "attempts");
    CHECK_INT(cJSON_GetArraySize(atts), 2);
    CHECK_STR(str(cJSON_GetArrayItem(atts, 0), "outcome"), "failed");
    CHECK_STR(str(cJSON_GetArrayItem(atts, 1), "outcome"), "forwarded");
    CHECK_INT(num(cJSON_GetArrayItem(atts, 1), "attempt"), 2);
    cJSON_Delete(j);

    /* A late report of attempt 1 is stale: ignored. */
    attempt(h, "failed", "example.com", "e1", 1, 1, true, 2, 2, NULL);
    j = query(h, EVENT_HISTORY_ALL, NULL, 50);
    e = cJSON_GetArrayItem(list_of(j, "events_by_domain", "example.com"), 0);
    CHECK_STR(str(e, "status"), "successful");
    CHECK_INT(cJSON_GetArraySize(item(e, "attempts")), 2);
    cJSON_Delete(j);
    event_history_free(h);
}

static void test_dead_letter(void)
{
    struct event_history *h = make(10, 10, 4096, 0);
    received(h, "example.com", "d1", 7, EV("d1"));
    attempt(h, "failed", "example.com", "d1", 7, 1, true, 2, 1, NULL);
    attempt(h, "failed", "example.com", "d1", 7, 2, false, 2, 1, NULL);
    attempt(h, "dead_lettered", "example.com", "d1", 7, 2, false, 2, 1, NULL);
    cJSON *j = query(h, EVENT_HISTORY_FAILED, NULL, 50);
    CHECK(cJSON_GetArraySize(item(j, "events_by_domain")) == 0);
    const cJSON *e = cJSON_GetArrayItem(list_of(j, "failed_events_by_domain", "example.com"), 0);
    CHECK_STR(str(e, "status"), "dead_lettered");
    CHECK(cJSON_IsFalse(item(e, "will_retry")));
    CHECK_STR(str(e, "reason"), "max_deliveries_exceeded");
    CHECK_STR(str(e, "detail"), "1 of 2 endpoint(s) still failing");
    const cJSON *atts = item(e, "attempts");
    CHECK_INT(cJSON_GetArraySize(atts), 2); /* the dead letter replaced attempt 2's "failed" */
    CHECK_STR(str(cJSON_GetArrayItem(atts, 1), "outcome"), "dead_lettered");
    CHECK_INT(cJSON_GetArraySize(item(cJSON_GetArrayItem(atts, 1), "endpoints")), 2);
    cJSON_Delete(j);

    /* type=successful leaves the failed map empty. */
    j = query(h, EVENT_HISTORY_SUCCESSFUL, NULL, 50);
    CHECK(cJSON_GetArraySize(item(j, "failed_events_by_domain")) == 0);
    CHECK(cJSON_GetArraySize(item(j, "events_by_domain")) == 0);
    cJSON_Delete(j);
    event_history_free(h);
}

/* A dead letter replayed (same event_id, a higher stream_seq, attempts from 1 again)
 * and delivered is successful; a late outcome of the old copy changes nothing. */
static void test_replayed_dead_letter(void)
{
    struct event_history *h = make(10, 10, 4096, 0);
    received(h, "example.com", "r1", 7, EV("r1"));
    attempt(h, "failed", "example.com", "r1", 7, 1, true, 2, 1, NULL);
    attempt(h, "dead_lettered", "example.com", "r1", 7, 2, false, 2, 1, NULL);
    received(h, "example.com", "r1", 9, EV("r1")); /* the replay */
    attempt(h, "forwarded", "example.com", "r1", 9, 1, false, 2, 1, NULL);
    cJSON *j = query(h, EVENT_HISTORY_ALL, NULL, 50);
    CHECK(list_of(j, "failed_events_by_domain", "example.com") == NULL);
    const cJSON *e = cJSON_GetArrayItem(list_of(j, "events_by_domain", "example.com"), 0);
    CHECK_STR(str(e, "status"), "successful");
    CHECK_INT(num(e, "stream_seq"), 9);
    CHECK_INT(num(e, "delivery_attempt"), 1);
    const cJSON *atts = item(e, "attempts");
    CHECK_INT(cJSON_GetArraySize(atts), 3); /* failed, dead_lettered, then the replay's */
    CHECK_STR(str(cJSON_GetArrayItem(atts, 1), "outcome"), "dead_lettered");
    CHECK_STR(str(cJSON_GetArrayItem(atts, 2), "outcome"), "forwarded");
    CHECK_INT(num(cJSON_GetArrayItem(atts, 2), "attempt"), 1);
    cJSON_Delete(j);

    /* the old copy's outcome, reported late, is stale */
    attempt(h, "dead_lettered", "example.com", "r1", 7, 2, false, 2, 1, NULL);
    j = query(h, EVENT_HISTORY_ALL, NULL, 50);
    e = cJSON_GetArrayItem(list_of(j, "events_by_domain", "example.com"), 0);
    CHECK_STR(str(e, "status"), "successful");
    CHECK_INT(cJSON_GetArraySize(item(e, "attempts")), 3);
    cJSON_Delete(j);
    event_history_free(h);
}

static void test_per_domain_bound(void)
{
    struct event_history *h = make(10, 5, 4096, 0);
    char id[16];
    for (int i = 0; i < 15; i++) {
        snprintf(id, sizeof id, "bad%d", i);
        received(h, "example.com", id, (uint64_t)i + 100, "{}");
        attempt(h, "failed", "example.com", id, (uint64_t)i + 100, 1, true, 1, 1, NULL);
    }
    for (int i = 0; i < 15; i++) {
        snprintf(id, sizeof id, "ok%d", i);
        received(h, "example.com", id, (uint64_t)i + 1, "{}");
    }
    struct event_history_stats st;
    event_history_get_stats(h, &st);
    CHECK_INT(st.events, 10);
    CHECK_INT(st.domains, 1);
    CHECK_INT(st.evicted_events, 20);
    cJSON *j = query(h, EVENT_HISTORY_ALL, "EXAMPLE.com", 1000);
    const cJSON *ok = list_of(j, "events_by_domain", "example.com");
    const cJSON *bad = list_of(j, "failed_events_by_domain", "example.com");
    CHECK_INT(cJSON_GetArraySize(ok), 5);
    CHECK_INT(cJSON_GetArraySize(bad), 5);
    CHECK_STR(str(cJSON_GetArrayItem(ok, 0), "event_id"), "ok14"); /* newest first */
    CHECK_STR(str(cJSON_GetArrayItem(ok, 4), "event_id"), "ok10");
    CHECK_STR(str(cJSON_GetArrayItem(bad, 0), "event_id"), "bad14");
    cJSON_Delete(j);

    /* limit counts per domain and per map. */
    j = query(h, EVENT_HISTORY_ALL, NULL, 2);
    CHECK_INT(cJSON_GetArraySize(list_of(j, "events_by_domain", "example.com")), 2);
    CHECK_INT(cJSON_GetArraySize(list_of(j, "failed_events_by_domain", "example.com")), 2);
    cJSON_Delete(j);

    /* An unknown domain: empty maps. */
    j = query(h, EVENT_HISTORY_ALL, "other.test", 10);
    CHECK(cJSON_GetArraySize(item(j, "events_by_domain")) == 0);
    CHECK(cJSON_GetArraySize(item(j, "failed_events_by_domain")) == 0);
    cJSON_Delete(j);
    event_history_free(h);
}

static void test_domain_eviction(void)
{
    struct event_history *h = make(3, 5, 4096, 0);
    received(h, "a.test", "1", 1, "{}");
    received(h, "b.test", "2", 2, "{}");
    received(h, "c.test", "3", 3, "{}");
    attempt(h, "forwarded", "a.test", "1", 1, 1, false, 1, 0, NULL); /* a is active again */
    received(h, "d.test", "4", 4, "{}");                             /* b goes */
    struct event_history_stats st;
    event_history_get_stats(h, &st);
    CHECK_INT(st.domains, 3);
    CHECK_INT(st.events, 3);
    CHECK_INT(st.evicted_domains, 1);
    cJSON *j = query(h, EVENT_HISTORY_ALL, NULL, 10);
    const cJSON *ok = item(j, "events_by_domain");
    CHECK(item(ok, "b.test") == NULL);
    CHECK(item(ok, "a.test") != NULL && item(ok, "c.test") != NULL && item(ok, "d.test") != NULL);
    /* Most recently active first. */
    CHECK_STR(ok->child ? ok->child->string : "", "d.test");
    cJSON_Delete(j);
    event_history_free(h);
}

static void test_truncation(void)
{
    struct event_history *h = make(10, 10, 256, 0);
    /* 300 bytes of "é" (2 bytes each) inside a JSON string: the cut lands mid-character. */
    char big[1024];
    size_t n = (size_t)snprintf(big, sizeof big, "{\"domain\":\"example.com\",\"x\":\"");
    while (n < 600) {
        big[n++] = (char)0xC3;
        big[n++] = (char)0xA9;
    }
    memcpy(big + n, "\"}", 3);
    received(h, "example.com", "big", 1, big);
    received(h, "example.com", "small", 2, "{\"domain\":\"example.com\"}");
    cJSON *j = query(h, EVENT_HISTORY_ALL, NULL, 10);
    const cJSON *ok = list_of(j, "events_by_domain", "example.com");
    const cJSON *e = cJSON_GetArrayItem(ok, 1);
    CHECK_STR(str(e, "event_id"), "big");
    CHECK(is_true(e, "truncated"));
    CHECK_INT(num(e, "payload_bytes"), strlen(big));
    const cJSON *p = item(e, "payload");
    CHECK(cJSON_IsString(p));
    size_t plen = cJSON_IsString(p) ? strlen(p->valuestring) : 0;
    CHECK(plen <= 256 && plen >= 254);
    CHECK(plen > 0 && ((unsigned char)p->valuestring[plen - 1] & 0xC0) == 0x80); /* whole é */
    e = cJSON_GetArrayItem(ok, 0);
    CHECK(cJSON_IsFalse(item(e, "truncated")));
    CHECK_STR(str(item(e, "payload"), "domain"), "example.com");
    cJSON_Delete(j);
    event_history_free(h);
}

static void test_out_of_order_and_odd_input(void)
{
    struct event_history *h = make(10, 10, 4096, 0);
    /* The delivery outcome beats the publish ack. */
    attempt(h, "forwarded", "example.com", "x1", 0, 1, false, 1, 0, EV("x1"));
    received(h, "example.com", "x1", 42, EV("x1"));
    /* A delivery of an unknown event with a payload that is not JSON. */
    attempt(h, "dead_lettered", "example.com", "", 43, 1, false, 0, 0, "{\"domain\":not json");
    /* A duplicate of an unknown event, an outcome with no domain, one with no identity. */
    struct outcome_received dup = {.domain = "example.com",
                                   .event_id = "zz",
                                   .stream_seq = 9,
                                   .duplicate = true,
                                   .event = "{}",
                                   .event_len = 2};
    event_history_received(h, &dup);
    received(h, "", "nodomain", 5, "{}");
    received(h, NULL, "nodomain", 5, "{}");
    received(h, "example.com", "", 0, "{}");
    /* Invalid UTF-8 in an event id and a URL-less endpoint list. */
    received(h, "example.com", "bad\xff", 44, "{\"k\":\"\xff\"}");

    struct event_history_stats st;
    event_history_get_stats(h, &st);
    CHECK_INT(st.events, 3);
    cJSON *j = query(h, EVENT_HISTORY_ALL, NULL, 10);
    const cJSON *ok = list_of(j, "events_by_domain", "example.com");
    CHECK_INT(cJSON_GetArraySize(ok), 2);
    const cJSON *e = cJSON_GetArrayItem(ok, 1);
    CHECK_STR(str(e, "event_id"), "x1");
    CHECK_STR(str(e, "status"), "successful"); /* the late "received" did not reset it */
    CHECK_INT(num(e, "stream_seq"), 42);
    CHECK(cJSON_IsObject(item(e, "payload")));
    e = cJSON_GetArrayItem(ok, 0);
    CHECK_STR(str(e, "event_id"), "bad?");
    CHECK_STR(str(e, "payload"), "{\"k\":\"?\"}"); /* not clean UTF-8: kept as a string */
    const cJSON *bad = list_of(j, "failed_events_by_domain", "example.com");
    e = cJSON_GetArrayItem(bad, 0);
    CHECK(cJSON_IsNull(item(e, "event_id")));
    CHECK_INT(num(e, "stream_seq"), 43);
    CHECK_STR(str(e, "status"), "dead_lettered");
    CHECK_STR(str(e, "payload"), "{\"domain\":not json");
    CHECK(cJSON_IsFalse(item(e, "truncated")));
    cJSON_Delete(j);
    event_history_free(h);
}

/* A delivery outcome, dated `age_ms` after the event was stored (0 = unknown). */
static void forwarded_aged(struct event_history *h, const char *id, int64_t age_ms)
{
    struct outcome_endpoint ep = {.url = "http://127.0.0.1:9/",
                                  .status = 200,
                                  .error = "",
                                  .delivered = true,
                                  .called = true,
                                  .latency_us = 1};
    struct outcome_delivery d = {.type = "forwarded",
                                 .domain = "example.com",
                                 .event_id = id,
                                 .stream_seq = 100,
                                 .attempt = 1,
                                 .max_deliver = 3,
                                 .endpoints = &ep,
                                 .endpoint_count = 1,
                                 .e2e_latency_us = age_ms * 1000,
                                 .event = "{}",
                                 .event_len = 2};
    event_history_delivery(h, &d);
}

static void test_late_outcomes_and_order(void)
{
    struct event_history *h = make(10, 3, 4096, 0);
    received(h, "example.com", "e1", 1, "{}");
    received(h, "example.com", "e2", 2, "{}");
    received(h, "example.com", "e3", 3, "{}");
    received(h, "example.com", "e4", 4, "{}"); /* e1 goes */
    /* e1's outcome comes late: it was stored 60 s ago, older than all kept: not re-added. */
    forwarded_aged(h, "e1", 60000);
    struct event_history_stats st;
    event_history_get_stats(h, &st);
    CHECK_INT(st.events, 3);
    cJSON *j = query(h, EVENT_HISTORY_ALL, NULL, 10);
    const cJSON *ok = list_of(j, "events_by_domain", "example.com");
    CHECK_INT(cJSON_GetArraySize(ok), 3);
    CHECK_STR(str(cJSON_GetArrayItem(ok, 0), "event_id"), "e4");
    CHECK_STR(str(cJSON_GetArrayItem(ok, 2), "event_id"), "e2");
    cJSON_Delete(j);

    /* An event failing moves to the failed list; when it then succeeds it comes back at
     * its place by received time (behind e4, which is newer), not at the head. */
    attempt(h, "failed", "example.com", "e3", 3, 1, true, 1, 1, NULL);
    received(h, "example.com", "e5", 5, "{}");
    attempt(h, "forwarded", "example.com", "e3", 3, 2, false, 1, 0, NULL);
    j = query(h, EVENT_HISTORY_ALL, NULL, 10);
    ok = list_of(j, "events_by_domain", "example.com");
    CHECK_STR(str(cJSON_GetArrayItem(ok, 0), "event_id"), "e5");
    CHECK_STR(str(cJSON_GetArrayItem(ok, 1), "event_id"), "e4");
    CHECK_STR(str(cJSON_GetArrayItem(ok, 2), "event_id"), "e3");
    CHECK_INT(cJSON_GetArraySize(ok), 3); /* e2, the oldest, made room */
    CHECK(list_of(j, "failed_events_by_domain", "example.com") == NULL);
    cJSON_Delete(j);

    /* An outcome for an unknown event stored a moment ago is added by its time. */
    forwarded_aged(h, "e6", 0);
    j = query(h, EVENT_HISTORY_ALL, NULL, 10);
    ok = list_of(j, "events_by_domain", "example.com");
    CHECK_STR(str(cJSON_GetArrayItem(ok, 0), "event_id"), "e6");
    CHECK_STR(str(cJSON_GetArrayItem(ok, 0), "status"), "successful");
    CHECK_INT(cJSON_GetArraySize(ok), 3);
    cJSON_Delete(j);
    event_history_free(h);
}

static void test_attempt_and_endpoint_bounds(void)
{
    struct event_history *h = make(10, 10, 4096, 0);
    received(h, "example.com", "r", 1, "{}");
    for (int i = 1; i <= 15; i++)
        attempt(h, "failed", "example.com", "r", 1, i, true, 20, 20, NULL);
    cJSON *j = query(h, EVENT_HISTORY_FAILED, NULL, 10);
    const cJSON *e = cJSON_GetArrayItem(list_of(j, "failed_events_by_domain", "example.com"), 0);
    const cJSON *atts = item(e, "attempts");
    CHECK_INT(cJSON_GetArraySize(atts), EVENT_HISTORY_MAX_ATTEMPTS);
    CHECK_INT(num(e, "attempts_omitted"), 15 - EVENT_HISTORY_MAX_ATTEMPTS);
    CHECK_INT(num(cJSON_GetArrayItem(atts, 0), "attempt"), 15 - EVENT_HISTORY_MAX_ATTEMPTS + 1);
    CHECK_INT(cJSON_GetArraySize(item(e, "endpoints")), EVENT_HISTORY_MAX_ENDPOINTS);
    CHECK_INT(num(cJSON_GetArrayItem(atts, 0), "endpoints_omitted"),
              20 - EVENT_HISTORY_MAX_ENDPOINTS);
    cJSON_Delete(j);
    event_history_free(h);
}

static void test_byte_budget(void)
{
    /* ~1 KiB payloads, a 16 KiB budget: the oldest go first, the newest stays. */
    struct event_history *h = make(100, 1000, 2048, 16 * 1024);
    char payload[1100];
    memset(payload, 'a', sizeof payload);
    memcpy(payload, "{\"p\":\"", 6);
    memcpy(payload + sizeof payload - 3, "\"}", 3);
    char id[16], dom[32];
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof id, "b%d", i);
        snprintf(dom, sizeof dom, "d%d.test", i % 7);
        received(h, dom, id, (uint64_t)i + 1, payload);
        struct event_history_stats st;
        event_history_get_stats(h, &st);
        if (st.bytes > 16 * 1024) {
            CHECK(!"over budget");
            break;
        }
    }
    struct event_history_stats st;
    event_history_get_stats(h, &st);
    CHECK(st.events >= 8 && st.events <= 16);
    CHECK(st.evicted_events >= 180);
    cJSON *j = query(h, EVENT_HISTORY_ALL, "d3.test", 10);
    const cJSON *ok = list_of(j, "events_by_domain", "d3.test");
    CHECK_STR(str(cJSON_GetArrayItem(ok, 0), "event_id"), "b199"); /* the newest survives */
    cJSON_Delete(j);
    event_history_free(h);
}

static void test_options(void)
{
    struct event_history_options o = {.max_domains = 0, .per_domain = 1, .max_event_bytes = 1};
    CHECK(event_history_new(&o) == NULL);
    o.max_domains = 1;
    o.per_domain = 0;
    CHECK(event_history_new(&o) == NULL);
    CHECK(event_history_new(NULL) == NULL);
    event_history_free(NULL);
    struct event_history *h = make(1, 1, 1, 0);
    struct event_history_query q = {.lists = EVENT_HISTORY_ALL, .limit = 0};
    CHECK(event_history_query_json(h, &q, NULL) == NULL); /* limit must be >= 1 */
    /* The sink forwards to the store. */
    struct outcome_sink s = event_history_sink(h);
    struct outcome_received r = {
        .domain = "x.test", .event_id = "1", .event = "{}", .event_len = 2};
    s.received(s.ctx, &r);
    struct event_history_stats st;
    event_history_get_stats(h, &st);
    CHECK_INT(st.events, 1);
    event_history_free(h);
}

/* --- concurrency smoke: writers on several threads, a reader querying meanwhile --- */

#define WRITERS 4
#define PER_WRITER 3000

struct writer_arg {
    struct event_history *h;
    int id;
};

static void *writer(void *p)
{
    struct writer_arg *a = p;
    char id[32], dom[32];
    for (int i = 0; i < PER_WRITER; i++) {
        snprintf(id, sizeof id, "w%d-%d", a->id, i);
        snprintf(dom, sizeof dom, "d%d.test", i % 8);
        uint64_t seq = (uint64_t)a->id * 1000000 + (uint64_t)i + 1;
        received(a->h, dom, id, seq, "{\"domain\":\"x\",\"v\":[1,2,3]}");
        if (i % 3 == 0) {
            attempt(a->h, "failed", dom, id, seq, 1, true, 2, 1, NULL);
            attempt(a->h, "forwarded", dom, id, seq, 2, false, 2, 0, NULL);
        } else if (i % 3 == 1) {
            attempt(a->h, "failed", dom, id, seq, 1, false, 2, 2, NULL);
            attempt(a->h, "dead_lettered", dom, id, seq, 1, false, 2, 2, NULL);
        } else {
            attempt(a->h, "forwarded", dom, id, seq, 1, false, 2, 0, NULL);
        }
    }
    return NULL;
}

static void *reader(void *p)
{
    struct event_history *h = p;
    int parsed = 0;
    for (int i = 0; i < 200; i++) {
        struct event_history_query q = {.lists = EVENT_HISTORY_ALL, .limit = 20};
        q.domain = i % 2 ? "D3.test" : NULL;
        char *text = event_history_query_json(h, &q, NULL);
        cJSON *j = text ? cJSON_Parse(text) : NULL;
        parsed += j != NULL;
        cJSON_Delete(j);
        free(text);
    }
    return (void *)(intptr_t)parsed;
}

static void test_concurrency(void)
{
    struct event_history *h = make(10, 50, 1024, 0);
    pthread_t w[WRITERS], r;
    struct writer_arg args[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        args[i] = (struct writer_arg){h, i};
        pthread_create(&w[i], NULL, writer, &args[i]);
    }
    pthread_create(&r, NULL, reader, h);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    void *parsed = NULL;
    pthread_join(r, &parsed);
    CHECK_INT((intptr_t)parsed, 200);
    struct event_history_stats st;
    event_history_get_stats(h, &st);
    CHECK_INT(st.domains, 8);
    /* Lists full or nearly: an event passing through a list (pending, then failed; or
     * failed, then successful) takes a place there and leaves a gap when it moves on. */
    CHECK(st.events <= 8 * 2 * 50 && st.events >= 8 * 2 * 40);
    cJSON *j = query(h, EVENT_HISTORY_ALL, NULL, 1000);
    int total = 0;
    for (int m = 0; m < 2; m++) {
        const cJSON *map = item(j, m ? "failed_events_by_domain" : "events_by_domain");
        const cJSON *d;
        cJSON_ArrayForEach(d, map)
        {
            CHECK(cJSON_GetArraySize(d) <= 50 && cJSON_GetArraySize(d) >= 40);
            total += cJSON_GetArraySize(d);
            const cJSON *e;
            cJSON_ArrayForEach(e, d)
            {
                const char *s = str(e, "status");
                CHECK(m ? strcmp(s, "dead_lettered") == 0 : strcmp(s, "successful") == 0);
            }
        }
    }
    CHECK_INT(total, st.events);
    cJSON_Delete(j);
    event_history_free(h);
}

int main(void)
{
    test_lifecycle();
    test_dead_letter();
    test_replayed_dead_letter();
    test_per_domain_bound();
    test_domain_eviction();
    test_truncation();
    test_out_of_order_and_odd_input();
    test_late_outcomes_and_order();
    test_attempt_and_endpoint_bounds();
    test_byte_budget();
    test_options();
    test_concurrency();
    return unit_done();
}
