/*
 * delivery_event — an event from the events consumer: its route, a call per
 * endpoint or a parked copy, then the ack (delivery_internal.h). Delivery thread.
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

/* ---- events ---- */

/* routes[].events: the kinds a route wants (none listed = all). */
static bool route_wants(const struct route *route, natsMsg *msg)
{
    if (route->event_kind_count == 0)
        return true;
    const char *kind = NULL;
    if (natsMsgHeader_Get(msg, PUBLISHER_KIND_HEADER, &kind) != NATS_OK || !kind)
        kind = "ingress";
    for (size_t i = 0; i < route->event_kind_count; i++)
        if (strcmp(route->event_kinds[i], kind) == 0 || strcmp(route->event_kinds[i], "ALL") == 0)
            return true;
    return false;
}

void delivery_event_begin(struct delivery *d, natsMsg *msg)
{
    struct job *job = delivery_job_new(d, JOB_EVENT, msg);
    if (!job) {
        natsMsg_NakWithDelay(msg, 1000, NULL);
        natsMsg_Destroy(msg);
        return;
    }
    /* The table the lanes are bound to (rebound at the top of each loop): a lane's
     * endpoint and an event's route always come from the same table. */
    job->routes_cfg = config_ref(d->bound_cfg);
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        job->seq = meta->Sequence.Stream;
        job->memory_key = job->seq ^ ((uint64_t)meta->Timestamp * 0x9e3779b97f4a7c15ULL);
        job->stored_wall_us = meta->Timestamp / 1000;
        job->attempt = (int)meta->NumDelivered;
        jsMsgMetaData_Destroy(meta);
    } else {
        job->attempt = 1;
    }

    const char *data = natsMsg_GetData(msg);
    int len = natsMsg_GetDataLength(msg);
    enum event_status st = event_inspect(data ? data : "", (size_t)len, &job->info);
    if (st != EVENT_OK) {
        delivery_job_dead_letter(d, job, NULL,
                                 st == EVENT_ERR_JSON ? "invalid_json" : event_status_name(st),
                                 job->info.detail);
        return;
    }
    job->route = config_find_route(job->routes_cfg, job->info.domain);
    if (!job->route) {
        delivery_job_dead_letter(d, job, NULL, "no_route",
                                 "no route for this domain and no default route");
        return;
    }
    if (!route_wants(job->route, msg)) {
        /* The tenant's route does not subscribe to this kind of event: done. */
        natsMsg_Ack(msg, NULL);
        stats_inc(STAT_FILTERED);
        delivery_job_free(d, job);
        return;
    }
    /* An event comes back only when parking failed or after a crash or restart: its
     * endpoints' own attempts are counted in their retry records. This bounds a loop
     * of crashes while it is being delivered. */
    if (job->attempt > job->cfg->nats.max_deliver * 3 + 10) {
        delivery_job_dead_letter(
            d, job, NULL, "max_deliveries_exceeded",
            "delivered too many times without being settled (restarts or crashes "
            "during delivery)");
        return;
    }
    size_t n = job->route->endpoint_count;
    job->endpoint_count = n;
    job->outcomes = calloc(n, sizeof *job->outcomes);
    job->calls = calloc(n, sizeof *job->calls);
    job->body = event_with_attempt(data, (size_t)len, 1, &job->body_len);
    if (!job->outcomes || !job->calls || !job->body) {
        natsMsg_NakWithDelay(msg, 1000, NULL);
        delivery_job_free(d, job);
        return;
    }
    job->attempt = 1; /* each endpoint's first attempt; retries count in its records */
    int64_t now = clock_mono_ms();
    for (size_t i = 0; i < n; i++) {
        const struct endpoint *ep = &job->route->endpoints[i];
        if (delivered_memory_has(d->memory, job->memory_key, delivery_endpoint_id(ep))) {
            /* 2xx in an earlier attempt: its answer stays on record (dead letters,
             * history), though it is not called again */
            job->outcomes[i].delivered = true;
            job->outcomes[i].status =
                delivered_memory_status(d->memory, job->memory_key, delivery_endpoint_id(ep));
            continue;
        }
        struct lane *lane = lanes_get(d->lanes, ep, job->route->domain);
        if (!lane) {
            job->outcomes[i].park = PARK_BEHIND; /* no call made: not an attempt */
            snprintf(job->outcomes[i].error, sizeof job->outcomes[i].error, "out of memory");
            continue;
        }
        job->calls[i] = (struct lane_call){.job = job, .index = i, .lane = lane};
        bool slow_and_full =
            delivery_lane_slow(lane, now) && lane->waiting >= delivery_slow_queue_cap(d, lane);
        if (lane_is_behind(lane, now) || slow_and_full)
            job->outcomes[i].park = PARK_BEHIND;
        else
            delivery_lane_push(d, &job->calls[i], false);
    }
    delivery_job_calls_done(d, job);
}

