/*
 * publisher — asynchronous, bounded publishing to JetStream with one completion
 * callback per message.
 *
 * publisher_submit() never blocks on the network: it hands the message to nats.c and
 * returns. The completion callback runs exactly once per accepted submission, on
 * nats.c's publish-ack thread (possibly before publisher_submit returns), with the
 * stream sequence or the reason it failed. A publish that gets no ack within the
 * configured timeout completes as PUBLISH_TIMEOUT — nothing is left hanging.
 *
 * The number of publishes in flight is capped below nats.c's own stall limit, so a
 * caller is refused at once (-EAGAIN → 503) instead of being blocked.
 *
 * Threads: submit from any thread; callbacks on the nats.c ack thread; a callback
 * must not block (it hands the result over, e.g. resumes an HTTP connection).
 */
#ifndef EVENTHUB_PUBLISHER_H
#define EVENTHUB_PUBLISHER_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nats_link;

enum publish_outcome {
    PUBLISH_OK = 0,
    PUBLISH_TIMEOUT,     /* no ack in time (server slow, or connection lost) */
    PUBLISH_REJECTED,    /* the server refused it (stream full, no stream, ...) */
    PUBLISH_UNAVAILABLE, /* no responders / not connected */
};

struct publish_result {
    enum publish_outcome outcome;
    uint64_t stream_seq;
    bool duplicate;
    const char *error; /* human detail when not OK; valid during the callback */
    bool permanent;    /* refused for good (message too large for the stream): retrying
                          cannot help */
};

typedef void (*publish_done_fn)(void *closure, const struct publish_result *result);

struct publisher;

struct publisher *publisher_new(struct nats_link *link, int max_inflight, int64_t timeout_ms);
/* Waits up to timeout_ms for in-flight publishes to complete, then frees. */
void publisher_free(struct publisher *pub, int64_t timeout_ms);

/*
 * Publishes `data` to `subject` with Nats-Msg-Id `msg_id` and the kind header `kind`
 * (each may be NULL). Returns 0
 * when the message was handed over (`done` will be called), or -EAGAIN (too many in
 * flight), -ENOTCONN (link not ready), -ESHUTDOWN (closed), -EMSGSIZE (larger than
 * the server's max payload), -ENOMEM, -EIO — then `done` is not called.
 */
int publisher_submit(struct publisher *pub, const char *subject, const char *msg_id,
                     const char *kind, const char *data, size_t len, publish_done_fn done,
                     void *closure);

/* The same for a message the caller built (subject, headers, data); takes `msg` in
 * every case (destroyed on a refusal). */
int publisher_submit_msg(struct publisher *pub, natsMsg *msg, const char *msg_id,
                         publish_done_fn done, void *closure);

/* The header naming an event's kind ("call_signal", a FreeSWITCH Event-Name); events
 * without it came from POST /events ("ingress"). Routes filter on it. */
#define PUBLISHER_KIND_HEADER "Eventhub-Kind"

/* Refuses every later submit (-ESHUTDOWN); what is in flight still completes. */
void publisher_close(struct publisher *pub);
int publisher_inflight(const struct publisher *pub);
/* Blocks until nothing is in flight or timeout_ms passed; true when drained. */
bool publisher_drain(struct publisher *pub, int64_t timeout_ms);

#endif
