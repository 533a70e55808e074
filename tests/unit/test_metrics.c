/*
 * test_metrics — the Prometheus text primitives (label and HELP escaping, samples,
 * histogram buckets at their exact bounds, cumulative output, _count = +Inf) and the
 * metrics registry: label slots from the routes, folding into "_default"/"_other",
 * case-insensitive domains, endpoint counting (only endpoints called), dead-letter
 * reasons, the label caps, reloads that add and remove routes, and concurrent writers.
 */
#include "config/config.h"
#include "sinks/metrics.h"
#include "core/metrics_text.h"
#include "unit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

struct text {
    char *buf;
    size_t len;
    FILE *f;
};

/* A registry with the source kinds app registers (any other kind counts as "other"). */
static struct metrics *new_metrics(size_t max_domains, size_t max_endpoints)
{
    struct metrics *m = metrics_new(max_domains, max_endpoints);
    if (m && !(metrics_add_source(m, "http") && metrics_add_source(m, "esl") &&
               metrics_add_source(m, "replay"))) {
        metrics_free(m);
        return NULL;
    }
    return m;
}

static void text_open(struct text *t)
{
    t->buf = NULL;
    t->len = 0;
    t->f = open_memstream(&t->buf, &t->len);
}

static char *text_close(struct text *t)
{
    fclose(t->f);
    return t->buf;
}

static char *render(const struct metrics *m)
{
    struct text t;
    text_open(&t);
    metrics_render(m, t.f);
    return text_close(&t);
}

/* The value of the line "<series> <value>" in `text`; -1 when absent. */
static long long value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

/* The series' value must be `want`; the series names the check. */
#define CHECK_SERIES(text, series, want)                                                           \
    unit_check_int(value_of((text), (series)), (want), (series), __FILE__, __LINE__)

static struct config *load(const char *yaml)
{
    char *errors = NULL;
    struct config *cfg = config_load_string(yaml, strlen(yaml), "t.yaml", &errors);
    if (!cfg)
        printf("# config errors: %s\n", errors ? errors : "?");
    free(errors);
    return cfg;
}

static void received(struct metrics *m, const char *domain, const char *source, bool duplicate,
                     int64_t latency_us)
{
    struct outcome_sink s = metrics_sink(m);
    struct outcome_received r = {
        .domain = domain, .source = source, .duplicate = duplicate, .latency_us = latency_us};
    s.received(s.ctx, &r);
}

static void delivery(struct metrics *m, const char *type, const char *domain, bool will_retry,
                     const char *reason, const struct outcome_endpoint *eps, size_t n, int64_t e2e)
{
    struct outcome_sink s = metrics_sink(m);
    struct outcome_delivery d = {.type = type,
                                 .domain = domain,
                                 .will_retry = will_retry,
                                 .reason = reason,
                                 .endpoints = eps,
                                 .endpoint_count = n,
                                 .e2e_latency_us = e2e};
    s.delivery(s.ctx, &d);
}

/* ------------------------------------------------------------------ text format */

static void test_escaping(void)
{
    struct text t;
    text_open(&t);
    metrics_text_label_value(t.f, "a\\b\"c\nd\te");
    CHECK_STR(text_close(&t), "a\\\\b\\\"c\\nd\te");
    free(t.buf);

    text_open(&t);
    metrics_text_label_value(t.f, NULL);
    CHECK_STR(text_close(&t), "");
    free(t.buf);

    text_open(&t);
    metrics_text_family(t.f, "x_total", "counter", "back\\slash \"quoted\"\nnext");
    CHECK_STR(text_close(&t),
              "# HELP x_total back\\\\slash \"quoted\"\\nnext\n# TYPE x_total counter\n");
    free(t.buf);

    text_open(&t);
    struct metrics_label l[] = {{"domain", "we\"ird\\x"}, {"source", "http"}};
    metrics_text_sample(t.f, "x_total", l, 2, 18446744073709551615ull);
    metrics_text_sample(t.f, "y", NULL, 0, 0);
    metrics_text_sample_signed(t.f, "z", l + 1, 1, -3);
    CHECK_STR(text_close(&t), "x_total{domain=\"we\\\"ird\\\\x\",source=\"http\"} "
                              "18446744073709551615\ny 0\nz{source=\"http\"} -3\n");
    free(t.buf);
}

