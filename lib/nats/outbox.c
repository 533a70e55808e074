/*
 * outbox — see outbox.h.
 *
 * Slots live in one array; `queue` is a ring of slot indexes waiting for submit and
 * `free_slots` a stack of unused indexes. A slot is QUEUED (in the ring), INFLIGHT
 * (submitted) or FREE. The lock is held only to move indexes, never across a call
 * into the publisher (whose callback may run before the call returns).
 */
#include "nats/outbox.h"

#include "core/clock.h"
#include "core/log.h"
#include "nats/publisher.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum slot_state { SLOT_FREE = 0, SLOT_QUEUED, SLOT_INFLIGHT };

struct slot {
    struct outbox *ob;
    enum slot_state state;
    char *strings; /* one allocation: subject, msg_id and kind, each NUL-terminated */
    const char *subject;
    const char *msg_id; /* NULL when none */
    const char *kind;   /* NULL when none */
    char *data;
    size_t len;
    bool retry;
};

struct outbox {
    struct publisher *pub;
    pthread_mutex_t lock;
    struct slot *slots;
    size_t capacity;  /* slots: queued limit + in-flight allowance */
    size_t queue_max; /* at most this many waiting for a submit */
    size_t *queue;    /* ring of slot indexes */
    size_t queue_head, queue_count;
    size_t *free_slots; /* stack */
    size_t free_count;
    size_t inflight;
    struct outbox_stats stats;
};

static void slot_clear(struct slot *s)
{
    free(s->strings);
    free(s->data);
    s->strings = s->data = NULL;
    s->subject = s->msg_id = s->kind = NULL;
    s->len = 0;
    s->state = SLOT_FREE;
}

struct outbox *outbox_new(struct publisher *pub, size_t capacity, size_t max_inflight)
{
    struct outbox *ob = calloc(1, sizeof *ob);
    if (!ob)
        return NULL;
    ob->pub = pub;
    ob->queue_max = capacity;
    capacity += max_inflight;
    ob->capacity = capacity;
    pthread_mutex_init(&ob->lock, NULL);
    ob->slots = calloc(capacity, sizeof *ob->slots);
    ob->queue = calloc(capacity, sizeof *ob->queue);
    ob->free_slots = calloc(capacity, sizeof *ob->free_slots);
    if (!ob->slots || !ob->queue || !ob->free_slots) {
        outbox_free(ob, 0);
        return NULL;
    }
    for (size_t i = 0; i < capacity; i++) {
        ob->slots[i].ob = ob;
        ob->free_slots[ob->free_count++] = capacity - 1 - i;
    }
    return ob;
}

void outbox_free(struct outbox *ob, int64_t timeout_ms)
{
    if (!ob)
        return;
    if (ob->slots && !outbox_flush(ob, timeout_ms)) {
        struct outbox_stats st;
        outbox_get_stats(ob, &st);
        log_warn("outbox", "%zu message(s) not stored in JetStream at shutdown",
                 st.queued + st.inflight);
    }
    /* In-flight slots still belong to the publisher's callbacks: only free the rest
     * when nothing is in flight (the publisher is drained before this in order). */
    pthread_mutex_lock(&ob->lock);
    size_t inflight = ob->inflight;
    pthread_mutex_unlock(&ob->lock);
    if (inflight > 0) {
        log_warn("outbox", "%zu publish(es) still in flight: leaving the buffer to exit", inflight);
        return;
    }
    for (size_t i = 0; ob->slots && i < ob->capacity; i++)
        slot_clear(&ob->slots[i]);
    free(ob->slots);
    free(ob->queue);
    free(ob->free_slots);
    pthread_mutex_destroy(&ob->lock);
    free(ob);
}

/* Copies subject, msg_id and kind into one block the slot owns. */
static bool slot_set_strings(struct slot *s, const char *subject, const char *msg_id,
                             const char *kind)
{
    size_t ls = strlen(subject) + 1, lm = msg_id ? strlen(msg_id) + 1 : 0,
           lk = kind ? strlen(kind) + 1 : 0;
    char *b = malloc(ls + lm + lk);
    if (!b)
        return false;
    memcpy(b, subject, ls);
    if (msg_id)
        memcpy(b + ls, msg_id, lm);
    if (kind)
        memcpy(b + ls + lm, kind, lk);
    s->strings = b;
    s->subject = b;
    s->msg_id = msg_id ? b + ls : NULL;
    s->kind = kind ? b + ls + lm : NULL;
    return true;
}

/* Lock held on entry. */
static void enqueue(struct outbox *ob, size_t index, bool front)
{
    ob->slots[index].state = SLOT_QUEUED;
    if (front) {
        ob->queue_head = (ob->queue_head + ob->capacity - 1) % ob->capacity;
        ob->queue[ob->queue_head] = index;
    } else {
        ob->queue[(ob->queue_head + ob->queue_count) % ob->capacity] = index;
    }
    ob->queue_count++;
}

