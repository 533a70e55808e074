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
 * No I/O, no clock of its own (times are passed in). One thread.
 */
#ifndef EVENTHUB_CALL_TRACKER_H
#define EVENTHUB_CALL_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct esl_event;
struct call_tracker;

struct call_tracker_options {
    const char *node;           /* the FreeSWITCH node name, copied into signals */
    const char *default_domain; /* used when no domain can be resolved; may be NULL */
    const char *timezone;       /* TZ name for time_* fields ("Asia/Ho_Chi_Minh"); NULL = UTC */
    int64_t max_call_age_ms;    /* expire calls older than this (default 4 h) */
    size_t max_calls;           /* bound on tracked calls (default 100000) */
};

/*
 * Called for each finished (or expired) call. `signal_json` is the call signal
 * object (a new string the callee owns and must free); `domain` and `call_id` borrow
 * from the tracker for the duration of the call. `domain` is NULL when no domain was
 * resolved and there is no default_domain. The callback must not call into the tracker.
 */
typedef void (*call_signal_fn)(void *closure, const char *domain, const char *call_id,
                               char *signal_json);

/* NULL when out of memory, the time zone is unknown or default_domain is not a hostname. */
struct call_tracker *call_tracker_new(const struct call_tracker_options *opts,
                                      call_signal_fn on_signal, void *closure);
void call_tracker_free(struct call_tracker *t); /* accepts NULL */

/* Feeds one event; events that are not about channels are ignored. */
void call_tracker_on_event(struct call_tracker *t, const struct esl_event *ev, int64_t now_ms);
/* Expires calls older than max_call_age (state "unknown"); call now and then. */
void call_tracker_expire(struct call_tracker *t, int64_t now_ms);
size_t call_tracker_live_calls(const struct call_tracker *t);

/*
 * The tenant domain of an event, in order: variable_domain_name,
 * variable_dialed_domain, variable_requested_domain_name, variable_sip_req_host,
 * variable_sip_to_host, variable_sip_from_host, the host part of variable_presence_id,
 * then `fallback`. Only a valid hostname is accepted (not an IP address). Writes it
 * into out (cap >= 256) and returns true, or false when none qualifies.
 */
bool esl_event_domain(const struct esl_event *ev, const char *fallback, char *out, size_t cap);

#endif
