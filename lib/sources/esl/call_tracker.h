/*
 * call_tracker — follows calls through FreeSWITCH channel events and describes each
 * finished call once, as a "call signal" in the shape upstream systems POST to
 * /events.
 *
 * A table of live channels keyed by Unique-ID, grouped into calls (the legs of a
 * bridged or loopback call share one call: Channel-Call-UUID / Other-Leg-Unique-ID /
 * the loopback partner). It follows CHANNEL_CREATE → CHANNEL_PROGRESS(_MEDIA) /
 * CHANNEL_ANSWER → CHANNEL_BRIDGE → CHANNEL_HANGUP → CHANNEL_HANGUP_COMPLETE; when
 * the last leg of a call completes, the call signal is emitted — describing the call
 * as the customer saw it (caller and callee as dialled, even though FreeSWITCH swaps
 * them on the A leg after answer). Calls whose end never arrives are expired after
 * max_call_age and emitted with state "unknown". Memory is bounded by max_calls
 * (the oldest calls are expired first when full).
 *
 * Optionally it also describes calls while they are up ("live records", for
 * GET /api/v1/calls/{uuid}): one record each time a call reaches a new state the
 * user cares about — see call_tracker_set_update_callback().
 *
 * No I/O, no clock of its own (times are passed in). One thread.
 */
#ifndef EVENTHUB_CALL_TRACKER_H
#define EVENTHUB_CALL_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sources/esl/esl_domain.h" /* esl_event_domain(), which this header used to declare */

struct esl_event;
struct call_tracker;

/* The shape of call signals and live records (see call_tracker_record.c). */
enum call_signal_format {
    CALL_SIGNAL_SEED,  /* the default: every member of the event upstream systems POST, each a
                          string, "" when unknown */
    CALL_SIGNAL_TYPED, /* duration/billsec as numbers, null when unknown, hotline and
                          receive_dest only when they say something */
};

/* Members filled from channel variables the operator names (calls.fields), in this
 * order in call_tracker_options.extra_headers. */
enum call_extra_field {
    CALL_EXTRA_NETWORK,
    CALL_EXTRA_PROVIDER,
    CALL_EXTRA_ACTUAL_HOTLINE,
    CALL_EXTRA_CRM_CONTACT_ID,
    CALL_EXTRA_COUNT
};

struct call_tracker_options {
    const char *node; /* the FreeSWITCH node name, copied into signals */
    enum call_signal_format format;
    /* the event header (a channel variable: "variable_network") each extra member is read
     * from; NULL: the member is always "" (null in the typed form) */
    const char *extra_headers[CALL_EXTRA_COUNT];
    const char *default_domain; /* used when no domain can be resolved; may be NULL */
    const char *timezone;       /* TZ name for time_* fields ("Asia/Ho_Chi_Minh"); NULL = UTC */
    int64_t max_call_age_ms;    /* expire calls older than this (default 4 h) */
    size_t max_calls;           /* bound on tracked calls (default 100000) */
};

/*
 * Called for each finished (or expired) call. `signal_json` is the call signal
 * object, with "live": false (a new string the callee owns and must free); `domain`
 * and `call_id` borrow from the tracker for the duration of the call. `domain` is NULL
 * when no domain was resolved and there is no default_domain. The callback must not
 * call into the tracker.
 */
typedef void (*call_signal_fn)(void *closure, const char *domain, const char *call_id,
                               char *signal_json);

/*
 * Called when a tracked call reaches a new live state (see below). `record_json` is
 * the call's current record — the call signal's members, with "live": true and
 * "state" one of the live states (or a "merged" record, "live": false) — a new string
 * the callee owns and must free; `domain` and `call_id` borrow as for call_signal_fn.
 * The callback must not call into the tracker.
 */
typedef void (*call_update_fn)(void *closure, const char *domain, const char *call_id,
                               char *record_json);

/* NULL when out of memory, the time zone is unknown or default_domain is not a hostname. */
struct call_tracker *call_tracker_new(const struct call_tracker_options *opts,
                                      call_signal_fn on_signal, void *closure);
void call_tracker_free(struct call_tracker *t); /* accepts NULL */

/*
 * Live records: `fn` (NULL: none, the default) is called on the feeding thread, from
 * call_tracker_on_event(), after the event has been applied. Each call moves forward
 * through these states, never back, and gets at most one record per state:
 *
 *   "dialing"     created, placed by FreeSWITCH (Call-Direction outbound)
 *   "ringing"     created, inbound; or CHANNEL_PROGRESS (180): the callee rings
 *   "early"       CHANNEL_PROGRESS_MEDIA (183): early media
 *   "answered"    CHANNEL_ANSWER; time_answered is set
 *   "bridged"     CHANNEL_BRIDGE, or a leg answered at a destination other than
 *                 to_number (receive_dest is set)
 *   "hanging_up"  the customer's (root) leg sent CHANNEL_HANGUP or _COMPLETE while
 *                 another leg is still up; status and hangup_cause say why, when known
 *
 * A state the call skips gets no record (a call seen first at its answer starts at
 * "answered"), and an event that ends the call produces only the call signal, which
 * carries "live": false. Re-bridges and transfers do not go back to an earlier state.
 * In a live record time_ended, duration and hangup_cause are unknown until known, and
 * status until hanging up ("" in the seed form, null in the typed one); event_id is
 * "call-<call_id>-<state>".
 *
 * call_id is the UUID of the call's root leg. It can change while the call is up,
 * when a later event names a leg that placed this one, or when two calls started
 * apart are bridged into one (uuid_bridge). Then the old call_id gets one last record
 * with "live": false, "state": "merged" and "merged_into": the new call_id, and the
 * current state is announced again under the new one — so a consumer that keeps live
 * records by call_id and drops them on "live": false (a call signal or a merge) is
 * left with none once every call has ended or expired.
 */
void call_tracker_set_update_callback(struct call_tracker *t, call_update_fn fn, void *closure);

/* Feeds one event; events that are not about channels are ignored. */
void call_tracker_on_event(struct call_tracker *t, const struct esl_event *ev, int64_t now_ms);
/* Expires calls older than max_call_age (state "unknown"); call now and then. */
void call_tracker_expire(struct call_tracker *t, int64_t now_ms);
size_t call_tracker_live_calls(const struct call_tracker *t);
/* The tenant domain of the live call that channel `uuid` belongs to, or NULL (unknown
 * channel, or no domain resolved yet). Borrowed until the next call into the tracker. */
const char *call_tracker_domain_of(const struct call_tracker *t, const char *uuid);

#endif
