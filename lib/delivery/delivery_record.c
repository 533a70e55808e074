/*
 * delivery_record — a parked delivery coming back from its endpoint's retry
 * consumer: the dead-letter checks, the due time, the settling (delivery_internal.h).
 * Delivery thread.
 */
#include "delivery/delivery_internal.h"

#include "core/clock.h"
#include "config/config.h"
#include "delivery/dead_letter.h"
#include "delivery/delivered_memory.h"
#include "core/json_print.h"
#include "core/log.h"
#include "nats/nats_link.h"
#include "core/outcome.h"
#include "core/stats.h"
#include "delivery/webhook_call.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBSYS DELIVERY_SUBSYS

/* ---- records ---- */

void delivery_record_begin(struct delivery *d, struct lane *lane, natsMsg *msg)
{
    struct job *job = delivery_job_new(d, JOB_RECORD, msg);
    if (!job) {
        natsMsg_NakWithDelay(msg, 1000, NULL);
        natsMsg_Destroy(msg);
        return;
    }
    int delivered_count = 1;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        delivered_count = (int)meta->NumDelivered;
        job->record_seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    }
    const char *data = natsMsg_GetData(msg);
    int len = natsMsg_GetDataLength(msg);
    bool readable = retry_record_read(msg, &job->record);
    job->seq = job->record.event_seq;
    job->stored_wall_us = job->record.stored_wall_us;
    job->memory_key = job->seq;
    /* Failed attempts: those before parking, plus one per redelivery of the record
     * (each follows a failed call — or a restart that gave it back: that bounds a crash
     * loop too). */
    job->failures = job->record.attempts + (delivered_count > 1 ? delivered_count - 1 : 0);
    job->attempt = job->failures + 1;
    enum event_status st = event_inspect(data ? data : "", (size_t)(len > 0 ? len : 0), &job->info);
    job->record_endpoint = lanes_endpoint(d->lanes, lane, &job->routes_cfg);
    job->endpoint_count = 1;
    delivery_hold(d, lane, 1);
    job->calls = calloc(1, sizeof *job->calls);
    job->outcomes = calloc(1, sizeof *job->outcomes);
    if (!job->calls || !job->outcomes) {
        delivery_hold(d, lane, -1);
        natsMsg_NakWithDelay(msg, 1000, NULL);
        delivery_job_free(d, job);
        return;
    }
    job->calls[0] = (struct lane_call){.job = job, .index = 0, .lane = lane};
    const struct config *cfg = job->cfg;
    char detail[400];
    const char *reason = NULL;
    struct settle_limits lim = delivery_settle_limits(cfg);
    if (!readable || st != EVENT_OK) {
        reason = "invalid_record";
        snprintf(detail, sizeof detail, "the parked record is not readable");
    } else if (!job->record_endpoint) {
        reason = "endpoint_removed";
        snprintf(detail, sizeof detail,
                 "no route has this endpoint any more; its parked delivery cannot be made");
    } else if (job->record.final_reason[0]) {
        reason = job->record.final_reason;
        snprintf(detail, sizeof detail,
                 "%s answered %d: it says the resource is gone for good (remove it from the "
                 "route if so)",
                 job->record_endpoint->display_url, job->record.last_status);
    } else if ((reason = settle_before_call(
                    job->failures, (clock_wall_us() - job->stored_wall_us) / 1000, &lim)) != NULL) {
        if (strcmp(reason, "max_deliveries_exceeded") == 0)
            snprintf(detail, sizeof detail, "%s: %s (still failing after %d attempts)",
                     job->record_endpoint->display_url, job->record.last_error, job->failures);
        else
            snprintf(detail, sizeof detail, "%s: %s (not delivered within delivery.max_retry_age)",
                     job->record_endpoint->display_url,
                     job->record.last_error[0] ? job->record.last_error : "no call made");
    }
    if (reason) {
        delivery_hold(d, lane, -1);
        delivery_job_dead_letter(d, job, lane, reason, detail);
        return;
    }
    job->body = event_with_attempt(data, (size_t)len, job->attempt, &job->body_len);
    if (!job->body) {
        delivery_hold(d, lane, -1);
        natsMsg_NakWithDelay(msg, 1000, NULL);
        delivery_job_free(d, job);
        return;
    }
    int64_t now_wall = clock_wall_ms();
    if (delivered_count <= 1 && job->record.not_before_wall_ms > now_wall)
        job->due_ms = clock_mono_ms() + (job->record.not_before_wall_ms - now_wall);
    delivery_lane_push(d, &job->calls[0], false);
}

void delivery_record_settle(struct delivery *d, struct job *job)
{
    struct lane *lane = job->calls[0].lane;
    struct endpoint_outcome *oc = &job->outcomes[0];
    delivery_hold(d, lane, -1);
    struct settle_limits lim = delivery_settle_limits(job->cfg);
    struct settle_answer answer = {.status = oc->delivered ? 200 : oc->status,
                                   .pause_ms = oc->delivered ? -1 : oc->pause_ms};
    int64_t age_ms = (clock_wall_us() - job->stored_wall_us) / 1000;
    struct settle_decision dec = settle_after_answer(&answer, job->failures, age_ms, &lim);
    if (dec.action == SETTLE_ACK) {
        natsMsg_Ack(job->msg, NULL);
        stats_inc(STAT_DELIVERED);
        delivery_log_outcome(d, job, "forwarded", false, NULL, NULL);
        delivery_job_free(d, job);
        return;
    }
    if (dec.action == SETTLE_DEAD_LETTER) {
        char detail[400];
        if (strcmp(dec.reason, "endpoint_gone") == 0)
            snprintf(detail, sizeof detail,
                     "%s answered %d: it says the resource is gone for good (remove it from "
                     "the route if so)",
                     lane->display_url, oc->status);
        else if (strcmp(dec.reason, "max_deliveries_exceeded") == 0)
            snprintf(detail, sizeof detail, "%s: %s (still failing after %d attempts)",
                     lane->display_url, oc->error, dec.failures);
        else
            snprintf(detail, sizeof detail, "%s: %s (not delivered within delivery.max_retry_age)",
                     lane->display_url, oc->error);
        if (strcmp(dec.reason, "endpoint_gone") != 0)
            delivery_log_outcome(d, job, "failed", false, NULL, oc->error);
        job->failures = dec.failures;
        delivery_job_dead_letter(d, job, lane, dec.reason, detail);
        return;
    }
    /* SETTLE_RETRY (SETTLE_HOLD is taken in the call's answer, delivery_sched.c). */
    natsMsg_NakWithDelay(job->msg, dec.delay_ms, NULL);
    stats_inc(STAT_RETRIED);
    delivery_log_outcome(d, job, "failed", true, NULL, oc->error);
    static struct log_ratelimit rl;
    int suppressed = 0;
    if (log_ratelimit_ok(&rl, 10, 10000, &suppressed))
        log_warn(SUBSYS,
                 "event %s (domain %s) attempt %d/%d to %s failed (%s); retry in %lld ms (%d "
                 "similar suppressed)",
                 job->info.event_id, job->info.domain, dec.failures, job->cfg->nats.max_deliver,
                 lane->label, oc->error, (long long)dec.delay_ms, suppressed);
    delivery_job_free(d, job);
}
