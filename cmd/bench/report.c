/*
 * report — see report.h. Main thread. Rates and phase lengths are derived here,
 * in one place, so the table and the JSON always agree.
 */
#include "report.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

struct derived {
    double send_phase_s;
    double accepted_per_s;
    double delivery_s; /* first send -> last completion */
    double delivered_per_s;
    double avg_body;
    uint64_t duplicates, foreign, unparsed;
};

static double us_to_s(int64_t us)
{
    return (double)us / 1e6;
}

static double us_to_ms(int64_t us)
{
    return (double)us / 1e3;
}

static struct derived derive(const struct bench_report *r)
{
    const struct loadgen_result *lg = r->lg;
    struct derived d = {0};
    if (lg->first_send_us > 0)
        d.send_phase_s = us_to_s(lg->end_us - lg->first_send_us);
    if (d.send_phase_s > 0)
        d.accepted_per_s = (double)lg->accepted / d.send_phase_s;
    if (lg->first_send_us > 0 && r->last_complete_us > lg->first_send_us)
        d.delivery_s = us_to_s(r->last_complete_us - lg->first_send_us);
    if (d.delivery_s > 0)
        d.delivered_per_s = (double)r->delivered_all / d.delivery_s;
    if (lg->sent > 0)
        d.avg_body = (double)lg->body_bytes / (double)lg->sent;
    for (int i = 0; i < r->o->sinks; i++) {
        const struct sink_stats *st = sink_stats(r->sinks[i]);
        d.duplicates += st->duplicates;
        d.foreign += st->foreign;
        d.unparsed += st->unparsed;
    }
    return d;
}

static void print_latency(FILE *out, const char *label, const struct hist *h)
{
    fprintf(out, "  %-22s p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  (n=%llu)\n", label,
            us_to_ms(hist_percentile(h, 50)), us_to_ms(hist_percentile(h, 90)),
            us_to_ms(hist_percentile(h, 99)), us_to_ms(h->max), (unsigned long long)h->count);
}

static void print_statuses(FILE *out, const struct loadgen_result *lg)
{
    bool any = false;
    for (int s = 100; s < LOADGEN_STATUS_MAX; s++) {
        if (s == 202 || lg->status[s] == 0)
            continue;
        fprintf(out, "%s%d: %llu", any ? ", " : "  (", s, (unsigned long long)lg->status[s]);
        any = true;
    }
    fprintf(out, "%s\n", any ? ")" : "");
}

/* The healthy domains against the bad ones: what the scenario is about. */
static void print_noisy(FILE *out, const struct bench_report *r)
{
    const struct noisy_result *n = r->noisy;
    const struct loadgen_result *lg = r->lg;
    fprintf(out, "noisy neighbour (%d bad domain(s), mode %s", n->bad_domains,
            opts_bad_mode_name(n->mode));
    if (n->mode == BAD_MODE_SLOW)
        fprintf(out, " %d ms", n->bad_delay_ms);
    if (n->healthy_domains > 0)
        fprintf(out, "; %d healthy domain(s))\n", n->healthy_domains);
    else
        fprintf(out, "; healthy domain %s)\n", r->o->domain);
    fprintf(out, "  %-22s %llu (accepted %llu, in %.3f s)\n", "bad backlog posted",
            (unsigned long long)n->backlog_posted, (unsigned long long)n->backlog_accepted,
            n->backlog_s);
    fprintf(out, "  %-22s %llu (accepted %llu)\n", "healthy sent", (unsigned long long)lg->sent,
            (unsigned long long)lg->accepted);
    fprintf(out, "  %-22s %llu\n", "healthy delivered", (unsigned long long)r->delivered_all);
    fprintf(out, "  %-22s %llu (accepted, not at every sink when the drain ended%s)\n",
            "healthy NOT delivered", (unsigned long long)r->lost,
            r->drain_timed_out ? ": timed out" : "");
    print_latency(out, "healthy e2e ms", &r->e2e);
    if (n->mode == BAD_MODE_REFUSE) {
        fprintf(out, "  %-22s not counted (refuse: nothing listens)\n", "bad calls");
        return;
    }
    fprintf(out, "  %-22s %llu in the timed phase (%.3f s, to the end of the drain): %.1f/s\n",
            "bad calls", (unsigned long long)n->bad_calls, n->healthy_phase_s, n->bad_calls_per_s);
    fprintf(out, "  %-22s %llu calls, %llu answers, %llu connections (port %d)\n",
            "bad sink in all", (unsigned long long)n->bad_calls_total,
            (unsigned long long)n->bad_answered, (unsigned long long)n->bad_connections,
            n->bad_sink_port);
}

