/*
 * bench-baseline — the smallest programs that do what eventhub's two hot paths do,
 * with the same libraries, so a bench run can print eventhub's figure next to what
 * the machine gives at all. Nothing here validates, logs, routes or retries: each
 * mode is the floor that eventhub's features are paid on top of.
 *
 * --ingress: a libmicrohttpd daemon in eventhub's threading mode (one internal epoll
 *   thread, MHD_ALLOW_SUSPEND_RESUME; lib/http/http_server.c) answering POST /events.
 *   The body is copied into the request's slot; on the last handler call the
 *   connection is suspended *before* js_PublishMsgAsync (the ack may come at once),
 *   and the publish-ack handler (a nats.c thread) stores the outcome and resumes the
 *   connection, whose next handler call queues a fixed 202 (or 503). nats.c 3.4.1
 *   has no per-message closure, so the slot index travels in the subject
 *   (SUBJECT_PREFIX.<slot>): the ack handler reads it back without a lookup table.
 *   Slots are a fixed array with a free list used only on the MHD thread (taken on
 *   the first handler call, given back in the completed callback), so a request
 *   allocates nothing itself; what remains is nats.c's message (natsMsg_Create copies
 *   the body) and MHD's own per-connection state. The stream is created here (file
 *   storage, limits retention, discard new: eventhub's settings). --msg-id adds a
 *   unique Nats-Msg-Id per publish, as eventhub does, to see the cost of JetStream's
 *   duplicate window.
 *
 * --consumer: binds a push subscription to a new durable consumer (explicit ack,
 *   MaxAckPending as eventhub's default) on a stream that already holds a backlog,
 *   and POSTs each message's data to every --webhook URL from one libcurl multi loop
 *   on the main thread (keep-alive; eventhub's delivery thread does the same). The
 *   subscription callback only pushes the message onto a fixed ring and, when the
 *   ring was empty, wakes the loop (curl_multi_wakeup). A message takes a job slot
 *   with one easy handle per URL, created once and reused; at most 32 calls per URL
 *   are in flight (eventhub's endpoint_max_concurrent). The message is acked when
 *   every URL answered 2xx (nak'ed otherwise). It exits once --count messages were
 *   acked and prints the drain rate from the first message received to the last ack.
 *
 * Threads: ingress — the MHD thread owns the slots' free list and bodies; the ack
 *   handler thread only writes a slot's atomic state and resumes. consumer — the
 *   ring is shared under one mutex; everything else belongs to the main thread.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <getopt.h>
#include <microhttpd.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SUBJECT_PREFIX "baseline"
#define MAX_WEBHOOKS 8
#define BODY_CAP (16 * 1024) /* bench's events are ~330 B */
#define PUBLISH_WAIT_MS 5000
/* eventhub's delivery.endpoint_max_concurrent default. On two cores, 32 calls per
 * endpoint drained fastest: 16 was 25% slower, 128 35% slower (curl_multi_perform
 * visits every transfer of the multi handle on each pass). */
#define ENDPOINT_MAX_CONCURRENT 32

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct opts {
    bool ingress, consumer, msg_id;
    const char *nats_url;
    const char *stream;
    int port;
    int slots;
    int conn_memory_kb;
    long count;
    int max_ack_pending;
    int max_concurrent;
    const char *webhooks[MAX_WEBHOOKS];
    int nwebhooks;
    double timeout_s;
};

static natsStatus connect_js(const char *url, natsConnection **nc, jsCtx **js, jsOptions *jo)
{
    natsStatus s = natsConnection_ConnectTo(nc, url);
    if (s == NATS_OK)
        s = natsConnection_JetStream(js, *nc, jo);
    if (s != NATS_OK)
        fprintf(stderr, "bench-baseline: NATS %s: %s\n", url, natsStatus_GetText(s));
    return s;
}

/* ---- ingress ---- */

enum slot_state { SLOT_RECEIVING, SLOT_PUBLISHING, SLOT_STORED, SLOT_FAILED };

