/*
 * opts — getopt_long parsing and validation of the bench options; see opts.h.
 * Main thread only (getopt keeps global state).
 *
 * Every numeric option goes through one strict converter (whole string, range
 * checked); cross-option checks are gathered in validate().
 */
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "tracker.h"

#define MAX_CONNECTIONS 10000
#define MAX_SECONDS 3600.0 /* send times are kept as 32-bit microsecond offsets */
#define MAX_DOMAINS 10000

enum opt_id {
    OPT_URL = 256,
    OPT_CONNECTIONS,
    OPT_DURATION,
    OPT_COUNT,
    OPT_RATE,
    OPT_DOMAIN,
    OPT_PAYLOAD,
    OPT_SINKS,
    OPT_SINK_PORT,
    OPT_DRAIN,
    OPT_PID,
    OPT_JSON,
    OPT_RETRY,
    OPT_SINK_ONLY,
    OPT_EXPECT,
    OPT_HEALTHY_DOMAINS,
    OPT_BAD_DOMAINS,
    OPT_BAD_BACKLOG,
    OPT_BAD_MODE,
    OPT_BAD_DELAY,
    OPT_BAD_SINK_PORT,
    OPT_HELP,
};

static const struct option long_opts[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"connections", required_argument, NULL, OPT_CONNECTIONS},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"count", required_argument, NULL, OPT_COUNT},
    {"rate", required_argument, NULL, OPT_RATE},
    {"domain", required_argument, NULL, OPT_DOMAIN},
    {"payload-bytes", required_argument, NULL, OPT_PAYLOAD},
    {"sinks", required_argument, NULL, OPT_SINKS},
    {"sink-port", required_argument, NULL, OPT_SINK_PORT},
    {"drain-timeout", required_argument, NULL, OPT_DRAIN},
    {"pid", required_argument, NULL, OPT_PID},
    {"json", no_argument, NULL, OPT_JSON},
    {"retry-on-error", no_argument, NULL, OPT_RETRY},
    {"sink-only", no_argument, NULL, OPT_SINK_ONLY},
    {"expect", required_argument, NULL, OPT_EXPECT},
    {"healthy-domains", required_argument, NULL, OPT_HEALTHY_DOMAINS},
    {"bad-domains", required_argument, NULL, OPT_BAD_DOMAINS},
    {"bad-backlog", required_argument, NULL, OPT_BAD_BACKLOG},
    {"bad-mode", required_argument, NULL, OPT_BAD_MODE},
    {"bad-delay-ms", required_argument, NULL, OPT_BAD_DELAY},
    {"bad-sink-port", required_argument, NULL, OPT_BAD_SINK_PORT},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

void opts_usage(FILE *out)
{
    fprintf(out,
            "usage: bench [options]\n"
            "Load generator and webhook sink for eventhub, on one monotonic clock.\n"
            "\n"
            "  --url URL              POST target, plain http://\n"
            "                         (default http://127.0.0.1:8080/events)\n"
            "  --connections N        concurrent keep-alive connections (default 50)\n"
            "  --duration SECONDS     length of the send phase (default 10; max 3600)\n"
            "  --count N              number of events (with no --duration: count only)\n"
            "  --rate R               events/s in total, 0 = as fast as possible (default 0);\n"
            "                         latency counts from each event's scheduled send time\n"
            "  --domain D             event domain (default bench.example.com)\n"
            "  --payload-bytes B      pad each body to B bytes (default 0: natural ~330 B\n"
            "                         call event)\n"
            "  --sinks M              webhook sinks on 127.0.0.1:P..P+M-1/webhook\n"
            "                         (default 0: ingress only)\n"
            "  --sink-port P          first sink port (default 9100)\n"
            "  --drain-timeout S      after sending, wait up to S seconds until every\n"
            "                         accepted event reached every sink (default 30)\n"
            "  --pid PID              sample VmRSS of PID every 100 ms, report max/final\n"
            "  --json                 print results as one JSON object on stdout\n"
            "                         (the human table then goes to stderr)\n"
            "  --retry-on-error       retry 503 and connection errors with the same\n"
            "                         event_id until accepted or duration+drain ends\n"
            "  --sink-only            only run the sinks (default 1) until SIGINT/SIGTERM,\n"
            "                         printing per-second counts\n"
            "  --expect N             with --sink-only: stop once every sink answered N\n"
            "                         requests (or --drain-timeout s after the start) and\n"
            "                         report the drain: first request at any sink to the\n"
            "                         last at the slowest, N / that = delivered events/s\n"
            "  --help                 this text\n"
            "\n"
            "Noisy neighbour (on when either count below is > 0):\n"
            "  --healthy-domains K    the timed phase sends round robin to\n"
            "                         healthy-0..K-1.bench.example instead of --domain;\n"
            "                         their routes must point at the sinks\n"
            "  --bad-domains M        domains bad-0..M-1.bench.example; their routes must\n"
            "                         point at the bad sink (or, with refuse, at a dead port)\n"
            "  --bad-backlog N        events posted round robin to the bad domains, as fast\n"
            "                         as possible, before the timed phase starts (default 0)\n"
            "  --bad-mode MODE        what the bad endpoint does: fail (answers 500), slow\n"
            "                         (answers 200 after --bad-delay-ms), hang (never\n"
            "                         answers, keeps the connection open), refuse (no bad\n"
            "                         sink is started: nothing listens) (default fail)\n"
            "  --bad-delay-ms MS      slow mode's answer delay (default 2500)\n"
            "  --bad-sink-port P      the bad sink's port, 127.0.0.1:P/webhook\n"
            "                         (default 0: any free port, printed at start)\n"
            "  The report adds the healthy domains' delivered / not delivered counts and\n"
            "  e2e latency, and the calls the bad sink received during the timed phase\n"
            "  (from its start to the end of the drain) and their rate.\n"
            "\n"
            "Exit status: 0 when some event was accepted and, with sinks, none was lost;\n"
            "1 otherwise; 2 on usage errors.\n");
}

