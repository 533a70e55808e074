/*
 * trace_context — W3C Trace Context (https://www.w3.org/TR/trace-context/) for events:
 * the `traceparent` and `tracestate` an upstream sends with POST /events are kept with
 * the stored event, and every webhook call for it carries them on, as a new span of
 * the same trace (a new parent-id per attempt, the upstream's trace-id and flags).
 *
 * traceparent is "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>", lower-case;
 * an all-zero trace-id or parent-id is invalid. A value that is not valid is ignored
 * (dropped, with its tracestate), as the specification asks.
 *
 * Pure functions, any thread (the span ids come from a per-thread generator).
 */
#ifndef EVENTHUB_TRACE_CONTEXT_H
#define EVENTHUB_TRACE_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#define TRACE_PARENT_HEADER "traceparent"
#define TRACE_STATE_HEADER "tracestate"
#define TRACE_PARENT_LEN 55 /* version 00 */
#define TRACE_STATE_MAX 512 /* the specification's limit for what must be kept */

/* A version-00 traceparent, exactly (no spaces around, lower-case hex). */
bool trace_parent_valid(const char *v);
/* A tracestate worth keeping: at most TRACE_STATE_MAX printable ASCII characters. */
bool trace_state_valid(const char *v);
/* The traceparent of a new span under `parent` (valid): same trace-id and flags, a new
 * random parent-id. */
void trace_parent_child(const char *parent, char out[TRACE_PARENT_LEN + 1]);

#endif