struct slot {
    struct MHD_Connection *conn;
    _Atomic int state;
    bool too_large;
    size_t len;
    int next_free;
    char body[BODY_CAP];
};

struct ingress {
    jsCtx *js;
    struct slot *slots;
    int nslots;
    int free_head; /* MHD thread only */
    bool msg_id;
    uint64_t next_id; /* MHD thread only */
    struct MHD_Response *accepted, *unavailable, *too_large, *not_found;
};

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    struct ingress *ing = closure;
    const char *subj = natsMsg_GetSubject(msg);
    long i = strtol(subj + sizeof(SUBJECT_PREFIX), NULL, 10);
    natsMsg_Destroy(msg);
    if (i < 0 || i >= ing->nslots)
        return;
    struct slot *sl = &ing->slots[i];
    atomic_store_explicit(&sl->state, pa != NULL && pae == NULL ? SLOT_STORED : SLOT_FAILED,
                          memory_order_release);
    MHD_resume_connection(sl->conn);
}

static enum MHD_Result publish(struct ingress *ing, struct slot *sl)
{
    char subject[32];
    snprintf(subject, sizeof subject, SUBJECT_PREFIX ".%d", (int)(sl - ing->slots));
    natsMsg *msg = NULL;
    if (natsMsg_Create(&msg, subject, NULL, sl->body, (int)sl->len) != NATS_OK)
        return MHD_queue_response(sl->conn, MHD_HTTP_SERVICE_UNAVAILABLE, ing->unavailable);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = PUBLISH_WAIT_MS;
    char id[24];
    if (ing->msg_id) {
        snprintf(id, sizeof id, "%llu", (unsigned long long)ing->next_id++);
        po.MsgId = id;
    }
    atomic_store_explicit(&sl->state, SLOT_PUBLISHING, memory_order_relaxed);
    MHD_suspend_connection(sl->conn); /* before: the ack may arrive at once */
    if (js_PublishMsgAsync(ing->js, &msg, &po) != NATS_OK) {
        natsMsg_Destroy(msg); /* still ours when it failed synchronously */
        atomic_store_explicit(&sl->state, SLOT_FAILED, memory_order_release);
        MHD_resume_connection(sl->conn);
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version;
    struct ingress *ing = cls;
    struct slot *sl = *req_cls;
    if (sl == NULL) {
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0 || strcmp(url, "/events") != 0)
            return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, ing->not_found);
        if (ing->free_head < 0)
            return MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, ing->unavailable);
        sl = &ing->slots[ing->free_head];
        ing->free_head = sl->next_free;
        sl->conn = conn;
        sl->len = 0;
        sl->too_large = false;
        atomic_store_explicit(&sl->state, SLOT_RECEIVING, memory_order_relaxed);
        *req_cls = sl;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (sl->len + n > BODY_CAP)
            sl->too_large = true;
        else
            memcpy(sl->body + sl->len, upload_data, n);
        sl->len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    switch (atomic_load_explicit(&sl->state, memory_order_acquire)) {
    case SLOT_RECEIVING:
        if (sl->too_large)
            return MHD_queue_response(conn, 413, ing->too_large);
        return publish(ing, sl);
    case SLOT_STORED:
        return MHD_queue_response(conn, MHD_HTTP_ACCEPTED, ing->accepted);
    case SLOT_FAILED:
        return MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, ing->unavailable);
    default: /* resumed before the ack: cannot happen, resume only follows one */
        return MHD_NO;
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct ingress *ing = cls;
    struct slot *sl = *req_cls;
    if (sl == NULL)
        return;
    *req_cls = NULL;
    sl->next_free = ing->free_head;
    ing->free_head = (int)(sl - ing->slots);
}

static struct MHD_Response *fixed(const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
                                                             MHD_RESPMEM_PERSISTENT);
    if (r != NULL)
        MHD_add_response_header(r, "Content-Type", "application/json");
    return r;
}

