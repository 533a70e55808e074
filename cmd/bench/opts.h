/*
 * opts — bench command line: parsed once on the main thread into an immutable
 * struct that every module borrows for the whole run.
 */
#ifndef BENCH_OPTS_H
#define BENCH_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* How the bad domains' endpoint misbehaves in the noisy-neighbour scenario. */
enum bad_mode {
    BAD_MODE_FAIL,   /* the bad sink answers 500 at once */
    BAD_MODE_SLOW,   /* the bad sink answers 200 after bad_delay_ms */
    BAD_MODE_HANG,   /* the bad sink never answers; the connection stays open */
    BAD_MODE_REFUSE, /* no bad sink: its URL points at a port nobody listens on */
};

struct bench_opts {
    const char *url;        /* borrows argv */
    const char *domain;     /* borrows argv */
    int connections;        /* concurrent keep-alive connections */
    double duration_s;      /* send phase length; 0 = bounded by count only */
    uint64_t count;         /* events to send; 0 = bounded by duration only */
    double rate;            /* events/s in total; 0 = as fast as possible */
    size_t payload_bytes;   /* body size to pad to; 0 = natural event (~330 B) */
    int sinks;              /* webhook sinks; 0 = ingress only */
    int sink_port;          /* first sink port */
    double drain_timeout_s; /* wait for deliveries after the send phase */
    long pid;               /* process whose RSS is sampled; 0 = none */
    bool json;              /* JSON result on stdout, human table on stderr */
    bool retry_on_error;    /* retry 503 and transport errors with the same id */
    bool sink_only;         /* run the sinks only, until SIGINT/SIGTERM */
    uint64_t sink_expect;   /* --sink-only: stop once every sink answered this many */
    /* Noisy neighbour: on when healthy_domains or bad_domains > 0. */
    int healthy_domains;  /* the timed phase spreads over healthy-0..K-1.bench.example */
    int bad_domains;      /* bad-0..M-1.bench.example */
    uint64_t bad_backlog; /* events posted round robin to the bad domains first */
    enum bad_mode bad_mode;
    int bad_delay_ms;  /* slow mode's answer delay */
    int bad_sink_port; /* 0 = any free port */
};

/* True when the run is a noisy-neighbour scenario. */
bool opts_noisy(const struct bench_opts *o);
/* "fail", "slow", "hang" or "refuse". */
const char *opts_bad_mode_name(enum bad_mode m);

enum opts_result {
    OPTS_RUN,   /* options valid: run */
    OPTS_HELP,  /* --help printed: exit 0 */
    OPTS_USAGE, /* message printed on stderr: exit 2 */
};

enum opts_result opts_parse(int argc, char **argv, struct bench_opts *o);
void opts_usage(FILE *out);

#endif
