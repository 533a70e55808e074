/*
 * badsink — the misbehaving webhook endpoint of the noisy-neighbour scenario:
 * a small HTTP/1.1 server on 127.0.0.1:port that counts every complete request
 * and then answers 500 at once (fail), 200 after a delay (slow) or never
 * (hang: the connection stays open until the client gives up and closes it).
 *
 * Threads: one thread of its own runs a plain epoll loop that owns the
 * listening socket, the connections and the queue of delayed answers; a slow
 * answer is a deadline on a timerfd in that loop, so no connection waits for
 * another. Other threads read only the atomic counters.
 */
#ifndef BENCH_BADSINK_H
#define BENCH_BADSINK_H

#include <stdint.h>

enum badsink_mode {
    BADSINK_FAIL, /* 500 at once */
    BADSINK_SLOW, /* 200 after delay_ms */
    BADSINK_HANG, /* no answer */
};

struct badsink;

/* Binds 127.0.0.1:port (0 = any free port) and starts the thread. Returns
 * NULL with a message on stderr. */
struct badsink *badsink_new(int port, enum badsink_mode mode, int delay_ms);
/* Stops the thread, closes every connection, frees; accepts NULL. */
void badsink_destroy(struct badsink *b);

/* Any thread. */
int badsink_port(const struct badsink *b);
uint64_t badsink_calls(const struct badsink *b);       /* complete requests received */
uint64_t badsink_answered(const struct badsink *b);    /* answers written whole */
uint64_t badsink_connections(const struct badsink *b); /* connections accepted */

#endif