static natsStatus create_stream(jsCtx *js, const char *name)
{
    const char *subjects[] = {SUBJECT_PREFIX ".*"};
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = name;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Retention = js_LimitsPolicy;
    sc.Discard = js_DiscardNew;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_AddStream(&si, js, &sc, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    if (s != NATS_OK)
        fprintf(stderr, "bench-baseline: cannot create stream %s: %s (%d)\n", name,
                natsStatus_GetText(s), (int)jerr);
    return s;
}

static int run_ingress(const struct opts *o)
{
    struct ingress ing = {.nslots = o->slots, .msg_id = o->msg_id, .free_head = 0};
    natsConnection *nc = NULL;
    struct MHD_Daemon *d = NULL;
    int rc = 1;
    ing.slots = calloc((size_t)o->slots, sizeof *ing.slots);
    if (ing.slots == NULL)
        return 1;
    for (int i = 0; i < o->slots; i++)
        ing.slots[i].next_free = i + 1 < o->slots ? i + 1 : -1;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = &ing;
    jo.PublishAsync.MaxPending = o->slots + 64; /* never stalls: slots bound the in-flight */
    jo.Wait = PUBLISH_WAIT_MS;
    if (connect_js(o->nats_url, &nc, &ing.js, &jo) != NATS_OK ||
        create_stream(ing.js, o->stream) != NATS_OK)
        goto out;
    ing.accepted = fixed("{\"status\":\"accepted\"}");
    ing.unavailable = fixed("{\"error\":\"unavailable\"}");
    ing.too_large = fixed("{\"error\":\"payload_too_large\"}");
    ing.not_found = fixed("{\"error\":\"not_found\"}");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                             MHD_USE_ERROR_LOG,
                         (uint16_t)o->port, NULL, NULL, on_request, &ing, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->slots,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)o->conn_memory_kb * 1024,
                         MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_NOTIFY_COMPLETED,
                         on_completed, &ing, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "bench-baseline: cannot listen on 127.0.0.1:%d\n", o->port);
        goto out;
    }
    fprintf(stderr, "bench-baseline: ingress on http://127.0.0.1:%d/events -> stream %s\n", o->port,
            o->stream);
    while (!g_stop) /* a signal may land on any thread: poll the flag */
        usleep(100000);
    /* Every publish is answered within PUBLISH_WAIT_MS (MaxWait): let the suspended
     * connections resume before the daemon stops. */
    MHD_quiesce_daemon(d);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = PUBLISH_WAIT_MS + 1000;
    js_PublishAsyncComplete(ing.js, &po);
    usleep(100000);
    rc = 0;
out:
    if (d != NULL)
        MHD_stop_daemon(d);
    jsCtx_Destroy(ing.js);
    natsConnection_Destroy(nc);
    struct MHD_Response *resp[] = {ing.accepted, ing.unavailable, ing.too_large, ing.not_found};
    for (size_t i = 0; i < sizeof resp / sizeof resp[0]; i++)
        if (resp[i] != NULL)
            MHD_destroy_response(resp[i]);
    free(ing.slots);
    return rc;
}

/* ---- consumer ---- */

struct job {
    natsMsg *msg;
    int remaining;
    bool failed;
    int next_free;
    CURL *easy[MAX_WEBHOOKS];
};

struct consumer {
    const struct opts *o;
    CURLM *multi;
    struct curl_slist *headers;
    struct job *jobs;
    int free_head;
    int running; /* transfers in the multi handle */
    /* The ring: nats.c's delivery thread pushes, the main thread pops. */
    pthread_mutex_t lock;
    natsMsg **ring;
    size_t ring_cap, ring_head, ring_count;
    double first_s;
};

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    struct consumer *c = closure;
    pthread_mutex_lock(&c->lock);
    bool ok = c->ring_count < c->ring_cap;
    bool was_empty = c->ring_count == 0;
    if (ok) {
        c->ring[(c->ring_head + c->ring_count) % c->ring_cap] = msg;
        c->ring_count++;
    }
    if (c->first_s == 0)
        c->first_s = now_s();
    pthread_mutex_unlock(&c->lock);
    if (ok) {
        /* The loop takes everything the ring holds (or waits for a transfer to end,
         * which wakes it too), so only the first message after it emptied the ring
         * needs a wake-up: no syscall and no curl_multi_perform pass per message. */
        if (was_empty)
            curl_multi_wakeup(c->multi);
        return;
    }
    natsMsg_Nak(msg, NULL); /* more than the consumer's window: give it back */
    natsMsg_Destroy(msg);
}