static void test_histogram(void)
{
    struct metrics_histogram h;
    memset(&h, 0, sizeof h);
    CHECK_INT(metrics_histogram_count(&h), 0);
    metrics_histogram_observe(&h, -5);      /* counts as 0: first bucket */
    metrics_histogram_observe(&h, 500);     /* exactly on a bound: that bucket (le) */
    metrics_histogram_observe(&h, 501);     /* just above: the next */
    metrics_histogram_observe(&h, 1000000); /* 1 s */
    metrics_histogram_observe(&h, 300000000);
    metrics_histogram_observe(&h, 300000001); /* past the last bound: +Inf */
    CHECK_INT(metrics_histogram_count(&h), 6);
    CHECK_INT(atomic_load(&h.buckets[0]), 2);
    CHECK_INT(atomic_load(&h.buckets[1]), 1);
    CHECK_INT(atomic_load(&h.buckets[METRICS_BUCKETS]), 1);
    CHECK_INT(atomic_load(&h.sum_us), 500 + 501 + 1000000 + 300000000 + 300000001);

    struct text t;
    text_open(&t);
    struct metrics_label l = {"domain", "a"};
    metrics_text_histogram(t.f, "lat_seconds", &l, 1, &h);
    char *out = text_close(&t);
    CHECK_SERIES(out, "lat_seconds_bucket{domain=\"a\",le=\"0.0005\"}", 2);
    CHECK_SERIES(out, "lat_seconds_bucket{domain=\"a\",le=\"0.001\"}", 3);
    CHECK_SERIES(out, "lat_seconds_bucket{domain=\"a\",le=\"0.5\"}", 3);
    CHECK_SERIES(out, "lat_seconds_bucket{domain=\"a\",le=\"1\"}", 4);
    CHECK_SERIES(out, "lat_seconds_bucket{domain=\"a\",le=\"300\"}", 5);
    CHECK_SERIES(out, "lat_seconds_bucket{domain=\"a\",le=\"+Inf\"}", 6);
    CHECK_SERIES(out, "lat_seconds_count{domain=\"a\"}", 6);
    CHECK(strstr(out, "lat_seconds_sum{domain=\"a\"} 601.001002\n") != NULL);
    /* Buckets in increasing order of le, +Inf last, then _sum and _count. */
    const char *inf = strstr(out, "le=\"+Inf\"");
    CHECK(inf && strstr(out, "le=\"300\"") < inf && strstr(out, "_sum") > inf);
    free(out);

    /* Without labels: le is the only one. */
    text_open(&t);
    metrics_text_histogram(t.f, "h", NULL, 0, &h);
    out = text_close(&t);
    CHECK_SERIES(out, "h_bucket{le=\"+Inf\"}", 6);
    CHECK_SERIES(out, "h_count", 6);
    free(out);
}

/* ------------------------------------------------------------------ registry */

#define ROUTES                                                                                     \
    "routes:\n"                                                                                    \
    "  - domain: Example.COM\n"                                                                    \
    "    endpoints: [http://a.test/1, http://a.test/2]\n"                                          \
    "  - domain: 'we\"ird\\x.test'\n"                                                              \
    "    endpoints: [http://w.test/]\n"