void report_print_human(const struct bench_report *r, FILE *out)
{
    const struct bench_opts *o = r->o;
    const struct loadgen_result *lg = r->lg;
    struct derived d = derive(r);
    char rate[32] = "max";
    if (o->rate > 0)
        snprintf(rate, sizeof(rate), "%.0f/s", o->rate);
    fprintf(out, "bench run %s: %s, %d connections, rate %s, body %.0f B, %d sink(s)%s\n", r->runid,
            o->url, o->connections, rate, d.avg_body, o->sinks,
            o->retry_on_error ? ", retry on error" : "");
    fprintf(out, "ingress\n");
    fprintf(out, "  %-22s %llu (attempts %llu, retries %llu)\n", "sent",
            (unsigned long long)lg->sent, (unsigned long long)lg->attempts,
            (unsigned long long)lg->retries);
    fprintf(out, "  %-22s %llu (duplicate acks %llu)\n", "accepted (202)",
            (unsigned long long)lg->accepted, (unsigned long long)lg->duplicate_acks);
    fprintf(out, "  %-22s 4xx %llu, 5xx %llu, other %llu", "rejected (answers)",
            (unsigned long long)lg->rejected_4xx, (unsigned long long)lg->rejected_5xx,
            (unsigned long long)lg->other_status);
    print_statuses(out, lg);
    fprintf(out, "  %-22s %llu (timeouts %llu; connections opened %llu)\n", "connection errors",
            (unsigned long long)lg->conn_errors, (unsigned long long)lg->timeouts,
            (unsigned long long)lg->connects);
    fprintf(out, "  %-22s %llu\n", "failed (no 202)", (unsigned long long)lg->failed);
    if (lg->last_error[0] != '\0')
        fprintf(out, "  %-22s %s\n", "last error", lg->last_error);
    fprintf(out, "  %-22s %.3f s%s%s\n", "send phase", d.send_phase_s,
            lg->interrupted ? " (interrupted)" : "",
            lg->capacity_reached ? " (stopped at 10M events)" : "");
    fprintf(out, "  %-22s %.1f\n", "accepted events/s", d.accepted_per_s);
    print_latency(out, "latency ms (->202)", &lg->ingress);
    if (o->sinks > 0) {
        fprintf(out, "delivery (%d sinks)\n", o->sinks);
        fprintf(out, "  %-22s %llu\n", "delivered to all", (unsigned long long)r->delivered_all);
        print_latency(out, "e2e ms (->last sink)", &r->e2e);
        fprintf(out, "  %-22s %.1f (over %.3f s)\n", "delivered events/s", d.delivered_per_s,
                d.delivery_s);
        fprintf(out, "  %-22s %llu\n", "duplicates", (unsigned long long)d.duplicates);
        fprintf(out, "  %-22s %llu\n", "lost", (unsigned long long)r->lost);
        if (r->unaccepted_delivered > 0 || d.foreign > 0 || d.unparsed > 0)
            fprintf(out, "  %-22s delivered-not-accepted %llu, foreign %llu, unparsed %llu\n",
                    "unexpected", (unsigned long long)r->unaccepted_delivered,
                    (unsigned long long)d.foreign, (unsigned long long)d.unparsed);
        fprintf(out, "  %-22s %.3f s%s\n", "drain", r->drain_s,
                r->drain_timed_out ? " (timed out)" : "");
        for (int i = 0; i < o->sinks; i++) {
            const struct sink_stats *st = sink_stats(r->sinks[i]);
            fprintf(out, "  sink %-17d requests %llu, first receipts %llu, duplicates %llu\n",
                    sink_port(r->sinks[i]), (unsigned long long)st->requests,
                    (unsigned long long)st->receipts, (unsigned long long)st->duplicates);
        }
    }
    if (r->noisy != NULL)
        print_noisy(out, r);
    fprintf(out, "bench cpu              user %.2f s, sys %.2f s (%.0f%% of one core)\n",
            r->cpu_user_s, r->cpu_sys_s,
            r->wall_s > 0 ? 100.0 * (r->cpu_user_s + r->cpu_sys_s) / r->wall_s : 0.0);
    if (r->have_rss)
        fprintf(out, "rss pid %-15ld max %.1f MB, final %.1f MB (%llu samples%s)\n", o->pid,
                (double)r->rss.max_kb / 1024.0, (double)r->rss.final_kb / 1024.0,
                (unsigned long long)r->rss.samples, r->rss.vanished ? ", process exited" : "");
    if (r->have_rss && r->rss.have_cpu) {
        double cpu = r->rss.cpu_user_s + r->rss.cpu_sys_s;
        fprintf(out, "cpu pid %-15ld user %.2f s, sys %.2f s", o->pid, r->rss.cpu_user_s,
                r->rss.cpu_sys_s);
        if (r->lg->accepted > 0)
            fprintf(out, ", %.1f us per accepted event", 1e6 * cpu / (double)r->lg->accepted);
        fprintf(out, "\n");
    }
}

