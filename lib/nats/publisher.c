/*
 * publisher — see publisher.h.
 *
 * nats.c's async publish has no per-message closure: the ack handler receives the
 * message pointer back. `pending` maps that pointer to the caller's callback. Whoever
 * removes an entry (the ack handler, or submit on a synchronous failure) owns the
 * completion, so every submission completes exactly once. The map is an
 * open-addressing table sized for max_inflight, guarded by one mutex held only for a
 * lookup.
 */
#include "nats/publisher.h"

#include "core/clock.h"
#include "core/log.h"
#include "nats/nats_link.h"

#include <errno.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct pending_slot {
    natsMsg *msg; /* NULL = empty; TOMBSTONE = deleted */
    publish_done_fn done;
    void *closure;
};

#define TOMBSTONE ((natsMsg *)1)

struct publisher {
    struct nats_link *link;
    jsCtx *js;
    int64_t timeout_ms;
    int max_inflight;
    _Atomic int inflight;
    bool closing; /* under lock: publisher_close() was called, submit refuses */

    pthread_mutex_t lock;
    pthread_cond_t drained;
    struct pending_slot *slots;
    size_t mask;
};

static size_t slot_index(const struct publisher *pub, const natsMsg *msg)
{
    uintptr_t h = (uintptr_t)msg;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)h & pub->mask;
}

/* Lock held on entry. The table has at least 2x max_inflight slots, never full. */
static void pending_put(struct publisher *pub, natsMsg *msg, publish_done_fn done, void *closure)
{
    size_t i = slot_index(pub, msg);
    while (pub->slots[i].msg != NULL && pub->slots[i].msg != TOMBSTONE)
        i = (i + 1) & pub->mask;
    pub->slots[i] = (struct pending_slot){msg, done, closure};
}

/* Lock held on entry. Returns true and the entry when `msg` was pending. */
static bool pending_take(struct publisher *pub, const natsMsg *msg, struct pending_slot *out)
{
    size_t i = slot_index(pub, msg);
    for (size_t n = 0; n <= pub->mask; n++) {
        if (pub->slots[i].msg == NULL)
            return false;
        if (pub->slots[i].msg == msg) {
            *out = pub->slots[i];
            pub->slots[i].msg = TOMBSTONE;
            /* A tombstone followed by an empty slot can become empty too. */
            if (pub->slots[(i + 1) & pub->mask].msg == NULL) {
                while (pub->slots[i].msg == TOMBSTONE) {
                    pub->slots[i].msg = NULL;
                    i = (i - 1) & pub->mask;
                }
            }
            return true;
        }
        i = (i + 1) & pub->mask;
    }
    return false;
}

static void finish(struct publisher *pub)
{
    if (atomic_fetch_sub(&pub->inflight, 1) == 1) {
        pthread_mutex_lock(&pub->lock);
        pthread_cond_broadcast(&pub->drained);
        pthread_mutex_unlock(&pub->lock);
    }
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    struct publisher *pub = closure;
    struct pending_slot slot;
    pthread_mutex_lock(&pub->lock);
    bool found = pending_take(pub, msg, &slot);
    pthread_mutex_unlock(&pub->lock);

    if (found) {
        struct publish_result res = {.outcome = PUBLISH_OK};
        if (pa) {
            res.stream_seq = pa->Sequence;
            res.duplicate = pa->Duplicate;
        } else if (pae) {
            res.error = pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err);
            res.permanent =
                pae->ErrCode == JSStreamMessageExceedsMaximumErr || pae->Err == NATS_MAX_PAYLOAD;
            if (pae->Err == NATS_TIMEOUT)
                res.outcome = PUBLISH_TIMEOUT;
            else if (pae->Err == NATS_NO_RESPONDERS || pae->Err == NATS_CONNECTION_CLOSED ||
                     pae->Err == NATS_CONNECTION_DISCONNECTED)
                res.outcome = PUBLISH_UNAVAILABLE;
            else
                res.outcome = PUBLISH_REJECTED;
        } else {
            res.outcome = PUBLISH_REJECTED;
            res.error = "no acknowledgement";
        }
        slot.done(slot.closure, &res);
        finish(pub);
    }
    natsMsg_Destroy(msg);
}

struct publisher *publisher_new(struct nats_link *link, int max_inflight, int64_t timeout_ms)
{
    struct publisher *pub = calloc(1, sizeof *pub);
    if (!pub)
        return NULL;
    pub->link = link;
    pub->timeout_ms = timeout_ms;
    pub->max_inflight = max_inflight;
    atomic_init(&pub->inflight, 0);
    pthread_mutex_init(&pub->lock, NULL);
    pthread_cond_init(&pub->drained, NULL);

