/*
 * call_tracker_record — the JSON text of a call (see call_tracker_internal.h).
 *
 * One builder for the three kinds of record, so they cannot drift apart: the final
 * call signal, a live record and a "merged" record have the same members in the same
 * order, and differ only in event_id, state, status, live and merged_into (struct
 * ct_record_kind). Members whose value is unknown are null, except hotline and
 * receive_dest, which are left out — as the call signal always did.
 *
 * Times are printed with tzfile_format() in the tracker's zone; duration and billsec
 * are whole seconds, truncated (see call_tracker.c). Pure functions of their arguments.
 */
#include "sources/esl/call_tracker_internal.h"

#include "core/tzfile.h"
#include "core/json_print.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

const char *ct_status_of(const char *cause, bool answered, bool complete)
{
    static const struct {
        const char *cause;
        const char *status;
    } map[] = {
        {"USER_BUSY", "busy-line"},        {"CALL_REJECTED", "busy-line"},
        {"NO_ANSWER", "no-answer"},        {"NO_USER_RESPONSE", "no-answer"},
        {"PROGRESS_TIMEOUT", "no-answer"}, {"ALLOTTED_TIMEOUT", "no-answer"},
        {"NORMAL_CLEARING", "no-answer"},  {"ORIGINATOR_CANCEL", "cancelled"},
    };
    if (!cause && !complete)
        return "unknown";
    if (answered)
        return "completed";
    if (!cause)
        return "unknown";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(cause, map[i].cause) == 0)
            return map[i].status;
    return "failed";
}

static void add_str(cJSON *o, const char *name, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

static void add_time(cJSON *o, const char *name, const struct tzfile *z, int64_t us)
{
    char buf[TZFILE_TIME_LEN];
    add_str(o, name, us > 0 && tzfile_format(z, us, buf) ? buf : NULL);
}

/* Whole seconds from a to b (both known), never negative; -1 when unknown. */
static int64_t seconds_between(int64_t a_us, int64_t b_us)
{
    if (a_us <= 0 || b_us <= 0)
        return -1;
    return b_us > a_us ? (b_us - a_us) / 1000000 : 0;
}

static void add_seconds(cJSON *o, const char *name, int64_t s)
{
    if (s >= 0)
        cJSON_AddNumberToObject(o, name, (double)s);
    else
        cJSON_AddNullToObject(o, name);
}

const char *ct_receive_dest(const struct ct_call *c)
{
    const char *rd = c->s[F_RECEIVE_DEST];
    return rd && !(c->s[F_TO] && strcmp(rd, c->s[F_TO]) == 0) ? rd : NULL;
}

char *ct_record_build(const struct ct_call *c, const char *call_id, const char *domain,
                      const char *node, const struct tzfile *zone, const struct ct_record_kind *k)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    const int64_t created = c->t[T_CREATED - T_CREATED], answered = c->t[T_ANSWERED - T_CREATED];
    const int64_t hungup = c->t[T_HUNGUP - T_CREATED];
    char event_id[CT_ID_MAX + 32];
    snprintf(event_id, sizeof event_id, "call-%s-%s", call_id, k->id_suffix);
    cJSON_AddStringToObject(o, "event_id", event_id);
    cJSON_AddStringToObject(o, "call_id", call_id);
    add_str(o, "sip_call_id", c->s[F_SIP_CALL_ID]);
    add_str(o, "domain", domain);
    add_str(o, "direction", c->s[F_DIRECTION]);
    add_str(o, "from_number", c->s[F_FROM]);
    add_str(o, "to_number", c->s[F_TO]);
    if (c->s[F_HOTLINE])
        cJSON_AddStringToObject(o, "hotline", c->s[F_HOTLINE]);
    if (ct_receive_dest(c))
        cJSON_AddStringToObject(o, "receive_dest", ct_receive_dest(c));
    add_time(o, "time_started", zone, created);
    add_time(o, "time_answered", zone, answered);
    add_time(o, "time_ended", zone, hungup);
    add_seconds(o, "duration", seconds_between(created, hungup));
    add_seconds(o, "billsec", answered ? seconds_between(answered, hungup) : 0);
    cJSON_AddStringToObject(o, "state", k->state);
    add_str(o, "status", k->status);
    add_str(o, "hangup_cause", c->s[F_CAUSE]);
    add_str(o, "sip_hangup_disposition", c->s[F_DISPOSITION]);
    add_str(o, "node", node);
    if (k->merged_into)
        cJSON_AddStringToObject(o, "merged_into", k->merged_into);
    cJSON_AddBoolToObject(o, "live", k->live);
    char *text = json_print(o);
    cJSON_Delete(o);
    return text;
}
