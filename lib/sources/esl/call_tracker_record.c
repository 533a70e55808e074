/*
 * call_tracker_record — the JSON text of a call (see call_tracker_internal.h).
 *
 * One builder for the three kinds of record, so they cannot drift apart: the final
 * call signal, a live record and a "merged" record have the same members in the same
 * order, and differ only in event_id, state, status, live and merged_into (struct
 * ct_record_kind).
 *
 * Two forms (enum call_signal_format). The seed form, the default, is the event
 * upstream systems POST to /events: every one of its members present, every value a
 * string, "" when unknown (eventhub's own "live" stays a boolean). The typed form is
 * the older one: duration and billsec are numbers, unknown values are null, hotline and
 * receive_dest appear only when they say something, the operator-named members only
 * when configured.
 *
 * Times are printed with tzfile_format() in the tracker's zone; duration and billsec
 * are FreeSWITCH's own CDR figures (cdr_seconds below). Pure functions of their
 * arguments.
 */
#include "sources/esl/call_tracker_internal.h"

#include "core/tzfile.h"
#include "core/json_print.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
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

/* How one record is written: the form, and a NULL value as null or "". */
struct writer {
    cJSON *o;
    bool seed;
};

static void put(const struct writer *w, const char *name, const char *v)
{
    if (v)
        cJSON_AddStringToObject(w->o, name, v);
    else if (w->seed)
        cJSON_AddStringToObject(w->o, name, "");
    else
        cJSON_AddNullToObject(w->o, name);
}

static void put_time(const struct writer *w, const char *name, const struct tzfile *z, int64_t us)
{
    char buf[TZFILE_TIME_LEN];
    put(w, name, us > 0 && tzfile_format(z, us, buf) ? buf : NULL);
}

/* A count of seconds: a number in the typed form, a string in the seed; -1 unknown. */
static void put_seconds(const struct writer *w, const char *name, int64_t s)
{
    char buf[24];
    if (s >= 0 && !w->seed) {
        cJSON_AddNumberToObject(w->o, name, (double)s);
        return;
    }
    snprintf(buf, sizeof buf, "%lld", (long long)s);
    put(w, name, s >= 0 ? buf : NULL);
}

/*
 * FreeSWITCH's rule (switch_channel_set_timestamps, the CDR's duration and billsec): whole
 * epoch seconds subtracted, b - a, never negative; -1 when either is unknown. So a
 * 2.5 s call is 2 or 3 seconds depending on where the second boundaries fall, exactly
 * as the CDR says, and time_ended - time_started (printed in whole seconds) is duration.
 */
static int64_t cdr_seconds(int64_t a_us, int64_t b_us)
{
    if (a_us <= 0 || b_us <= 0)
        return -1;
    int64_t d = b_us / 1000000 - a_us / 1000000;
    return d > 0 ? d : 0;
}

/* FreeSWITCH's own figure for the call (variable_billsec / variable_duration of the
 * leg that carries it), else the same rule over the call's instants. */
static int64_t call_seconds(const char *reported, int64_t a_us, int64_t b_us)
{
    if (reported)
        return strtoll(reported, NULL, 10);
    return cdr_seconds(a_us, b_us);
}

const char *ct_receive_dest(const struct ct_call *c)
{
    const char *rd = c->s[F_RECEIVE_DEST];
    return rd && !(c->s[F_TO] && strcmp(rd, c->s[F_TO]) == 0) ? rd : NULL;
}

/*
 * The seed form's numbers. receive_dest: the destination that answered, else the last
 * other one that rang, else the number dialled. hotline: the hotline channel variable,
 * else the number dialled when the call was answered or rang elsewhere. to_number: the
 * number dialled, "" when it is the hotline (as upstream systems send a hotline call).
 */
struct seed_numbers {
    const char *to, *hotline, *receive_dest;
};