static int parse_double(const char *name, const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "bench: --%s: '%s' is not a number in [%g, %g]\n", name, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_u64(const char *name, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "bench: --%s: '%s' is not an integer in [%llu, %llu]\n", name, s,
                (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_int(const char *name, const char *s, int lo, int hi, int *out)
{
    uint64_t v = 0;
    if (parse_u64(name, s, (uint64_t)lo, (uint64_t)hi, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

bool opts_noisy(const struct bench_opts *o)
{
    return o->healthy_domains > 0 || o->bad_domains > 0;
}

const char *opts_bad_mode_name(enum bad_mode m)
{
    static const char *const names[] = {"fail", "slow", "hang", "refuse"};
    return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}

static int parse_bad_mode(const char *s, enum bad_mode *out)
{
    for (enum bad_mode m = BAD_MODE_FAIL; m <= BAD_MODE_REFUSE; m++) {
        if (strcmp(s, opts_bad_mode_name(m)) == 0) {
            *out = m;
            return 0;
        }
    }
    fprintf(stderr, "bench: --bad-mode: '%s' is not fail, slow, hang or refuse\n", s);
    return -1;
}

static int validate_noisy(const struct bench_opts *o)
{
    if (o->bad_backlog > 0 && o->bad_domains == 0) {
        fprintf(stderr, "bench: --bad-backlog needs --bad-domains >= 1\n");
        return -1;
    }
    if (!opts_noisy(o))
        return 0;
    if (o->sink_only) {
        fprintf(stderr, "bench: --sink-only does not run the noisy-neighbour scenario\n");
        return -1;
    }
    if (o->sinks == 0) {
        fprintf(stderr, "bench: the noisy-neighbour scenario needs --sinks >= 1\n");
        return -1;
    }
    if (o->bad_sink_port > 0 && o->bad_sink_port >= o->sink_port &&
        o->bad_sink_port < o->sink_port + o->sinks) {
        fprintf(stderr, "bench: --bad-sink-port %d is one of the sink ports\n", o->bad_sink_port);
        return -1;
    }
    return 0;
}

static int validate(struct bench_opts *o, bool duration_set, bool sinks_set)
{
    if (strncmp(o->url, "http://", 7) != 0) {
        fprintf(stderr, "bench: --url: '%s' is not a plain http:// URL\n", o->url);
        return -1;
    }
    if (o->domain[0] == '\0' || strpbrk(o->domain, "\"\\") != NULL) {
        fprintf(stderr, "bench: --domain must be non-empty, without quotes or backslashes\n");
        return -1;
    }
    if (o->count > 0 && !duration_set)
        o->duration_s = 0;
    if (o->sink_only && !sinks_set)
        o->sinks = 1;
    if (o->sink_expect > 0 && !o->sink_only) {
        fprintf(stderr, "bench: --expect needs --sink-only\n");
        return -1;
    }
    if (o->sink_only && o->sinks == 0) {
        fprintf(stderr, "bench: --sink-only needs --sinks >= 1\n");
        return -1;
    }
    if (o->sinks > 0 && o->sink_port + o->sinks - 1 > 65535) {
        fprintf(stderr, "bench: sink ports %d..%d exceed 65535\n", o->sink_port,
                o->sink_port + o->sinks - 1);
        return -1;
    }
    if (o->duration_s + o->drain_timeout_s > 4000.0) {
        fprintf(stderr, "bench: --duration plus --drain-timeout must stay below 4000 s\n");
        return -1;
    }
    return validate_noisy(o);
}

enum opts_result opts_parse(int argc, char **argv, struct bench_opts *o)
{
    *o = (struct bench_opts){
        .url = "http://127.0.0.1:8080/events",
        .domain = "bench.example.com",
        .connections = 50,
        .duration_s = 10,
        .sink_port = 9100,
        .drain_timeout_s = 30,
        .bad_mode = BAD_MODE_FAIL,
        .bad_delay_ms = 2500,
    };
    bool duration_set = false, sinks_set = false;
    uint64_t u = 0;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case OPT_URL:
            o->url = optarg;
            break;
        case OPT_CONNECTIONS:
            rc = parse_int("connections", optarg, 1, MAX_CONNECTIONS, &o->connections);
            break;
        case OPT_DURATION:
            rc = parse_double("duration", optarg, 0.001, MAX_SECONDS, &o->duration_s);
            duration_set = true;
            break;
        case OPT_COUNT:
            rc = parse_u64("count", optarg, 1, TRACKER_MAX_EVENTS, &o->count);
            break;
        case OPT_RATE:
            rc = parse_double("rate", optarg, 0, 10e6, &o->rate);
            break;
        case OPT_DOMAIN:
            o->domain = optarg;
            break;
        case OPT_PAYLOAD:
            rc = parse_u64("payload-bytes", optarg, 0, PAYLOAD_MAX_BYTES, &u);
            o->payload_bytes = (size_t)u;
            break;
        case OPT_SINKS:
            rc = parse_int("sinks", optarg, 0, TRACKER_MAX_SINKS, &o->sinks);
            sinks_set = true;
            break;
        case OPT_SINK_PORT:
            rc = parse_int("sink-port", optarg, 1, 65535, &o->sink_port);
            break;
        case OPT_DRAIN:
            rc = parse_double("drain-timeout", optarg, 0, MAX_SECONDS, &o->drain_timeout_s);
            break;
        case OPT_PID:
            rc = parse_u64("pid", optarg, 1, 4194304, &u);
            o->pid = (long)u;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_RETRY:
            o->retry_on_error = true;
            break;
        case OPT_SINK_ONLY:
            o->sink_only = true;
            break;
        case OPT_EXPECT:
            rc = parse_u64("expect", optarg, 1, UINT64_MAX / 2, &o->sink_expect);
            break;
        case OPT_HEALTHY_DOMAINS:
            rc = parse_int("healthy-domains", optarg, 0, MAX_DOMAINS, &o->healthy_domains);
            break;
        case OPT_BAD_DOMAINS:
            rc = parse_int("bad-domains", optarg, 0, MAX_DOMAINS, &o->bad_domains);
            break;
        case OPT_BAD_BACKLOG:
            rc = parse_u64("bad-backlog", optarg, 0, TRACKER_MAX_EVENTS, &o->bad_backlog);
            break;
        case OPT_BAD_MODE:
            rc = parse_bad_mode(optarg, &o->bad_mode);
            break;
        case OPT_BAD_DELAY:
            rc = parse_int("bad-delay-ms", optarg, 0, 3600000, &o->bad_delay_ms);
            break;
        case OPT_BAD_SINK_PORT:
            rc = parse_int("bad-sink-port", optarg, 0, 65535, &o->bad_sink_port);
            break;
        case OPT_HELP:
            opts_usage(stdout);
            return OPTS_HELP;
        default:
            fprintf(stderr, "bench: unknown or incomplete option '%s'\n", argv[optind - 1]);
            rc = -1;
            break;
        }
        if (rc != 0) {
            fprintf(stderr, "Try 'bench --help'.\n");
            return OPTS_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bench: unexpected argument '%s'\nTry 'bench --help'.\n", argv[optind]);
        return OPTS_USAGE;
    }
    if (validate(o, duration_set, sinks_set) != 0) {
        fprintf(stderr, "Try 'bench --help'.\n");
        return OPTS_USAGE;
    }
    return OPTS_RUN;
}