static void test_folding(void)
{
    struct metrics *m = new_metrics(0, 0);
    struct config *cfg = load(ROUTES);
    CHECK(m && cfg);
    if (!m || !cfg)
        return;
    metrics_set_routes(m, cfg);
    received(m, "example.com", "http", false, 1500); /* case-insensitive match */
    received(m, "EXAMPLE.com", "esl", false, 0);
    received(m, "example.com", "http", true, 1200); /* duplicate: latency only */
    received(m, "nobody.test", "http", false, 800);
    received(m, "", "http", false, 0);
    received(m, "_other", "replay", false, 0);
    received(m, "x.test", "carrier-pigeon", false, 0);
    received(m, "we\"ird\\x.test", "http", false, 0);

    char *out = render(m);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"Example.COM\",source=\"http\"}", 1);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"Example.COM\",source=\"esl\"}", 1);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"_other\",source=\"http\"}", 2);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"_other\",source=\"replay\"}", 1);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"_other\",source=\"other\"}", 1);
    /* "other" appears only once used. */
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"Example.COM\",source=\"other\"}",
                 -1);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"_default\",source=\"http\"}", 0);
    CHECK_SERIES(out,
                 "eventhub_events_received_total{domain=\"we\\\"ird\\\\x.test\","
                 "source=\"http\"}",
                 1);
    CHECK_SERIES(out,
                 "eventhub_events_received_total{domain=\"nobody.test\","
                 "source=\"http\"}",
                 -1);
    CHECK_SERIES(out, "eventhub_ingress_latency_seconds_count", 3);
    CHECK_SERIES(out, "eventhub_ingress_latency_seconds_bucket{le=\"0.001\"}", 1);
    CHECK_SERIES(out,
                 "eventhub_deliveries_total{domain=\"Example.COM\","
                 "endpoint=\"http://a.test/2\",outcome=\"ok\"}",
                 0);
    /* Neither the fallback endpoint nor "_other"'s end-to-end histogram before use. */
    CHECK(strstr(out, "endpoint=\"_other\"") == NULL);
    CHECK(strstr(out, "eventhub_end_to_end_latency_seconds_count{domain=\"_other\"}") == NULL);
    CHECK_SERIES(out, "eventhub_end_to_end_latency_seconds_count{domain=\"Example.COM\"}", 0);
    free(out);

    /* A default route: unknown domains fold into "_default" instead. */
    struct config *with_default = load(ROUTES "  - domain: '*'\n"
                                              "    endpoints: [http://d.test/]\n");
    CHECK(with_default != NULL);
    if (with_default) {
        metrics_set_routes(m, with_default);
        received(m, "nobody.test", "http", false, 0);
        struct outcome_endpoint ep = {
            .url = "http://d.test/", .delivered = true, .called = true, .latency_us = 2000};
        delivery(m, "forwarded", "nobody.test", false, NULL, &ep, 1, 40000);
        out = render(m);
        CHECK_SERIES(out, "eventhub_events_received_total{domain=\"_default\",source=\"http\"}", 1);
        CHECK_SERIES(out, "eventhub_events_delivered_total{domain=\"_default\"}", 1);
        CHECK_SERIES(out,
                     "eventhub_deliveries_total{domain=\"_default\","
                     "endpoint=\"http://d.test/\",outcome=\"ok\"}",
                     1);
        CHECK_SERIES(out,
                     "eventhub_delivery_latency_seconds_count{domain=\"_default\","
                     "endpoint=\"http://d.test/\"}",
                     1);
        CHECK_SERIES(out,
                     "eventhub_end_to_end_latency_seconds_bucket{domain=\"_default\","
                     "le=\"0.05\"}",
                     1);
        free(out);
        config_unref(with_default);
    }
    config_unref(cfg);
    metrics_free(m);
}

struct collected {
    int count;
    struct metrics_domain_counts ex, other;
};

static void collect(void *ctx, const struct metrics_domain_counts *c)
{
    struct collected *col = ctx;
    col->count++;
    if (strcmp(c->domain, "Example.COM") == 0)
        col->ex = *c;
    if (strcmp(c->domain, "_other") == 0)
        col->other = *c;
}

