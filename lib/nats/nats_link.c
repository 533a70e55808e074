/*
 * nats_link — see nats_link.h.
 *
 * State is a single atomic enum written by the nats.c callback thread and the setup
 * thread; readers (HTTP, delivery) only load it. The setup thread sleeps on a
 * condition variable until a (re)connect asks for setup or shutdown begins.
 */
#include "nats/nats_link.h"

#include "core/clock.h"
#include "config/config.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/stats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum link_state { LINK_CONNECTING, LINK_SETUP, LINK_READY, LINK_DISCONNECTED, LINK_CLOSED };

static const char *const state_names[] = {
    [LINK_CONNECTING] = "connecting", [LINK_SETUP] = "setting up streams",
    [LINK_READY] = "connected",       [LINK_DISCONNECTED] = "disconnected",
    [LINK_CLOSED] = "closed",
};

struct nats_link {
    const struct config *cfg;
    natsConnection *conn;
    jsCtx *js;
    _Atomic int state;
    _Atomic bool set_up; /* a setup has succeeded on this connection's server(s) once */

    pthread_t setup_thread;
    bool setup_thread_started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool setup_wanted; /* guarded by lock */
    bool stopping;     /* guarded by lock */
    bool armed;        /* guarded by lock: conn and js exist, setup may run */
    bool closed;       /* guarded by lock: the closed callback has run */
    char problem[400]; /* guarded by lock: why setup cannot succeed as configured; "" none */

    nats_link_ready_fn on_ready;
    void *closure;
};

#define NS_PER_MS 1000000LL

static void request_setup(struct nats_link *link)
{
    pthread_mutex_lock(&link->lock);
    link->setup_wanted = true;
    pthread_cond_signal(&link->wake);
    pthread_mutex_unlock(&link->lock);
}

/* The server this connection uses, redacted (redact.h): nats.c gives it back with the
 * user and password of nats.url. Empty when there is none. */
static void connected_url(natsConnection *nc, char *buf, size_t cap)
{
    char raw[512] = "";
    buf[0] = '\0';
    if (nc && natsConnection_GetConnectedUrl(nc, raw, sizeof raw) == NATS_OK && raw[0])
        redact_url_to(buf, cap, raw, strlen(raw));
}

static void on_connected(natsConnection *nc, void *closure)
{
    struct nats_link *link = closure;
    char url[256];
    connected_url(nc, url, sizeof url);
    log_info("nats", "connected to %s", url);
    /* After a reconnect the streams were set up before: serve at once and check them
     * again in the background. Setup asks for each stream, the consumer and the bucket
     * in turn, each waiting up to a request timeout when its leader was on the node
     * that went away; holding every event back until all of them answered made a node
     * loss cost several timeouts instead of one election. (A publish to a stream that
     * has no leader yet fails on its own, with a 503.) */
    atomic_store(&link->state, atomic_load(&link->set_up) ? LINK_READY : LINK_SETUP);
    request_setup(link);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    struct nats_link *link = closure;
    int prev = atomic_exchange(&link->state, LINK_DISCONNECTED);
    if (prev != LINK_DISCONNECTED && prev != LINK_CLOSED)
        log_warn("nats", "disconnected from the server; reconnecting");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    stats_inc(STAT_NATS_RECONNECTS);
    on_connected(nc, closure);
}

/* The last callback nats.c makes with our closure: nats_link_free waits for it. */
static void on_closed(natsConnection *nc, void *closure)
{
    struct nats_link *link = closure;
    atomic_store(&link->state, LINK_CLOSED);
    pthread_mutex_lock(&link->lock);
    link->closed = true;
    pthread_cond_broadcast(&link->wake);
    pthread_mutex_unlock(&link->lock);
}

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    static struct log_ratelimit rl;
    int suppressed = 0;
    if (log_ratelimit_ok(&rl, 5, 10000, &suppressed))
        log_warn("nats", "asynchronous error: %s (%d similar suppressed)", natsStatus_GetText(err),
                 suppressed);
}