static cJSON *latency_json(const struct hist *h)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddNumberToObject(l, "count", (double)h->count);
    cJSON_AddNumberToObject(l, "p50", us_to_ms(hist_percentile(h, 50)));
    cJSON_AddNumberToObject(l, "p90", us_to_ms(hist_percentile(h, 90)));
    cJSON_AddNumberToObject(l, "p99", us_to_ms(hist_percentile(h, 99)));
    cJSON_AddNumberToObject(l, "max", us_to_ms(h->max));
    return l;
}

static void add_u64(cJSON *obj, const char *name, uint64_t v)
{
    cJSON_AddNumberToObject(obj, name, (double)v);
}

static void add_ingress(cJSON *j, const struct loadgen_result *lg, const struct derived *d)
{
    add_u64(j, "sent", lg->sent);
    add_u64(j, "attempts", lg->attempts);
    add_u64(j, "retries", lg->retries);
    add_u64(j, "accepted", lg->accepted);
    add_u64(j, "duplicate_acks", lg->duplicate_acks);
    add_u64(j, "rejected_4xx", lg->rejected_4xx);
    add_u64(j, "rejected_5xx", lg->rejected_5xx);
    add_u64(j, "other_status", lg->other_status);
    cJSON *st = cJSON_AddObjectToObject(j, "status");
    for (int s = 100; st != NULL && s < LOADGEN_STATUS_MAX; s++) {
        if (lg->status[s] > 0) {
            char key[16];
            snprintf(key, sizeof(key), "%d", s);
            add_u64(st, key, lg->status[s]);
        }
    }
    add_u64(j, "conn_errors", lg->conn_errors);
    add_u64(j, "timeouts", lg->timeouts);
    add_u64(j, "connects", lg->connects);
    add_u64(j, "failed", lg->failed);
    cJSON_AddStringToObject(j, "last_error", lg->last_error);
    cJSON_AddBoolToObject(j, "interrupted", lg->interrupted);
    cJSON_AddBoolToObject(j, "capacity_reached", lg->capacity_reached);
    cJSON_AddNumberToObject(j, "avg_body_bytes", d->avg_body);
    cJSON_AddNumberToObject(j, "send_phase_s", d->send_phase_s);
    cJSON_AddNumberToObject(j, "accepted_per_s", d->accepted_per_s);
    cJSON_AddItemToObject(j, "ingress_latency_ms", latency_json(&lg->ingress));
}

static void add_delivery(cJSON *j, const struct bench_report *r, const struct derived *d)
{
    add_u64(j, "delivered_all", r->delivered_all);
    cJSON_AddItemToObject(j, "e2e_latency_ms", latency_json(&r->e2e));
    cJSON_AddNumberToObject(j, "delivered_per_s", d->delivered_per_s);
    cJSON_AddNumberToObject(j, "delivery_s", d->delivery_s);
    add_u64(j, "duplicates", d->duplicates);
    add_u64(j, "lost", r->lost);
    add_u64(j, "delivered_not_accepted", r->unaccepted_delivered);
    add_u64(j, "foreign", d->foreign);
    add_u64(j, "unparsed", d->unparsed);
    cJSON_AddNumberToObject(j, "drain_s", r->drain_s);
    cJSON_AddBoolToObject(j, "drain_timed_out", r->drain_timed_out);
    cJSON *arr = cJSON_AddArrayToObject(j, "per_sink");
    for (int i = 0; arr != NULL && i < r->o->sinks; i++) {
        const struct sink_stats *st = sink_stats(r->sinks[i]);
        cJSON *s = cJSON_CreateObject();
        cJSON_AddNumberToObject(s, "port", sink_port(r->sinks[i]));
        add_u64(s, "requests", st->requests);
        add_u64(s, "receipts", st->receipts);
        add_u64(s, "duplicates", st->duplicates);
        add_u64(s, "foreign", st->foreign);
        cJSON_AddItemToArray(arr, s);
    }
}