static struct seed_numbers seed_numbers(const struct ct_call *c)
{
    const char *dialled = c->s[F_TO];
    const char *dest = c->s[F_RECEIVE_DEST] ? c->s[F_RECEIVE_DEST] : c->s[F_RANG_DEST];
    if (!dest)
        dest = dialled;
    const char *hotline = c->s[F_HOTLINE];
    if (!hotline && dest && dialled && strcmp(dest, dialled) != 0)
        hotline = dialled;
    return (struct seed_numbers){
        .to = hotline ? "" : dialled, .hotline = hotline, .receive_dest = dest};
}

char *ct_record_build(const struct ct_call *c, const char *call_id, const char *domain,
                      const struct ct_record_env *env, const struct ct_record_kind *k)
{
    const struct writer w = {cJSON_CreateObject(), env->format == CALL_SIGNAL_SEED};
    cJSON *o = w.o;
    if (!o)
        return NULL;
    const int64_t created = c->t[T_CREATED - T_CREATED], answered = c->t[T_ANSWERED - T_CREATED];
    const int64_t hungup = c->t[T_HUNGUP - T_CREATED];
    char event_id[CT_ID_MAX + 32];
    snprintf(event_id, sizeof event_id, "call-%s-%s", call_id, k->id_suffix);
    cJSON_AddStringToObject(o, "event_id", event_id);
    cJSON_AddStringToObject(o, "call_id", call_id);
    put(&w, "sip_call_id", c->s[F_SIP_CALL_ID]);
    put(&w, "domain", domain);
    put(&w, "direction", c->s[F_DIRECTION]);
    put(&w, "from_number", c->s[F_FROM]);
    if (w.seed) {
        const struct seed_numbers n = seed_numbers(c);
        put(&w, "to_number", n.to);
        put(&w, "hotline", n.hotline);
        put(&w, "receive_dest", n.receive_dest);
    } else {
        put(&w, "to_number", c->s[F_TO]);
        if (c->s[F_HOTLINE])
            cJSON_AddStringToObject(o, "hotline", c->s[F_HOTLINE]);
        if (ct_receive_dest(c))
            cJSON_AddStringToObject(o, "receive_dest", ct_receive_dest(c));
    }
    static const char *const extra_names[CALL_EXTRA_COUNT] = {
        [CALL_EXTRA_NETWORK] = "network",
        [CALL_EXTRA_PROVIDER] = "provider",
        [CALL_EXTRA_ACTUAL_HOTLINE] = "actual_hotline",
        [CALL_EXTRA_CRM_CONTACT_ID] = "crm_contact_id",
    };
    for (int i = 0; i < CALL_EXTRA_COUNT; i++)
        if (w.seed || env->extra[i])
            put(&w, extra_names[i], c->s[F_EXTRA + i]);
    put_time(&w, "time_started", env->zone, created);
    put_time(&w, "time_answered", env->zone, answered);
    put_time(&w, "time_ended", env->zone, hungup);
    /* FreeSWITCH's figures come with the customer's channel's end: a live record
     * (the call goes on) uses the instants. */
    const char *fs_duration = k->live ? NULL : c->s[F_DURATION];
    const char *fs_billsec = k->live ? NULL : c->s[F_BILLSEC];
    put_seconds(&w, "duration", call_seconds(fs_duration, created, hungup));
    put_seconds(&w, "billsec",
                answered || fs_billsec ? call_seconds(fs_billsec, answered, hungup) : 0);
    cJSON_AddStringToObject(o, "state", k->state);
    put(&w, "status", k->status);
    put(&w, "hangup_cause", c->s[F_CAUSE]);
    put(&w, "sip_hangup_disposition", c->s[F_DISPOSITION]);
    put(&w, "node", env->node);
    if (k->merged_into)
        cJSON_AddStringToObject(o, "merged_into", k->merged_into);
    cJSON_AddBoolToObject(o, "live", k->live);
    char *text = json_print(o);
    cJSON_Delete(o);
    return text;
}