/* Publishes the parked copies of an event; the ack waits for all of them. */
static void event_park(struct delivery *d, struct job *job)
{
    const struct config *cfg = job->cfg;
    const char *data = natsMsg_GetData(job->msg);
    int len = natsMsg_GetDataLength(job->msg);
    const char *kind = NULL;
    natsMsgHeader_Get(job->msg, PUBLISHER_KIND_HEADER, &kind);
    int64_t wall = clock_wall_ms();
    job->settling = true;
    job->parks_pending = 1; /* held while submitting */
    for (size_t i = 0; i < job->endpoint_count; i++) {
        struct endpoint_outcome *oc = &job->outcomes[i];
        if (oc->delivered || oc->park == PARK_NONE)
            continue;
        const struct endpoint *ep = &job->route->endpoints[i];
        struct retry_record r = {.event_seq = job->seq, .stored_wall_us = job->stored_wall_us};
        if (kind)
            snprintf(r.kind, sizeof r.kind, "%s", kind);
        delivery_job_trace(job);
        if (job->traceparent)
            snprintf(r.traceparent, sizeof r.traceparent, "%s", job->traceparent);
        if (job->tracestate)
            snprintf(r.tracestate, sizeof r.tracestate, "%s", job->tracestate);
        r.last_status = oc->status;
        snprintf(r.last_error, sizeof r.last_error, "%s", oc->error);
        switch (oc->park) {
        case PARK_FAILED:
            r.attempts = 1;
            r.not_before_wall_ms = wall + delivery_backoff_ms(cfg, 1);
            break;
        case PARK_RETRY_AFTER:
            r.not_before_wall_ms = oc->not_before_wall_ms;
            break;
        case PARK_GONE:
            r.attempts = 1;
            snprintf(r.final_reason, sizeof r.final_reason, "endpoint_gone");
            break;
        default:
            break;
        }
        natsMsg *m = retry_record_msg(cfg->nats.retry_subject_prefix, ep->key, &r, data,
                                      (size_t)(len > 0 ? len : 0));
        char msg_id[256];
        retry_record_msg_id(msg_id, sizeof msg_id, cfg->nats.stream_name, ep->key, &r);
        job->parks_pending++;
        int rc = m ? publisher_submit_msg(d->pub, m, msg_id, delivery_on_parked, job) : -1;
        if (rc != 0) {
            job->parks_pending--;
            job->park_failed = true;
            continue;
        }
        if (job->calls[i].lane) {
            lane_parked_one(job->calls[i].lane);
            atomic_store(&job->calls[i].lane->want_consumer, true);
        }
    }
    lanes_poke(d->lanes);
    job->parks_pending--;
}