static void add_noisy(cJSON *j, const struct bench_report *r)
{
    const struct noisy_result *n = r->noisy;
    cJSON *o = cJSON_AddObjectToObject(j, "noisy");
    if (o == NULL)
        return;
    cJSON_AddNumberToObject(o, "healthy_domains", n->healthy_domains);
    cJSON_AddNumberToObject(o, "bad_domains", n->bad_domains);
    cJSON_AddStringToObject(o, "bad_mode", opts_bad_mode_name(n->mode));
    cJSON_AddNumberToObject(o, "bad_delay_ms", n->bad_delay_ms);
    add_u64(o, "bad_backlog_posted", n->backlog_posted);
    add_u64(o, "bad_backlog_accepted", n->backlog_accepted);
    cJSON_AddNumberToObject(o, "bad_backlog_s", n->backlog_s);
    add_u64(o, "healthy_sent", r->lg->sent);
    add_u64(o, "healthy_accepted", r->lg->accepted);
    add_u64(o, "healthy_delivered", r->delivered_all);
    add_u64(o, "healthy_not_delivered", r->lost);
    cJSON_AddItemToObject(o, "healthy_e2e_latency_ms", latency_json(&r->e2e));
    cJSON_AddNumberToObject(o, "healthy_phase_s", n->healthy_phase_s);
    if (n->mode == BAD_MODE_REFUSE) {
        cJSON_AddNullToObject(o, "bad_sink_port");
        cJSON_AddNullToObject(o, "bad_calls");
        cJSON_AddNullToObject(o, "bad_calls_per_s");
        return;
    }
    cJSON_AddNumberToObject(o, "bad_sink_port", n->bad_sink_port);
    add_u64(o, "bad_calls", n->bad_calls);
    cJSON_AddNumberToObject(o, "bad_calls_per_s", n->bad_calls_per_s);
    add_u64(o, "bad_calls_total", n->bad_calls_total);
    add_u64(o, "bad_answered", n->bad_answered);
    add_u64(o, "bad_connections", n->bad_connections);
}

int report_print_json(const struct bench_report *r, FILE *out)
{
    const struct bench_opts *o = r->o;
    struct derived d = derive(r);
    cJSON *j = cJSON_CreateObject();
    if (j == NULL)
        return -1;
    cJSON_AddStringToObject(j, "runid", r->runid);
    cJSON_AddStringToObject(j, "url", o->url);
    cJSON_AddNumberToObject(j, "connections", o->connections);
    cJSON_AddNumberToObject(j, "rate", o->rate);
    cJSON_AddNumberToObject(j, "duration_s", o->duration_s);
    add_u64(j, "count", o->count);
    cJSON_AddNumberToObject(j, "sinks", o->sinks);
    cJSON_AddBoolToObject(j, "retry_on_error", o->retry_on_error);
    add_ingress(j, r->lg, &d);
    if (o->sinks > 0)
        add_delivery(j, r, &d);
    if (r->noisy != NULL)
        add_noisy(j, r);
    cJSON *cpu = cJSON_AddObjectToObject(j, "bench_cpu_s");
    if (cpu != NULL) {
        cJSON_AddNumberToObject(cpu, "user", r->cpu_user_s);
        cJSON_AddNumberToObject(cpu, "sys", r->cpu_sys_s);
        cJSON_AddNumberToObject(cpu, "wall", r->wall_s);
    }
    if (r->have_rss) {
        cJSON *m = cJSON_AddObjectToObject(j, "rss_mb");
        if (m != NULL) {
            cJSON_AddNumberToObject(m, "pid", (double)o->pid);
            cJSON_AddNumberToObject(m, "max", (double)r->rss.max_kb / 1024.0);
            cJSON_AddNumberToObject(m, "final", (double)r->rss.final_kb / 1024.0);
            cJSON_AddBoolToObject(m, "process_exited", r->rss.vanished);
        }
    }
    if (r->have_rss && r->rss.have_cpu) {
        /* The measured process's CPU time over the run (eventhub's, from bench.sh). */
        cJSON *c = cJSON_AddObjectToObject(j, "pid_cpu_s");
        if (c != NULL) {
            double used = r->rss.cpu_user_s + r->rss.cpu_sys_s;
            cJSON_AddNumberToObject(c, "user", r->rss.cpu_user_s);
            cJSON_AddNumberToObject(c, "sys", r->rss.cpu_sys_s);
            cJSON_AddNumberToObject(c, "us_per_accepted_event",
                                    r->lg->accepted > 0 ? 1e6 * used / (double)r->lg->accepted
                                                        : 0.0);
        }
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (text == NULL)
        return -1;
    fprintf(out, "%s\n", text);
    free(text);
    return 0;
}
