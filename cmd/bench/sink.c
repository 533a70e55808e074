/*
 * sink — see sink.h. Runs on the libmicrohttpd internal thread of its daemon.
 *
 * Body parsing is a streaming match of the key "bench_seq": followed by digits,
 * fed chunk by chunk, so nothing is buffered and no JSON tree is built. When
 * the body lacks the key, the numeric suffix of X-Event-Id is used. Receipts
 * count in the request-completed callback, i.e. only once the 200 went out
 * whole, which is when eventhub considers the delivery done; the receipt time
 * is taken when the body was complete.
 */
#include "sink.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bclock.h"

#define SEQ_KEY "\"bench_seq\":"
#define ID_PREFIX_CAP 64

enum scan_phase { SCAN_KEY, SCAN_SPACE, SCAN_DIGITS, SCAN_DONE };

struct request {
    bool ok;       /* a 200 was queued */
    bool foreign;  /* X-Event-Id from another run */
    bool have_seq; /* seq parsed from the body */
    bool hdr_seq_ok;
    enum scan_phase phase;
    size_t matched; /* bytes of SEQ_KEY matched so far */
    uint64_t seq;
    uint64_t hdr_seq;
    int64_t recv_us;
};

struct sink {
    int index;
    int port;
    struct tracker *tracker;
    char id_prefix[ID_PREFIX_CAP];
    size_t id_prefix_len;
    struct MHD_Daemon *daemon;
    struct MHD_Response *ok;
    struct MHD_Response *not_found;
    uint64_t *seen; /* bitmap by seq; NULL without tracker */
    _Atomic uint64_t requests;
    _Atomic int64_t first_us, last_us;
    struct sink_stats stats;
};

static void scan_body(struct request *rq, const char *data, size_t len)
{
    static const char key[] = SEQ_KEY;
    for (size_t i = 0; i < len && rq->phase != SCAN_DONE; i++) {
        char c = data[i];
        switch (rq->phase) {
        case SCAN_KEY:
            if (c == key[rq->matched]) {
                if (++rq->matched == sizeof(key) - 1)
                    rq->phase = SCAN_SPACE;
            } else {
                /* '"' is the only prefix of the key that recurs in it. */
                rq->matched = c == '"' ? 1 : 0;
            }
            break;
        case SCAN_SPACE:
            if (c == ' ')
                break;
            rq->phase = SCAN_DIGITS;
            __attribute__((fallthrough));
        case SCAN_DIGITS:
            if (c >= '0' && c <= '9' && rq->seq < UINT32_MAX) {
                rq->seq = rq->seq * 10 + (uint64_t)(c - '0');
                rq->have_seq = true;
            } else {
                rq->phase = SCAN_DONE;
            }
            break;
        case SCAN_DONE:
            break;
        }
    }
}