static int64_t ms_to_ns(int64_t ms)
{
    return ms * NS_PER_MS;
}

static void set_problem(struct nats_link *link, const char *text)
{
    pthread_mutex_lock(&link->lock);
    bool changed = strcmp(link->problem, text) != 0;
    snprintf(link->problem, sizeof link->problem, "%s", text);
    pthread_mutex_unlock(&link->lock);
    if (changed && text[0]) /* once, not at every retry */
        log_error("nats", "%s", text);
}

/*
 * The stream cannot be created because another stream already takes its subjects:
 * most often eventhub's own stream under its old name, after nats.stream.name changed.
 * Says which stream and what to do, in the log and in /health.
 */
static void explain_overlap(struct nats_link *link, const char *name, const char *subject)
{
    jsOptions o;
    jsOptions_Init(&o);
    o.Stream.Info.SubjectsFilter = subject;
    jsStreamNamesList *names = NULL;
    const char *other = NULL;
    if (js_StreamNames(&names, link->js, &o, NULL) == NATS_OK && names)
        for (int i = 0; i < names->Count && !other; i++)
            if (strcmp(names->List[i], name) != 0)
                other = names->List[i];
    char text[400];
    snprintf(text, sizeof text,
             "stream %s cannot be created: its subjects (%s) are taken by stream %s on this "
             "NATS server (was nats.stream.name changed?). Set nats.stream.name back to %s, "
             "or give %s other subjects (nats.subject_pattern), or delete %s once drained",
             name, subject, other ? other : "(another)", other ? other : "that stream's name", name,
             other ? other : "it");
    jsStreamNamesList_Destroy(names);
    set_problem(link, text);
}

static natsStatus ensure_stream(struct nats_link *link, const char *name, const char *subject,
                                jsRetentionPolicy retention, int64_t max_age_ms, int64_t max_msgs,
                                int64_t max_bytes)
{
    const struct config *cfg = link->cfg;
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char *subjects[1] = {subject};
    sc.Name = name;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Retention = retention;
    sc.Storage = cfg->nats.storage == STORAGE_MEMORY ? js_MemoryStorage : js_FileStorage;
    sc.MaxAge = ms_to_ns(max_age_ms);
    sc.MaxMsgs = max_msgs;
    sc.MaxBytes = max_bytes;
    /* When full, refuse new events (the publisher answers 503) rather than trimming
     * events that may not have been delivered yet. */
    sc.Discard = js_DiscardNew;
    sc.Duplicates = ms_to_ns(cfg->nats.duplicate_window_ms);
    sc.Replicas = cfg->nats.replicas;

    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, link->js, name, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        s = js_AddStream(&si, link->js, &sc, NULL, &jerr);
        if (s == NATS_OK)
            log_info("nats", "created stream %s (subjects %s)", name, subject);
    } else if (s == NATS_OK) {
        jsStreamInfo_Destroy(si);
        si = NULL;
        s = js_UpdateStream(&si, link->js, &sc, NULL, &jerr);
        if (s != NATS_OK) {
            /* Some settings (storage, for one) cannot change on a live stream: keep
             * serving with the existing stream and say so. */
            log_warn("nats",
                     "stream %s exists but could not be updated to the configured "
                     "settings: %s (%s); using it as it is",
                     name, natsStatus_GetText(s), nats_GetLastError(NULL));
            s = NATS_OK;
        }
    }
    if (s != NATS_OK && jerr == JSStreamSubjectOverlapErr)
        explain_overlap(link, name, subject);
    else if (s != NATS_OK)
        log_warn("nats", "cannot set up stream %s: %s (%s, code %d)", name, natsStatus_GetText(s),
                 nats_GetLastError(NULL), (int)jerr);
    jsStreamInfo_Destroy(si);
    return s;
}