static void test_deliveries(void)
{
    struct metrics *m = new_metrics(0, 0);
    struct config *cfg = load(ROUTES);
    CHECK(m && cfg);
    if (!m || !cfg)
        return;
    metrics_set_routes(m, cfg);
    struct outcome_endpoint eps[] = {
        {.url = "http://a.test/1", .status = 500, .called = true, .latency_us = 3000},
        {.url = "http://a.test/2",
         .status = 200,
         .delivered = true,
         .called = true,
         .latency_us = 700},
    };
    delivery(m, "failed", "example.com", true, NULL, eps, 2, 0);
    /* Second attempt: /2 delivered earlier (not called), /1 fails again. */
    eps[1].called = false;
    delivery(m, "failed", "example.com", false, NULL, eps, 2, 0);
    delivery(m, "dead_lettered", "example.com", false, "max_deliveries_exceeded", eps, 2, 0);
    delivery(m, "dead_lettered", "nobody.test", false, "no_route", NULL, 0, 0);
    delivery(m, "dead_lettered", "nobody.test", false, "something_new", NULL, 0, 0);
    delivery(m, "dead_lettered", "nobody.test", false, NULL, NULL, 0, 0);
    /* An endpoint the routes do not have: the fallback series. */
    struct outcome_endpoint stray = {.url = "http://gone.test/", .called = true};
    delivery(m, "failed", "example.com", true, NULL, &stray, 1, 0);

    char *out = render(m);
    const char *ep1 =
        "eventhub_deliveries_total{domain=\"Example.COM\",endpoint=\"http://a.test/1\"";
    char series[256];
    snprintf(series, sizeof series, "%s,outcome=\"failed\"}", ep1);
    CHECK_SERIES(out, series, 2);
    snprintf(series, sizeof series, "%s,outcome=\"ok\"}", ep1);
    CHECK_SERIES(out, series, 0);
    CHECK_SERIES(out,
                 "eventhub_deliveries_total{domain=\"Example.COM\","
                 "endpoint=\"http://a.test/2\",outcome=\"ok\"}",
                 1);
    CHECK_SERIES(out,
                 "eventhub_delivery_latency_seconds_count{domain=\"Example.COM\","
                 "endpoint=\"http://a.test/1\"}",
                 2);
    CHECK_SERIES(out,
                 "eventhub_delivery_latency_seconds_count{domain=\"Example.COM\","
                 "endpoint=\"http://a.test/2\"}",
                 1);
    CHECK_SERIES(out,
                 "eventhub_deliveries_total{domain=\"_other\",endpoint=\"_other\","
                 "outcome=\"failed\"}",
                 1);
    CHECK_SERIES(out, "eventhub_events_failed_total{domain=\"Example.COM\"}", 3);
    CHECK_SERIES(out, "eventhub_events_retried_total{domain=\"Example.COM\"}", 2);
    CHECK_SERIES(out, "eventhub_events_delivered_total{domain=\"Example.COM\"}", 0);
    CHECK_SERIES(out,
                 "eventhub_events_dead_lettered_total{domain=\"Example.COM\","
                 "reason=\"max_deliveries_exceeded\"}",
                 1);
    CHECK_SERIES(out,
                 "eventhub_events_dead_lettered_total{domain=\"_other\","
                 "reason=\"no_route\"}",
                 1);
    CHECK_SERIES(out,
                 "eventhub_events_dead_lettered_total{domain=\"_other\","
                 "reason=\"other\"}",
                 2);
    CHECK_SERIES(out,
                 "eventhub_events_dead_lettered_total{domain=\"Example.COM\","
                 "reason=\"no_route\"}",
                 -1); /* zero reasons are left out */
    free(out);

    struct collected col = {0};
    metrics_each_domain(m, collect, &col);
    CHECK_INT(col.count, 4);
    CHECK(col.ex.routed);
    CHECK_INT(col.ex.failed, 3);
    CHECK_INT(col.ex.retried, 2);
    CHECK_INT(col.ex.dead_lettered, 1);
    CHECK(!col.other.routed);
    CHECK_INT(col.other.dead_lettered, 3);
    config_unref(cfg);
    metrics_free(m);
}

