/*
 * opts — bench command line: parsed once on the main thread into an immutable
 * struct that every module borrows for the whole run.
 */
#ifndef BENCH_OPTS_H
#define BENCH_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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
};

enum opts_result {
    OPTS_RUN,   /* options valid: run */
    OPTS_HELP,  /* --help printed: exit 0 */
    OPTS_USAGE, /* message printed on stderr: exit 2 */
};

enum opts_result opts_parse(int argc, char **argv, struct bench_opts *o);
void opts_usage(FILE *out);

#endif