static natsStatus ensure_consumer(struct nats_link *link)
{
    const struct config *cfg = link->cfg;
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = cfg->nats.consumer_name;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = ms_to_ns(cfg->nats.ack_wait_ms);
    /* eventhub counts attempts itself (NumDelivered) and dead-letters after
     * max_deliver; the server must never give up on a message on its own, or a crash
     * during the last attempt would leave the event neither delivered nor
     * dead-lettered. */
    cc.MaxDeliver = -1;
    cc.MaxAckPending = cfg->nats.max_ack_pending;
    cc.DeliverPolicy = js_DeliverAll;
    cc.DeliverSubject = cfg->nats.deliver_subject;
    cc.DeliverGroup = cfg->nats.deliver_group;

    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, link->js, cfg->nats.stream_name, cfg->nats.consumer_name,
                                      NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        s = js_AddConsumer(&ci, link->js, cfg->nats.stream_name, &cc, NULL, &jerr);
        if (s == NATS_OK)
            log_info("nats", "created durable consumer %s on %s", cfg->nats.consumer_name,
                     cfg->nats.stream_name);
    } else if (s == NATS_OK) {
        jsConsumerInfo_Destroy(ci);
        ci = NULL;
        s = js_UpdateConsumer(&ci, link->js, cfg->nats.stream_name, &cc, NULL, &jerr);
        if (s != NATS_OK) {
            log_warn("nats",
                     "consumer %s exists but could not be updated: %s (%s); using it as "
                     "it is",
                     cfg->nats.consumer_name, natsStatus_GetText(s), nats_GetLastError(NULL));
            s = NATS_OK;
        }
    }
    if (s != NATS_OK)
        log_warn("nats", "cannot set up consumer %s: %s (%s, code %d)", cfg->nats.consumer_name,
                 natsStatus_GetText(s), nats_GetLastError(NULL), (int)jerr);
    jsConsumerInfo_Destroy(ci);
    return s;
}

/* The key-value bucket of call records (one message per call: history 1). */
static natsStatus ensure_calls_bucket(struct nats_link *link)
{
    const struct config *cfg = link->cfg;
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = cfg->calls.bucket;
    kc.History = 1;
    kc.TTL = ms_to_ns(cfg->calls.retention_ms);
    kc.StorageType = cfg->nats.storage == STORAGE_MEMORY ? js_MemoryStorage : js_FileStorage;
    kc.Replicas = cfg->nats.replicas;
    kvStore *kv = NULL;
    natsStatus s = js_CreateKeyValue(&kv, link->js, &kc);
    if (s != NATS_OK) {
        /* It exists with other settings: use it as it is. */
        s = js_KeyValue(&kv, link->js, cfg->calls.bucket);
        if (s == NATS_OK)
            log_warn("nats", "call records bucket %s exists with other settings; using it",
                     cfg->calls.bucket);
        else
            log_warn("nats", "cannot set up call records bucket %s: %s (%s)", cfg->calls.bucket,
                     natsStatus_GetText(s), nats_GetLastError(NULL));
    }
    kvStore_Destroy(kv);
    return s;
}

static bool run_setup(struct nats_link *link)
{
    const struct config *cfg = link->cfg;
    char dlq_subject[512];
    snprintf(dlq_subject, sizeof dlq_subject, "%s.*", cfg->nats.dlq_subject_prefix);
    char retry_subject[512];
    snprintf(retry_subject, sizeof retry_subject, "%s.*", cfg->nats.retry_subject_prefix);
    if (ensure_stream(link, cfg->nats.stream_name, cfg->nats.subject_pattern, js_LimitsPolicy,
                      cfg->nats.max_age_ms, cfg->nats.max_msgs, cfg->nats.max_bytes) != NATS_OK)
        return false;
    if (ensure_stream(link, cfg->nats.dlq_stream, dlq_subject, js_LimitsPolicy,
                      cfg->nats.dlq_max_age_ms, -1, -1) != NATS_OK)
        return false;
    /* Parked deliveries (delivery.h): a work queue, one subject per endpoint; a record
     * leaves it when its endpoint answered or its dead-letter record is stored. No age
     * limit: the lanes dead-letter what waited past delivery.max_retry_age. */
    if (ensure_stream(link, cfg->nats.retry_stream, retry_subject, js_WorkQueuePolicy, 0, -1, -1) !=
        NATS_OK)
        return false;
    if (ensure_consumer(link) != NATS_OK)
        return false;
    return ensure_calls_bucket(link) == NATS_OK;
}

