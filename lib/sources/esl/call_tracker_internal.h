/*
 * call_tracker_internal — private to the call tracker (call_tracker*.c). Not part of
 * the API: nothing else may include it.
 *
 * The tracker is two files:
 *   call_tracker.c         the leg table, calls and their merges, what each event says
 *                          about its call, the live state machine, the public API;
 *   call_tracker_record.c  the JSON text of a call — the final call signal, a live
 *                          record, a "merged" record — and the customer-facing status.
 * What they share is the per-call data below. Everything runs on the thread that feeds
 * the tracker.
 */
#ifndef EVENTHUB_CALL_TRACKER_INTERNAL_H
#define EVENTHUB_CALL_TRACKER_INTERNAL_H

#include "sources/esl/call_tracker.h"

#include <stdbool.h>
#include <stdint.h>

#define CT_ID_MAX 64      /* longest Unique-ID tracked */
#define CT_DOMAIN_CAP 256 /* a hostname and its NUL */

struct tzfile;
struct ct_leg;

/* Per-call fields: strings first, then times (microseconds since the epoch). */
enum ct_field {
    F_FROM,
    F_TO,
    F_DIRECTION,
    F_DOMAIN,
    F_SIP_CALL_ID,
    F_HOTLINE,
    F_RECEIVE_DEST,
    F_CAUSE,
    F_DISPOSITION,
    F_RANG_DEST, /* the last other destination that rang (a missed call's receive_dest) */
    F_BILLSEC,   /* FreeSWITCH's own variable_billsec / variable_duration, at hangup */
    F_DURATION,
    F_EXTRA, /* CALL_EXTRA_COUNT members from operator-named headers */
    F_STR_COUNT = F_EXTRA + CALL_EXTRA_COUNT,
    T_CREATED = F_STR_COUNT,
    T_ANSWERED,
    T_HUNGUP,
    F_COUNT
};

/* Live states, in the only order a call may go through them (see call_tracker.h). */
enum ct_live {
    LIVE_NONE,
    LIVE_DIALING,
    LIVE_RINGING,
    LIVE_EARLY,
    LIVE_ANSWERED,
    LIVE_BRIDGED,
    LIVE_HANGING_UP
};

struct ct_call {
    struct ct_call *older, *newer; /* by first sighting */
    struct ct_leg *legs;
    struct ct_leg *announced; /* its UUID named the last live record; NULL: none yet */
    int64_t born_ms;
    int64_t t[F_COUNT - T_CREATED]; /* 0 = unknown */
    char *s[F_STR_COUNT];           /* NULL = unknown */
    uint8_t prio[F_COUNT];          /* (rank << 4) | sub-priority; 0 = unset */
    uint8_t nlegs;
    uint8_t live;      /* enum ct_live: the furthest state reached */
    uint8_t live_sent; /* enum ct_live: the state of the last record under `announced` */
};

/* What differs between a call signal, a live record and a "merged" record. */
struct ct_record_kind {
    const char *id_suffix;   /* event_id is "call-<call_id>-<id_suffix>" */
    const char *state;       /* "state" */
    const char *status;      /* "status"; NULL: null */
    bool live;               /* "live" */
    const char *merged_into; /* adds "merged_into" when set */
};

/* What every record of a tracker shares. */
struct ct_record_env {
    const char *node;          /* may be NULL */
    const struct tzfile *zone; /* NULL: UTC */
    enum call_signal_format format;
    bool extra[CALL_EXTRA_COUNT]; /* the member is configured (typed form: null otherwise) */
};

/* From the customer's side: connected, or why not; "unknown" when the end was not seen. */
const char *ct_status_of(const char *cause, bool answered, bool complete);

/* An answering leg's destination when it differs from to_number; else NULL (the typed
 * form's receive_dest, and what makes an answer "bridged"). */
const char *ct_receive_dest(const struct ct_call *c);

/*
 * The record's JSON text (a new string: free with free()), or NULL when out of memory.
 * Borrows everything; `domain` may be NULL (null, or "" in the seed form).
 */
char *ct_record_build(const struct ct_call *c, const char *call_id, const char *domain,
                      const struct ct_record_env *env, const struct ct_record_kind *k);

#endif
