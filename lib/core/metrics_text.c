/* metrics_text — see metrics_text.h. */
#include "core/metrics_text.h"

#include <inttypes.h>

const int64_t metrics_bucket_bounds_us[METRICS_BUCKETS] = {
    500,    1000,    2500,    5000,    10000,    25000,    50000,    100000,    250000,
    500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000, 300000000,
};

/* The same bounds as Prometheus writes them (seconds), so le values are exact. */
static const char *const bucket_le[METRICS_BUCKETS] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
    "0.5",    "1",     "2.5",    "5",     "10",   "30",    "60",   "300",
};

void metrics_histogram_observe(struct metrics_histogram *h, int64_t us)
{
    if (us < 0)
        us = 0;
    size_t i = 0;
    while (i < METRICS_BUCKETS && us > metrics_bucket_bounds_us[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (uint64_t)us, memory_order_relaxed);
}

uint64_t metrics_histogram_count(const struct metrics_histogram *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= METRICS_BUCKETS; i++)
        n += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
    return n;
}

void metrics_text_family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s ", name);
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", f);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
    fprintf(f, "\n# TYPE %s %s\n", name, type);
}

void metrics_text_label_value(FILE *f, const char *value)
{
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", f);
        else if (*p == '"')
            fputs("\\\"", f);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
}

/* name{a="x",b="y"[,le="..."]} — braces only when there is a label. */
static void write_series(FILE *f, const char *name, const char *suffix,
                         const struct metrics_label *labels, size_t label_count, const char *le)
{
    fputs(name, f);
    fputs(suffix, f);
    if (label_count == 0 && !le)
        return;
    fputc('{', f);
    for (size_t i = 0; i < label_count; i++) {
        fprintf(f, "%s%s=\"", i ? "," : "", labels[i].name);
        metrics_text_label_value(f, labels[i].value);
        fputc('"', f);
    }
    if (le)
        fprintf(f, "%sle=\"%s\"", label_count ? "," : "", le);
    fputc('}', f);
}

void metrics_text_sample(FILE *f, const char *name, const struct metrics_label *labels,
                         size_t label_count, uint64_t value)
{
    write_series(f, name, "", labels, label_count, NULL);
    fprintf(f, " %" PRIu64 "\n", value);
}

void metrics_text_sample_signed(FILE *f, const char *name, const struct metrics_label *labels,
                                size_t label_count, int64_t value)
{
    write_series(f, name, "", labels, label_count, NULL);
    fprintf(f, " %" PRId64 "\n", value);
}

void metrics_text_histogram(FILE *f, const char *name, const struct metrics_label *labels,
                            size_t label_count, const struct metrics_histogram *h)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= METRICS_BUCKETS; i++) {
        cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        write_series(f, name, "_bucket", labels, label_count,
                     i < METRICS_BUCKETS ? bucket_le[i] : "+Inf");
        fprintf(f, " %" PRIu64 "\n", cumulative);
    }
    uint64_t sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
    write_series(f, name, "_sum", labels, label_count, NULL);
    fprintf(f, " %" PRIu64 ".%06" PRIu64 "\n", sum_us / 1000000u, sum_us % 1000000u);
    write_series(f, name, "_count", labels, label_count, NULL);
    fprintf(f, " %" PRIu64 "\n", cumulative);
}