static void *setup_main(void *arg)
{
    struct nats_link *link = arg;
    int64_t retry_ms = 250;
    pthread_mutex_lock(&link->lock);
    while (!link->stopping) {
        if (!link->setup_wanted || !link->armed) {
            pthread_cond_wait(&link->wake, &link->lock);
            continue;
        }
        link->setup_wanted = false;
        pthread_mutex_unlock(&link->lock);

        bool ok = false;
        if (natsConnection_Status(link->conn) == NATS_CONN_STATUS_CONNECTED)
            ok = run_setup(link);
        if (ok && link->on_ready)
            ok = link->on_ready(link->closure);
        if (ok) {
            int expected = LINK_SETUP;
            atomic_compare_exchange_strong(&link->state, &expected, LINK_READY);
            atomic_store(&link->set_up, true);
            set_problem(link, "");
            retry_ms = 250;
            log_info("nats", "JetStream ready (stream %s, consumer %s)",
                     link->cfg->nats.stream_name, link->cfg->nats.consumer_name);
        }

        pthread_mutex_lock(&link->lock);
        if (!ok && !link->stopping &&
            natsConnection_Status(link->conn) == NATS_CONN_STATUS_CONNECTED) {
            /* Retry later: the stream may have no leader yet (cluster election). */
            log_debug("nats", "JetStream setup did not complete; retrying in %lld ms",
                      (long long)retry_ms);
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += retry_ms / 1000;
            until.tv_nsec += (retry_ms % 1000) * 1000000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&link->wake, &link->lock, &until);
            link->setup_wanted = true;
            retry_ms = retry_ms * 2 > 5000 ? 5000 : retry_ms * 2;
        }
    }
    pthread_mutex_unlock(&link->lock);
    return NULL;
}

struct nats_link *nats_link_new(const struct config *cfg, const char *url_override,
                                nats_link_ready_fn on_ready, void *closure)
{
    struct nats_link *link = calloc(1, sizeof *link);
    natsOptions *opts = NULL;
    if (!link)
        return NULL;
    link->cfg = cfg;
    link->on_ready = on_ready;
    link->closure = closure;
    atomic_init(&link->state, LINK_CONNECTING);
    atomic_init(&link->set_up, false);
    pthread_mutex_init(&link->lock, NULL);
    pthread_cond_init(&link->wake, NULL);

    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) {
        if (url_override) {
            const char *servers[1] = {url_override};
            s = natsOptions_SetServers(opts, servers, 1);
        } else {
            s = natsOptions_SetServers(opts, (const char **)cfg->nats.servers,
                                       (int)cfg->nats.server_count);
        }
    }
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, cfg->nats.name);
    if (s == NATS_OK && cfg->nats.token)
        s = natsOptions_SetToken(opts, cfg->nats.token);
    if (s == NATS_OK && cfg->nats.user)
        s = natsOptions_SetUserInfo(opts, cfg->nats.user, cfg->nats.password);
    if (s == NATS_OK && cfg->nats.credentials_file)
        s = natsOptions_SetUserCredentialsFromFiles(opts, cfg->nats.credentials_file, NULL);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, cfg->nats.reconnect_wait_ms);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectJitter(opts, 100, 1000);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, cfg->nats.connect_timeout_ms);
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(opts, 5000);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(opts, 2);
    if (s == NATS_OK)
        s = natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, link);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(opts, on_disconnected, link);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(opts, on_reconnected, link);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(opts, on_closed, link);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(opts, on_async_error, link);
    /* One delivery lane per endpoint is one subscription each: a shared pool of
     * message-delivery threads instead of a thread per subscription. Every callback
     * only hands its message over. */
    if (s == NATS_OK)
        s = natsOptions_UseGlobalMessageDelivery(opts, true);
    if (s != NATS_OK) {
        log_error("nats", "invalid connection options: %s (%s)", natsStatus_GetText(s),
                  nats_GetLastError(NULL));
        goto fail;
    }

    if (pthread_create(&link->setup_thread, NULL, setup_main, link) != 0) {
        log_error("nats", "cannot start the setup thread");
        goto fail;
    }
    link->setup_thread_started = true;

    s = natsConnection_Connect(&link->conn, opts);
    if (s == NATS_NOT_YET_CONNECTED) {
        log_warn("nats", "server not reachable yet; retrying in the background");
        s = NATS_OK;
    } else if (s == NATS_OK) {
        /* With RetryOnFailedConnect the connected callback is only for the
         * background case: do the first setup ourselves. */
        on_connected(link->conn, link);
    }
    if (s != NATS_OK) {
        log_error("nats", "cannot connect: %s (%s)", natsStatus_GetText(s),
                  nats_GetLastError(NULL));
        goto fail;
    }
    if (natsConnection_JetStream(&link->js, link->conn, NULL) != NATS_OK) {
        log_error("nats", "cannot create a JetStream context");
        goto fail;
    }
    pthread_mutex_lock(&link->lock);
    link->armed = true;
    pthread_cond_signal(&link->wake);
    pthread_mutex_unlock(&link->lock);
    natsOptions_Destroy(opts);
    return link;