static void test_reload_and_caps(void)
{
    /* Room for "_default", "_other" and two more; endpoints: the fallback and two. */
    struct metrics *m = new_metrics(4, 3);
    struct config *first = load("routes:\n"
                                "  - domain: a.test\n"
                                "    endpoints: [http://a.test/]\n");
    struct config *second = load("routes:\n"
                                 "  - domain: b.test\n"
                                 "    endpoints: [http://b.test/]\n"
                                 "  - domain: c.test\n"
                                 "    endpoints: [http://c.test/]\n");
    CHECK(m && first && second);
    if (!m || !first || !second)
        return;
    metrics_set_routes(m, first);
    received(m, "a.test", "http", false, 0);
    metrics_set_routes(m, second);           /* b gets the last slot; c is over the cap */
    received(m, "a.test", "http", false, 0); /* route removed: folds */
    received(m, "b.test", "http", false, 0);
    received(m, "c.test", "http", false, 0); /* no slot: folds */
    char *out = render(m);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"a.test\",source=\"http\"}", 1);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"b.test\",source=\"http\"}", 1);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"c.test\",source=\"http\"}", -1);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"_other\",source=\"http\"}", 2);
    CHECK_SERIES(out, "eventhub_metrics_unlabelled_routes{kind=\"domain\"}", 1);
    CHECK_SERIES(out, "eventhub_metrics_unlabelled_routes{kind=\"endpoint\"}", 1);
    /* The removed route's series stay, and a's end-to-end histogram goes (never used). */
    CHECK(strstr(out, "eventhub_events_delivered_total{domain=\"a.test\"} 0") != NULL);
    CHECK(strstr(out, "eventhub_end_to_end_latency_seconds_count{domain=\"a.test\"}") == NULL);
    free(out);

    struct collected col = {0};
    metrics_each_domain(m, collect, &col);
    CHECK_INT(col.count, 4);

    /* Reloading the first config again: a counts under its name again. */
    metrics_set_routes(m, first);
    received(m, "a.test", "http", false, 0);
    received(m, "b.test", "http", false, 0);
    out = render(m);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"a.test\",source=\"http\"}", 2);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"b.test\",source=\"http\"}", 1);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"_other\",source=\"http\"}", 3);
    CHECK_SERIES(out, "eventhub_metrics_unlabelled_routes{kind=\"domain\"}", 0);
    free(out);
    config_unref(first);
    config_unref(second);
    metrics_free(m);
}

/* ------------------------------------------------------------------ redaction */

/* Endpoint labels are redacted URLs; two endpoints that differ only in secrets still
 * make two series (" #2"), and no secret reaches the text. */