static void read_event_id(struct sink *s, struct MHD_Connection *conn, struct request *rq)
{
    const char *id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Event-Id");
    if (id == NULL)
        return;
    if (strncmp(id, s->id_prefix, s->id_prefix_len) != 0) {
        rq->foreign = true;
        return;
    }
    const char *p = id + s->id_prefix_len;
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9' && v < UINT32_MAX; p++)
        v = v * 10 + (uint64_t)(*p - '0');
    if (*p == '\0' && p != id + s->id_prefix_len) {
        rq->hdr_seq = v;
        rq->hdr_seq_ok = true;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version;
    struct sink *s = cls;
    struct request *rq = *req_cls;
    if (rq == NULL) {
        rq = calloc(1, sizeof(*rq));
        if (rq == NULL)
            return MHD_NO;
        *req_cls = rq;
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0 || strcmp(url, "/webhook") != 0)
            return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, s->not_found);
        if (s->tracker != NULL)
            read_event_id(s, conn, rq);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (s->tracker != NULL && !rq->foreign)
            scan_body(rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    rq->recv_us = bclock_now_us();
    rq->ok = true;
    return MHD_queue_response(conn, MHD_HTTP_OK, s->ok);
}

static bool seen_test_and_set(struct sink *s, uint32_t seq)
{
    uint64_t bit = 1ull << (seq % 64);
    uint64_t *word = &s->seen[seq / 64];
    bool was = (*word & bit) != 0;
    *word |= bit;
    return was;
}

static void record(struct sink *s, const struct request *rq)
{
    struct sink_stats *st = &s->stats;
    if (rq->foreign) {
        st->foreign++;
        return;
    }
    if (!rq->have_seq && !rq->hdr_seq_ok) {
        st->unparsed++;
        return;
    }
    uint64_t seq = rq->have_seq ? rq->seq : rq->hdr_seq;
    if (seq >= tracker_issued(s->tracker)) {
        st->foreign++;
        return;
    }
    if (seen_test_and_set(s, (uint32_t)seq)) {
        st->duplicates++;
        return;
    }
    st->receipts++;
    if (tracker_mark_received(s->tracker, (uint32_t)seq) == TRACKER_RECEIPT_COMPLETE) {
        st->completed++;
        hist_record(&st->e2e, rq->recv_us - tracker_sched_us(s->tracker, (uint32_t)seq));
        if (rq->recv_us > st->last_complete_us)
            st->last_complete_us = rq->recv_us;
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct sink *s = cls;
    struct request *rq = *req_cls;
    if (rq == NULL)
        return;
    *req_cls = NULL;
    if (rq->ok && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        int64_t now = bclock_now_us();
        if (atomic_load_explicit(&s->first_us, memory_order_relaxed) == 0)
            atomic_store_explicit(&s->first_us, now, memory_order_relaxed);
        atomic_store_explicit(&s->last_us, now, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
        if (s->tracker != NULL)
            record(s, rq);
    }
    free(rq);
}

static struct MHD_Response *json_response(const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
                                                             MHD_RESPMEM_PERSISTENT);
    if (r != NULL && MHD_add_response_header(r, "Content-Type", "application/json") != MHD_YES) {
        MHD_destroy_response(r);
        r = NULL;
    }
    return r;
}

struct sink *sink_new(int index, int port, struct tracker *tracker, const char *id_prefix)
{
    struct sink *s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto fail;
    s->index = index;
    s->port = port;
    s->tracker = tracker;
    atomic_init(&s->requests, 0);
    atomic_init(&s->first_us, 0);
    atomic_init(&s->last_us, 0);
    hist_init(&s->stats.e2e);
    snprintf(s->id_prefix, sizeof(s->id_prefix), "%s", id_prefix);
    s->id_prefix_len = strlen(s->id_prefix);
    if (tracker != NULL) {
        s->seen = calloc(tracker_capacity(tracker) / 64 + 1, sizeof(*s->seen));
        if (s->seen == NULL)
            goto fail;
    }
    s->ok = json_response("{}");
    s->not_found = json_response("{\"error\":\"not_found\"}");
    if (s->ok == NULL || s->not_found == NULL)
        goto fail;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->daemon = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
        NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT, 10000u,
        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (s->daemon == NULL) {
        fprintf(stderr, "bench: cannot start sink %d on 127.0.0.1:%d (port in use?)\n", index,
                port);
        goto fail;
    }
    return s;
fail:
    if (s == NULL)
        fprintf(stderr, "bench: out of memory\n");
    sink_destroy(s);
    return NULL;
}

void sink_stop(struct sink *s)
{
    if (s != NULL && s->daemon != NULL) {
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
        s->stats.requests = atomic_load(&s->requests);
    }
}

void sink_destroy(struct sink *s)
{
    if (s == NULL)
        return;
    sink_stop(s);
    if (s->ok != NULL)
        MHD_destroy_response(s->ok);
    if (s->not_found != NULL)
        MHD_destroy_response(s->not_found);
    free(s->seen);
    free(s);
}

uint64_t sink_requests(const struct sink *s)
{
    return atomic_load_explicit(&s->requests, memory_order_relaxed);
}

int64_t sink_first_us(const struct sink *s)
{
    return atomic_load_explicit(&s->first_us, memory_order_relaxed);
}

int64_t sink_last_us(const struct sink *s)
{
    return atomic_load_explicit(&s->last_us, memory_order_relaxed);
}

int sink_port(const struct sink *s)
{
    return s->port;
}

const struct sink_stats *sink_stats(const struct sink *s)
{
    return &s->stats;
}