/* All parks answered: ack, or give the event back to try again. */
static void event_finish(struct delivery *d, struct job *job)
{
    size_t delivered = 0, parked = 0;
    char first_error[200] = "";
    for (size_t i = 0; i < job->endpoint_count; i++) {
        const struct endpoint_outcome *oc = &job->outcomes[i];
        if (oc->delivered) {
            delivered++;
            continue;
        }
        parked++;
        if (!first_error[0] && oc->error[0])
            snprintf(first_error, sizeof first_error, "%s: %s",
                     job->route->endpoints[i].display_url, oc->error);
    }
    if (job->park_failed) {
        /* The event comes back; what answered 2xx is not called again. */
        for (size_t i = 0; i < job->endpoint_count; i++)
            if (job->outcomes[i].delivered)
                delivered_memory_add(d->memory, job->memory_key,
                                     delivery_endpoint_id(&job->route->endpoints[i]),
                                     job->outcomes[i].status);
        natsMsg_NakWithDelay(job->msg, PARK_RETRY_MS, NULL);
        stats_inc(STAT_RETRIED);
        static struct log_ratelimit rl;
        int suppressed = 0;
        if (log_ratelimit_ok(&rl, 5, 10000, &suppressed))
            log_warn(SUBSYS,
                     "event %s (domain %s): cannot park its delivery for %zu endpoint(s) in "
                     "the retry stream; it comes back in %d ms (%d similar suppressed)",
                     job->info.event_id, job->info.domain, parked, PARK_RETRY_MS, suppressed);
        delivery_job_free(d, job);
        return;
    }
    natsMsg_Ack(job->msg, NULL);
    /* Remembered after the ack too (the memory is bounded and forgets the oldest): an
     * ack lost with a broker restart brings the event back, and the endpoints that
     * have it are not called again. */
    for (size_t i = 0; i < job->endpoint_count; i++)
        if (job->outcomes[i].delivered && job->outcomes[i].called)
            delivered_memory_add(d->memory, job->memory_key,
                                 delivery_endpoint_id(&job->route->endpoints[i]),
                                 job->outcomes[i].status);
    if (parked == 0) {
        stats_inc(STAT_DELIVERED);
        log_debug(SUBSYS, "event %s delivered to %zu endpoint(s)", job->info.event_id,
                  job->endpoint_count);
        delivery_log_outcome(d, job, "forwarded", false, NULL, NULL);
    } else {
        stats_add(STAT_PARKED, parked);
        /* A failed attempt is a call that failed (not a 410, dead-lettered from its
         * record; not a Retry-After). Parked without a call (the endpoint was behind)
         * is no attempt: nothing is announced until its record is settled. */
        bool any_failed = false;
        for (size_t i = 0; i < job->endpoint_count; i++)
            any_failed |= job->outcomes[i].park == PARK_FAILED && job->outcomes[i].called;
        if (any_failed) {
            stats_inc(STAT_RETRIED);
            delivery_log_outcome(d, job, "failed", true, NULL, first_error);
        }
        static struct log_ratelimit rl;
        int suppressed = 0;
        if (any_failed && log_ratelimit_ok(&rl, 10, 10000, &suppressed))
            log_warn(SUBSYS,
                     "event %s (domain %s) attempt 1/%d: %zu endpoint(s) not delivered (%s); "
                     "parked in the retry stream, retry in %lld ms (%d similar suppressed)",
                     job->info.event_id, job->info.domain, job->cfg->nats.max_deliver, parked,
                     first_error, (long long)delivery_backoff_ms(job->cfg, 1), suppressed);
    }
    delivery_job_free(d, job);
}

void delivery_event_settle(struct delivery *d, struct job *job)
{
    bool any = false;
    for (size_t i = 0; i < job->endpoint_count; i++) {
        struct endpoint_outcome *oc = &job->outcomes[i];
        if (oc->delivered)
            continue;
        any = true;
        /* Whatever kept it from a call (a stop, a lane behind): parked, never dropped —
         * the ack below must not come while an endpoint has neither. */
        if (oc->park == PARK_NONE)
            oc->park = PARK_BEHIND;
    }
    if (!any) {
        event_finish(d, job);
        return;
    }
    event_park(d, job);
    if (job->parks_pending == 0)
        event_finish(d, job);
}

void delivery_on_parked_item(struct delivery *d, struct job *job, bool ok)
{
    if (!ok)
        job->park_failed = true;
    if (--job->parks_pending == 0)
        event_finish(d, job);
}