static void test_redacted_labels(void)
{
    struct metrics *m = new_metrics(0, 0);
    struct config *cfg = load("routes:\n"
                              "  - domain: a.test\n"
                              "    endpoints:\n"
                              "      - https://u:SECRET1@h.test/in?token=SECRET2\n"
                              "      - https://u:SECRET3@h.test/in?token=SECRET4\n"
                              "      - {url: \"http://g.test/\", headers: {X-Key: SECRET5}}\n"
                              "      - {url: \"http://g.test/\", headers: {X-Key: SECRET6}}\n");
    CHECK(m && cfg);
    if (!m || !cfg)
        return;
    metrics_set_routes(m, cfg);
    const struct route *r = &cfg->routes[0];
    struct outcome_endpoint eps[4];
    for (size_t i = 0; i < 4; i++)
        eps[i] = (struct outcome_endpoint){.url = r->endpoints[i].display_url,
                                           .label = r->endpoints[i].label,
                                           .status = i == 1 ? 500 : 200,
                                           .delivered = i != 1,
                                           .called = true,
                                           .latency_us = 100};
    delivery(m, "failed", "a.test", true, NULL, eps, 4, 0);
    char *out = render(m);
    CHECK(out && strstr(out, "SECRET") == NULL);
    CHECK_SERIES(out,
                 "eventhub_deliveries_total{domain=\"a.test\","
                 "endpoint=\"https://***@h.test/in?token=***\",outcome=\"ok\"}",
                 1);
    CHECK_SERIES(out,
                 "eventhub_deliveries_total{domain=\"a.test\","
                 "endpoint=\"https://***@h.test/in?token=*** #2\",outcome=\"failed\"}",
                 1);
    CHECK_SERIES(out,
                 "eventhub_deliveries_total{domain=\"a.test\","
                 "endpoint=\"http://g.test/\",outcome=\"ok\"}",
                 1);
    CHECK_SERIES(out,
                 "eventhub_deliveries_total{domain=\"a.test\","
                 "endpoint=\"http://g.test/ #2\",outcome=\"ok\"}",
                 1);
    /* Every label set appears once per family (a valid exposition). */
    int dup = 0;
    for (const char *p = out; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *sp = memrchr(p, ' ', n); /* the value follows the last blank */
        if (*p != '#' && sp) {
            size_t key = (size_t)(sp - p);
            for (const char *q = nl ? nl + 1 : NULL; q && *q;) {
                const char *qn = strchr(q, '\n');
                size_t qlen = qn ? (size_t)(qn - q) : strlen(q);
                const char *qsp = memrchr(q, ' ', qlen);
                if (qsp && (size_t)(qsp - q) == key && strncmp(q, p, key) == 0)
                    dup++;
                q = qn ? qn + 1 : NULL;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    CHECK_INT(dup, 0);
    free(out);
    config_unref(cfg);
    metrics_free(m);
}

/* ------------------------------------------------------------------ concurrency */

#define THREADS 4
#define PER_THREAD 50000

struct worker {
    struct metrics *m;
    int index;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    static const char *const domains[] = {"a.test", "b.test", "nobody.test", "A.TEST"};
    struct outcome_endpoint ep = {
        .url = "http://a.test/", .delivered = true, .called = true, .latency_us = 100};
    for (int i = 0; i < PER_THREAD; i++) {
        received(w->m, domains[(i + w->index) % 4], "http", false, 1 + i % 5000);
        delivery(w->m, "forwarded", "a.test", false, NULL, &ep, 1, 10);
    }
    return NULL;
}

static void test_concurrent(void)
{
    struct metrics *m = new_metrics(0, 0);
    struct config *cfg = load("routes:\n"
                              "  - domain: a.test\n"
                              "    endpoints: [http://a.test/]\n"
                              "  - domain: b.test\n"
                              "    endpoints: [http://b.test/]\n");
    CHECK(m && cfg);
    if (!m || !cfg)
        return;
    metrics_set_routes(m, cfg);
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){m, i};
        pthread_create(&t[i], NULL, hammer, &w[i]);
    }
    /* Reloads with the same routes while the writers run: no count may be lost. */
    for (int i = 0; i < 200; i++) {
        metrics_set_routes(m, cfg);
        free(render(m));
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *out = render(m);
    const long long n = (long long)THREADS * PER_THREAD;
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"a.test\",source=\"http\"}", n / 2);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"b.test\",source=\"http\"}", n / 4);
    CHECK_SERIES(out, "eventhub_events_received_total{domain=\"_other\",source=\"http\"}", n / 4);
    CHECK_SERIES(out, "eventhub_ingress_latency_seconds_count", n);
    CHECK_SERIES(out,
                 "eventhub_deliveries_total{domain=\"a.test\",endpoint=\"http://a.test/\","
                 "outcome=\"ok\"}",
                 n);
    CHECK_SERIES(out,
                 "eventhub_delivery_latency_seconds_bucket{domain=\"a.test\","
                 "endpoint=\"http://a.test/\",le=\"0.0005\"}",
                 n);
    free(out);
    config_unref(cfg);
    metrics_free(m);
}

int main(void)
{
    test_escaping();
    test_histogram();
    test_folding();
    test_deliveries();
    test_reload_and_caps();
    test_redacted_labels();
    test_concurrent();
    metrics_free(NULL);
    return unit_done();
}