    size_t size = 16;
    while (size < (size_t)max_inflight * 2)
        size <<= 1;
    pub->slots = calloc(size, sizeof *pub->slots);
    pub->mask = size - 1;

    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = pub;
    /* Our own cap (max_inflight) refuses first, so nats.c never stalls a caller. */
    jo.PublishAsync.MaxPending = max_inflight + 64;
    jo.PublishAsync.StallWait = 1;
    jo.Wait = timeout_ms;
    if (!pub->slots || natsConnection_JetStream(&pub->js, nats_link_conn(link), &jo) != NATS_OK) {
        log_error("publisher", "cannot create the publishing context");
        publisher_free(pub, 0);
        return NULL;
    }
    return pub;
}

bool publisher_drain(struct publisher *pub, int64_t timeout_ms)
{
    int64_t deadline = clock_wall_ms() + timeout_ms;
    pthread_mutex_lock(&pub->lock);
    while (atomic_load(&pub->inflight) > 0) {
        int64_t left = deadline - clock_wall_ms();
        if (left <= 0)
            break;
        struct timespec until = {.tv_sec = (time_t)(deadline / 1000),
                                 .tv_nsec = (long)(deadline % 1000) * 1000000};
        pthread_cond_timedwait(&pub->drained, &pub->lock, &until);
    }
    pthread_mutex_unlock(&pub->lock);
    return atomic_load(&pub->inflight) == 0;
}

void publisher_free(struct publisher *pub, int64_t timeout_ms)
{
    if (!pub)
        return;
    if (pub->js && !publisher_drain(pub, timeout_ms))
        log_warn("publisher", "%d publishes still unacknowledged at shutdown",
                 atomic_load(&pub->inflight));
    jsCtx_Destroy(pub->js);
    pthread_cond_destroy(&pub->drained);
    pthread_mutex_destroy(&pub->lock);
    free(pub->slots);
    free(pub);
}

int publisher_inflight(const struct publisher *pub)
{
    return atomic_load(&pub->inflight);
}

void publisher_close(struct publisher *pub)
{
    pthread_mutex_lock(&pub->lock);
    pub->closing = true;
    pthread_mutex_unlock(&pub->lock);
}

int publisher_submit(struct publisher *pub, const char *subject, const char *msg_id,
                     const char *kind, const char *data, size_t len, publish_done_fn done,
                     void *closure)
{
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, subject, NULL, data, (int)len);
    if (s == NATS_OK && kind)
        s = natsMsgHeader_Set(msg, PUBLISHER_KIND_HEADER, kind);
    if (s != NATS_OK) {
        natsMsg_Destroy(msg);
        return -ENOMEM;
    }
    return publisher_submit_msg(pub, msg, msg_id, done, closure);
}

int publisher_submit_msg(struct publisher *pub, natsMsg *msg, const char *msg_id,
                         publish_done_fn done, void *closure)
{
    if (!nats_link_ready(pub->link)) {
        natsMsg_Destroy(msg);
        return -ENOTCONN;
    }
    /* Checked and counted under the lock publisher_close() takes, so a drain that
     * starts after close sees every publish that will ever be in flight. */
    pthread_mutex_lock(&pub->lock);
    bool closing = pub->closing;
    bool full = !closing && atomic_load(&pub->inflight) >= pub->max_inflight;
    if (!closing && !full)
        atomic_fetch_add(&pub->inflight, 1);
    pthread_mutex_unlock(&pub->lock);
    if (closing || full) {
        natsMsg_Destroy(msg);
        return closing ? -ESHUTDOWN : -EAGAIN;
    }
    natsMsg *key = msg;
    pthread_mutex_lock(&pub->lock);
    pending_put(pub, key, done, closure);
    pthread_mutex_unlock(&pub->lock);

    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = pub->timeout_ms;
    po.MsgId = msg_id;
    natsStatus s = js_PublishMsgAsync(pub->js, &msg, &po);
    if (s == NATS_OK)
        return 0;

    /* Failed synchronously. nats.c then reports the failure here, not through the ack
     * handler; the lookup keeps "exactly once" true whichever way it reports it. */
    struct pending_slot slot;
    pthread_mutex_lock(&pub->lock);
    bool ours = pending_take(pub, key, &slot);
    pthread_mutex_unlock(&pub->lock);
    /* NULL if the library kept it; the subject is read only on this rare path. */
    const char *subject = msg ? natsMsg_GetSubject(msg) : NULL;
    if (ours) {
        static struct log_ratelimit rl;
        int suppressed = 0;
        if (log_ratelimit_ok(&rl, 5, 10000, &suppressed))
            log_warn("publisher", "publish to %s failed: %s (%d similar suppressed)",
                     subject ? subject : "JetStream", natsStatus_GetText(s), suppressed);
    }
    natsMsg_Destroy(msg);
    if (!ours)
        return 0;
    finish(pub);
    if (s == NATS_MAX_PAYLOAD)
        return -EMSGSIZE;
    return (s == NATS_TIMEOUT || s == NATS_CONNECTION_DISCONNECTED) ? -EAGAIN : -EIO;
}