fail:
    natsOptions_Destroy(opts);
    nats_link_free(link);
    return NULL;
}

void nats_link_free(struct nats_link *link)
{
    if (!link)
        return;
    if (link->setup_thread_started) {
        pthread_mutex_lock(&link->lock);
        link->stopping = true;
        pthread_cond_signal(&link->wake);
        pthread_mutex_unlock(&link->lock);
        pthread_join(link->setup_thread, NULL);
    }
    if (link->conn) {
        natsConnection_FlushTimeout(link->conn, 1000);
        atomic_store(&link->state, LINK_CLOSED); /* no "reconnecting" warning on the way out */
        natsConnection_Close(link->conn);
        /* Callbacks run on a nats.c thread after Close returns; `link` must outlive them. */
        int64_t deadline = clock_wall_ms() + 5000;
        pthread_mutex_lock(&link->lock);
        while (!link->closed && clock_wall_ms() < deadline) {
            struct timespec until = {.tv_sec = (time_t)(deadline / 1000),
                                     .tv_nsec = (long)(deadline % 1000) * 1000000};
            pthread_cond_timedwait(&link->wake, &link->lock, &until);
        }
        bool closed = link->closed;
        pthread_mutex_unlock(&link->lock);
        if (!closed) {
            /* A late callback would use `link`: leave it (and the connection) alive. */
            log_warn("nats", "connection did not report closed; leaving it to the exit");
            return;
        }
    }
    jsCtx_Destroy(link->js);
    natsConnection_Destroy(link->conn);
    pthread_cond_destroy(&link->wake);
    pthread_mutex_destroy(&link->lock);
    free(link);
}

natsConnection *nats_link_conn(struct nats_link *link)
{
    return link->conn;
}

jsCtx *nats_link_js(struct nats_link *link)
{
    return link->js;
}

bool nats_link_connected(const struct nats_link *link)
{
    int st = atomic_load(&link->state);
    return st == LINK_READY || st == LINK_SETUP;
}

bool nats_link_ready(const struct nats_link *link)
{
    return atomic_load(&link->state) == LINK_READY;
}

bool nats_link_problem(struct nats_link *link, char *buf, size_t cap)
{
    pthread_mutex_lock(&link->lock);
    bool have = link->problem[0] != '\0';
    snprintf(buf, cap, "%s", link->problem);
    pthread_mutex_unlock(&link->lock);
    return have;
}

const char *nats_link_state(const struct nats_link *link)
{
    return state_names[atomic_load(&link->state)];
}

void nats_link_server(struct nats_link *link, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (link->conn && natsConnection_Status(link->conn) == NATS_CONN_STATUS_CONNECTED)
        connected_url(link->conn, buf, cap);
}