static natsMsg *ring_pop(struct consumer *c)
{
    natsMsg *m = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->ring_count > 0) {
        m = c->ring[c->ring_head];
        c->ring_head = (c->ring_head + 1) % c->ring_cap;
        c->ring_count--;
    }
    pthread_mutex_unlock(&c->lock);
    return m;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

static int setup_jobs(struct consumer *c)
{
    const struct opts *o = c->o;
    c->jobs = calloc((size_t)o->max_ack_pending, sizeof *c->jobs);
    if (c->jobs == NULL)
        return -1;
    for (int j = 0; j < o->max_ack_pending; j++) {
        struct job *jb = &c->jobs[j];
        jb->next_free = j + 1 < o->max_ack_pending ? j + 1 : -1;
        for (int w = 0; w < o->nwebhooks; w++) {
            CURL *e = curl_easy_init();
            if (e == NULL)
                return -1;
            curl_easy_setopt(e, CURLOPT_URL, o->webhooks[w]);
            curl_easy_setopt(e, CURLOPT_POST, 1L);
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 3000L);
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
            curl_easy_setopt(e, CURLOPT_PRIVATE, jb);
            jb->easy[w] = e;
        }
    }
    return 0;
}

/* Starts every waiting message whose calls fit under max_concurrent. */
static void start_waiting(struct consumer *c)
{
    const struct opts *o = c->o;
    while (c->free_head >= 0 && c->running + o->nwebhooks <= o->max_concurrent) {
        natsMsg *m = ring_pop(c);
        if (m == NULL)
            return;
        struct job *jb = &c->jobs[c->free_head];
        c->free_head = jb->next_free;
        jb->msg = m;
        jb->remaining = o->nwebhooks;
        jb->failed = false;
        for (int w = 0; w < o->nwebhooks; w++) {
            curl_easy_setopt(jb->easy[w], CURLOPT_POSTFIELDS, natsMsg_GetData(m));
            curl_easy_setopt(jb->easy[w], CURLOPT_POSTFIELDSIZE, (long)natsMsg_GetDataLength(m));
            curl_multi_add_handle(c->multi, jb->easy[w]);
            c->running++;
        }
    }
}

