/*
 * dead_letter — see dead_letter.h. A bounded FIFO (mutex + condvar) feeds one worker.
 */
#include "delivery/dead_letter.h"

#include "core/clock.h"
#include "config/config.h"
#include "core/event.h"
#include "core/log.h"
#include "nats/nats_link.h"
#include "core/stats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DLQ_QUEUE_CAP 1024
#define DLQ_RETRY_DELAY_MS 5000

struct dlq_item {
    natsMsg *msg;
    char *record;
    char subject[EVENT_SUBJECT_MAX];
    char reason[40];
    char id_suffix[64]; /* one endpoint's record: part of its Nats-Msg-Id; "" for the event's */
    uint64_t seq;
};

struct dead_letter {
    const struct config *cfg;
    struct nats_link *link;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    int64_t stop_deadline_ms; /* under lock, set with stopping */
    struct dlq_item *items;   /* ring */
    size_t head, count;
};

static void release_with_nak(struct dlq_item *it)
{
    natsMsg_NakWithDelay(it->msg, DLQ_RETRY_DELAY_MS, NULL);
    natsMsg_Destroy(it->msg);
    free(it->record);
}

static void process(struct dead_letter *dl, struct dlq_item *it)
{
    char msg_id[256];
    snprintf(msg_id, sizeof msg_id, "dlq-%s-%llu%s%s", dl->cfg->nats.stream_name,
             (unsigned long long)it->seq, it->id_suffix[0] ? "-" : "", it->id_suffix);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.MaxWait = dl->cfg->nats.publish_timeout_ms;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus s = NATS_CONNECTION_DISCONNECTED;
    if (nats_link_ready(dl->link))
        s = js_Publish(&pa, nats_link_js(dl->link), it->subject, it->record,
                       (int)strlen(it->record), &po, &jerr);
    if (s == NATS_OK) {
        natsMsg_Term(it->msg, NULL);
        stats_inc(STAT_DEAD_LETTERED);
        log_error("dead_letter", "stream seq %llu dead-lettered (%s) to %s seq %llu",
                  (unsigned long long)it->seq, it->reason, it->subject,
                  (unsigned long long)pa->Sequence);
        natsMsg_Destroy(it->msg);
        free(it->record);
    } else {
        stats_inc(STAT_DEAD_LETTER_ERRORS);
        log_warn("dead_letter",
                 "cannot store dead letter for stream seq %llu: %s; retrying in %d ms",
                 (unsigned long long)it->seq, natsStatus_GetText(s), DLQ_RETRY_DELAY_MS);
        release_with_nak(it);
    }
    jsPubAck_Destroy(pa);
}

static void *worker_main(void *arg)
{
    struct dead_letter *dl = arg;
    pthread_mutex_lock(&dl->lock);
    for (;;) {
        while (dl->count == 0 && !dl->stopping)
            pthread_cond_wait(&dl->wake, &dl->lock);
        if (dl->count == 0)
            break;
        struct dlq_item it = dl->items[dl->head];
        dl->head = (dl->head + 1) % DLQ_QUEUE_CAP;
        dl->count--;
        bool late = dl->stopping && clock_mono_ms() >= dl->stop_deadline_ms;
        pthread_mutex_unlock(&dl->lock);
        if (late)
            release_with_nak(&it); /* shutdown: JetStream redelivers it later */
        else
            process(dl, &it);
        pthread_mutex_lock(&dl->lock);
    }
    pthread_mutex_unlock(&dl->lock);
    return NULL;
}

struct dead_letter *dead_letter_new(const struct config *cfg, struct nats_link *link)
{
    struct dead_letter *dl = calloc(1, sizeof *dl);
    if (!dl)
        return NULL;
    dl->cfg = cfg;
    dl->link = link;
    pthread_mutex_init(&dl->lock, NULL);
    pthread_cond_init(&dl->wake, NULL);
    dl->items = calloc(DLQ_QUEUE_CAP, sizeof *dl->items);
    if (!dl->items || pthread_create(&dl->thread, NULL, worker_main, dl) != 0) {
        dead_letter_free(dl, 0);
        return NULL;
    }
    dl->thread_started = true;
    return dl;
}

void dead_letter_free(struct dead_letter *dl, int64_t timeout_ms)
{
    if (!dl)
        return;
    if (dl->thread_started) {
        pthread_mutex_lock(&dl->lock);
        dl->stopping = true;
        dl->stop_deadline_ms = clock_mono_ms() + timeout_ms;
        pthread_cond_signal(&dl->wake);
        pthread_mutex_unlock(&dl->lock);
        /* The worker empties the queue before it exits: records are stored until the
         * deadline, the rest nak'ed (each publish is bounded by the publish timeout). */
        pthread_join(dl->thread, NULL);
    }
    pthread_cond_destroy(&dl->wake);
    pthread_mutex_destroy(&dl->lock);
    free(dl->items);
    free(dl);
}

bool dead_letter_submit(struct dead_letter *dl, natsMsg *msg, const char *domain,
                        uint64_t stream_seq, const char *id_suffix, const char *reason,
                        char *record)
{
    struct dlq_item it = {.msg = msg, .record = record, .seq = stream_seq};
    if (id_suffix)
        snprintf(it.id_suffix, sizeof it.id_suffix, "%s", id_suffix);
    snprintf(it.reason, sizeof it.reason, "%s", reason);
    char token[EVENT_DOMAIN_MAX * 3 + 1];
    if (!domain || !event_domain_token(domain, token, sizeof token))
        snprintf(token, sizeof token, "%s", "_unknown");
    snprintf(it.subject, sizeof it.subject, "%s.%s", dl->cfg->nats.dlq_subject_prefix, token);

    pthread_mutex_lock(&dl->lock);
    bool ok = dl->count < DLQ_QUEUE_CAP && !dl->stopping;
    if (ok) {
        dl->items[(dl->head + dl->count) % DLQ_QUEUE_CAP] = it;
        dl->count++;
        pthread_cond_signal(&dl->wake);
    }
    pthread_mutex_unlock(&dl->lock);
    if (!ok) {
        log_warn("dead_letter", "queue full; stream seq %llu will be retried",
                 (unsigned long long)stream_seq);
        release_with_nak(&it);
    }
    return ok;
}