bool outbox_add(struct outbox *ob, const char *subject, const char *msg_id, const char *kind,
                char *data, size_t len, bool retry)
{
    pthread_mutex_lock(&ob->lock);
    if (ob->free_count == 0 || ob->queue_count >= ob->queue_max) {
        ob->stats.dropped++;
        pthread_mutex_unlock(&ob->lock);
        free(data);
        return false;
    }
    size_t index = ob->free_slots[--ob->free_count];
    struct slot *s = &ob->slots[index];
    s->data = data;
    s->len = len;
    s->retry = retry;
    if (!slot_set_strings(s, subject, msg_id, kind)) {
        slot_clear(s);
        ob->free_slots[ob->free_count++] = index;
        ob->stats.dropped++;
        pthread_mutex_unlock(&ob->lock);
        return false;
    }
    enqueue(ob, index, false);
    pthread_mutex_unlock(&ob->lock);
    return true;
}

static void on_published(void *closure, const struct publish_result *res)
{
    struct slot *s = closure;
    struct outbox *ob = s->ob;
    pthread_mutex_lock(&ob->lock);
    ob->inflight--;
    /* A full stream (discard new) refuses for now, not for good: keep retrying. */
    bool permanent = res->permanent;
    if (res->outcome == PUBLISH_OK || permanent || !s->retry) {
        if (res->outcome == PUBLISH_OK) {
            ob->stats.published++;
            if (res->duplicate)
                ob->stats.duplicates++;
        } else if (permanent) {
            ob->stats.rejected++;
        } else {
            ob->stats.abandoned++;
        }
        if (permanent)
            log_warn("outbox", "JetStream refused a message to %s for good (%s): dropped",
                     s->subject, res->error ? res->error : "rejected");
        slot_clear(s);
        ob->free_slots[ob->free_count++] = (size_t)(s - ob->slots);
    } else {
        ob->stats.retries++;
        enqueue(ob, (size_t)(s - ob->slots), true); /* ahead of newer messages */
    }
    pthread_mutex_unlock(&ob->lock);
}

size_t outbox_pump(struct outbox *ob)
{
    size_t sent = 0;
    for (;;) {
        pthread_mutex_lock(&ob->lock);
        if (ob->queue_count == 0) {
            pthread_mutex_unlock(&ob->lock);
            break;
        }
        size_t index = ob->queue[ob->queue_head];
        ob->queue_head = (ob->queue_head + 1) % ob->capacity;
        ob->queue_count--;
        struct slot *s = &ob->slots[index];
        s->state = SLOT_INFLIGHT;
        ob->inflight++;
        pthread_mutex_unlock(&ob->lock);

        int rc = publisher_submit(ob->pub, s->subject, s->msg_id, s->kind, s->data, s->len,
                                  on_published, s);
        if (rc == 0) {
            sent++;
            continue;
        }
        pthread_mutex_lock(&ob->lock);
        ob->inflight--;
        if (rc == -EMSGSIZE || rc == -EIO || rc == -ENOMEM) {
            /* It will never be accepted: drop it, or it blocks everything behind it. */
            log_warn("outbox", "a message to %s cannot be published (%s): dropped", s->subject,
                     rc == -EMSGSIZE ? "larger than the server's max payload" : "refused");
            ob->stats.rejected++;
            slot_clear(s);
            ob->free_slots[ob->free_count++] = index;
            pthread_mutex_unlock(&ob->lock);
            continue;
        }
        enqueue(ob, index, true); /* keep its place; try again on the next pump */
        pthread_mutex_unlock(&ob->lock);
        break;
    }
    return sent;
}

bool outbox_has_queued(struct outbox *ob)
{
    pthread_mutex_lock(&ob->lock);
    bool queued = ob->queue_count > 0;
    pthread_mutex_unlock(&ob->lock);
    return queued;
}

bool outbox_flush(struct outbox *ob, int64_t timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    for (;;) {
        outbox_pump(ob);
        pthread_mutex_lock(&ob->lock);
        bool empty = ob->queue_count == 0 && ob->inflight == 0;
        pthread_mutex_unlock(&ob->lock);
        if (empty)
            return true;
        if (clock_mono_ms() >= deadline)
            return false;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL); /* shutdown only: poll until acked */
    }
}

void outbox_get_stats(struct outbox *ob, struct outbox_stats *out)
{
    pthread_mutex_lock(&ob->lock);
    *out = ob->stats;
    out->queued = ob->queue_count;
    out->inflight = ob->inflight;
    pthread_mutex_unlock(&ob->lock);
}