/* Returns the number of messages acked by the finished transfers. */
static long collect_done(struct consumer *c)
{
    long acked = 0;
    int left = 0;
    CURLMsg *cm;
    while ((cm = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (cm->msg != CURLMSG_DONE)
            continue;
        CURL *e = cm->easy_handle;
        CURLcode res = cm->data.result;
        char *priv = NULL;
        long code = 0;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        struct job *jb = (struct job *)(void *)priv;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        curl_multi_remove_handle(c->multi, e);
        c->running--;
        if (res != CURLE_OK || code < 200 || code > 299)
            jb->failed = true;
        if (--jb->remaining > 0)
            continue;
        if (jb->failed) {
            natsMsg_Nak(jb->msg, NULL);
        } else {
            natsMsg_Ack(jb->msg, NULL);
            acked++;
        }
        natsMsg_Destroy(jb->msg);
        jb->msg = NULL;
        jb->next_free = c->free_head;
        c->free_head = (int)(jb - c->jobs);
    }
    return acked;
}

static natsStatus bind_consumer(jsCtx *js, const struct opts *o, struct consumer *c,
                                natsSubscription **sub)
{
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = "baseline";
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = (int64_t)30 * 1000000000;
    cc.MaxDeliver = -1;
    cc.MaxAckPending = o->max_ack_pending;
    cc.DeliverPolicy = js_DeliverAll;
    cc.DeliverSubject = "_baseline.deliver";
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_AddConsumer(&ci, js, o->stream, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK) {
        fprintf(stderr, "bench-baseline: cannot create a consumer on %s: %s (%d)\n", o->stream,
                natsStatus_GetText(s), (int)jerr);
        return s;
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = o->stream;
    so.Consumer = "baseline";
    so.ManualAck = true;
    s = js_Subscribe(sub, js, NULL, on_msg, c, NULL, &so, &jerr);
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(*sub, (int)c->ring_cap, -1);
    if (s != NATS_OK)
        fprintf(stderr, "bench-baseline: cannot subscribe: %s\n", natsStatus_GetText(s));
    return s;
}

static int run_consumer(const struct opts *o)
{
    struct consumer c = {.o = o, .free_head = 0};
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsSubscription *sub = NULL;
    int rc = 1;
    pthread_mutex_init(&c.lock, NULL);
    c.ring_cap = (size_t)o->max_ack_pending * 2 + 1024; /* eventhub's pending limit */
    c.ring = calloc(c.ring_cap, sizeof *c.ring);
    c.multi = curl_multi_init();
    c.headers = curl_slist_append(NULL, "Content-Type: application/json");
    c.headers = curl_slist_append(c.headers, "Expect:");
    if (c.ring == NULL || c.multi == NULL || c.headers == NULL || setup_jobs(&c) != 0)
        goto out;
    curl_multi_setopt(c.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o->max_concurrent);
    curl_multi_setopt(c.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)o->max_concurrent);
    curl_multi_setopt(c.multi, CURLMOPT_MAXCONNECTS, (long)o->max_concurrent);
    if (connect_js(o->nats_url, &nc, &js, NULL) != NATS_OK ||
        bind_consumer(js, o, &c, &sub) != NATS_OK)
        goto out;
    long acked = 0;
    double deadline = now_s() + o->timeout_s;
    while (acked < o->count && !g_stop && now_s() < deadline) {
        start_waiting(&c);
        int still = 0;
        curl_multi_perform(c.multi, &still);
        acked += collect_done(&c);
        start_waiting(&c);
        curl_multi_poll(c.multi, NULL, 0, 100, NULL);
    }
    double end = now_s();
    natsConnection_FlushTimeout(nc, 5000); /* the last acks reach the server */
    pthread_mutex_lock(&c.lock);
    double first = c.first_s;
    pthread_mutex_unlock(&c.lock);
    double span = first > 0 ? end - first : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("consumer: acked %ld of %ld messages to %d webhook(s) in %.3f s: %.1f messages/s; "
           "cpu %.3f s (%.1f us per message)\n",
           acked, o->count, o->nwebhooks, span, span > 0 ? (double)acked / span : 0.0, cpu,
           acked > 0 ? 1e6 * cpu / (double)acked : 0.0);
    rc = acked >= o->count ? 0 : 1;
out:
    if (sub != NULL) {
        natsSubscription_Unsubscribe(sub); /* deletes nothing: the consumer was added */
        natsSubscription_Destroy(sub);
    }
    for (int j = 0; c.jobs != NULL && j < o->max_ack_pending; j++)
        for (int w = 0; w < o->nwebhooks; w++)
            if (c.jobs[j].easy[w] != NULL) {
                curl_multi_remove_handle(c.multi, c.jobs[j].easy[w]);
                curl_easy_cleanup(c.jobs[j].easy[w]);
            }
    curl_multi_cleanup(c.multi);
    curl_slist_free_all(c.headers);
    /* Messages still on the ring or in a job are left to the library's teardown. */
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    free(c.jobs);
    free(c.ring);
    pthread_mutex_destroy(&c.lock);
    return rc;
}

/* ---- main ---- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bench-baseline --ingress --nats URL --port P [--stream NAME] [--msg-id]\n"
            "       bench-baseline --consumer --nats URL --stream NAME --count N\n"
            "                      --webhook URL [--webhook URL]... [--max-ack-pending N]\n"
            "                      [--max-concurrent N] [--timeout S]\n"
            "  --ingress     POST /events on 127.0.0.1:P -> js_PublishAsync to a new stream\n"
            "                NAME (default BASELINE, subjects " SUBJECT_PREFIX ".*) -> 202 after\n"
            "                the ack; runs until SIGINT/SIGTERM\n"
            "  --msg-id      give every publish a unique Nats-Msg-Id (as eventhub does)\n"
            "  --conn-memory-kb K   MHD_OPTION_CONNECTION_MEMORY_LIMIT (default 64, as\n"
            "                eventhub; MHD zeroes it for every request on a connection)\n"
            "  --consumer    a new durable push consumer on NAME; each message to every\n"
            "                webhook, ack when all answered 2xx; exits after N acks (or\n"
            "                --timeout, default 300 s) printing the drain rate\n"
            "  --max-ack-pending N  the consumer's window (default 1024, as eventhub)\n"
            "  --max-concurrent N   calls in flight at most (default 32 per webhook, as\n"
            "                       eventhub's endpoint_max_concurrent)\n"
            "Exit status: 0 on success, 1 on failure, 2 on usage errors.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"ingress", no_argument, NULL, 'i'},
        {"consumer", no_argument, NULL, 'c'},
        {"nats", required_argument, NULL, 'n'},
        {"stream", required_argument, NULL, 's'},
        {"port", required_argument, NULL, 'p'},
        {"count", required_argument, NULL, 'N'},
        {"webhook", required_argument, NULL, 'w'},
        {"max-ack-pending", required_argument, NULL, 'a'},
        {"max-concurrent", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {"msg-id", no_argument, NULL, 'I'},
        {"conn-memory-kb", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct opts){.nats_url = "nats://127.0.0.1:4222",
                       .stream = "BASELINE",
                       .slots = 1024,
                       .conn_memory_kb = 64,
                       .max_ack_pending = 1024,
                       .timeout_s = 300};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'i':
            o->ingress = true;
            break;
        case 'c':
            o->consumer = true;
            break;
        case 'I':
            o->msg_id = true;
            break;
        case 'M':
            o->conn_memory_kb = atoi(optarg);
            break;
        case 'n':
            o->nats_url = optarg;
            break;
        case 's':
            o->stream = optarg;
            break;
        case 'p':
            o->port = atoi(optarg);
            break;
        case 'N':
            o->count = atol(optarg);
            break;
        case 'a':
            o->max_ack_pending = atoi(optarg);
            break;
        case 'm':
            o->max_concurrent = atoi(optarg);
            break;
        case 't':
            o->timeout_s = atof(optarg);
            break;
        case 'w':
            if (o->nwebhooks == MAX_WEBHOOKS) {
                fprintf(stderr, "bench-baseline: at most %d webhooks\n", MAX_WEBHOOKS);
                return 2;
            }
            o->webhooks[o->nwebhooks++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (o->max_concurrent == 0)
        o->max_concurrent = ENDPOINT_MAX_CONCURRENT * (o->nwebhooks > 0 ? o->nwebhooks : 1);
    bool ok = optind == argc && o->ingress != o->consumer;
    if (ok && o->ingress)
        ok = o->port > 0 && o->port < 65536 && o->conn_memory_kb >= 4 && o->conn_memory_kb <= 1024;
    if (ok && o->consumer)
        ok = o->count > 0 && o->nwebhooks > 0 && o->max_ack_pending > 0 &&
             o->max_concurrent >= o->nwebhooks && o->timeout_s > 0;
    if (!ok) {
        usage(stderr);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    int prc = parse_opts(argc, argv, &o);
    if (prc != 0)
        return prc == 1 ? 0 : 2;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = o.ingress ? run_ingress(&o) : run_consumer(&o);
    nats_Close();
    curl_global_cleanup();
    return rc;
}
