/*
 * event — what eventhub does to an event's bytes, with no I/O.
 *
 *  - event_prepare(): checks an ingress body (one JSON object with a non-empty string
 *    `domain`) and builds the bytes to store: the sender's bytes untouched, with
 *    `event_id` (a UUID v4, when absent) and `received_at` (when absent) appended as
 *    new members before the closing brace.
 *  - event_inspect(): reads a stored message (domain, event_id) for delivery.
 *  - event_with_attempt(): the delivery body — the stored bytes with
 *    `delivery_attempt` set (appended, or its value replaced when present).
 *  - event_subject(): the NATS subject for a domain, safe against '.', '*', '>',
 *    whitespace and any other byte NATS treats specially.
 *
 * Pure functions; any thread.
 */
#ifndef EVENTHUB_EVENT_H
#define EVENTHUB_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_DOMAIN_MAX 255
#define EVENT_ID_MAX 128
/* A subject token may grow 3x (percent-encoding) plus the pattern around it. */
#define EVENT_SUBJECT_MAX (EVENT_DOMAIN_MAX * 3 + 256)

enum event_status {
    EVENT_OK = 0,
    EVENT_ERR_JSON,       /* not valid JSON */
    EVENT_ERR_NOT_OBJECT, /* valid JSON, but not an object */
    EVENT_ERR_DOMAIN,     /* domain missing, not a string, empty, too long, control chars */
    EVENT_ERR_EVENT_ID,   /* event_id present but not a usable id */
    EVENT_ERR_NOMEM,
};

struct event_info {
    char domain[EVENT_DOMAIN_MAX + 1];
    char event_id[EVENT_ID_MAX + 1];
    bool has_event_id;         /* the body carried it */
    bool from_idempotency_key; /* it came from the Idempotency-Key header */
    char detail[160];          /* human explanation when status != EVENT_OK */
};

/*
 * Validates `body` and builds the stored form into *stored (malloc'd, caller frees)
 * and *stored_len. `now_wall_ms` is the receive time. Fills *info (event_id is the
 * sender's or a new UUID).
 */
enum event_status event_prepare(const char *body, size_t len, int64_t now_wall_ms,
                                struct event_info *info, char **stored, size_t *stored_len);

/*
 * The same, for a request that may carry an Idempotency-Key header (NULL: none): when
 * the body has no event_id, the key becomes it (the same rule as event_id; a retried
 * POST is then stored once), appended to the stored bytes like a generated one. A body
 * event_id that differs from the key is refused (EVENT_ERR_EVENT_ID).
 */
enum event_status event_prepare_keyed(const char *body, size_t len, int64_t now_wall_ms,
                                      const char *idempotency_key, struct event_info *info,
                                      char **stored, size_t *stored_len);

/* Validates a stored message and extracts domain and event_id (may be absent). */
enum event_status event_inspect(const char *data, size_t len, struct event_info *info);

/*
 * Returns a new buffer (caller frees) holding `data` with "delivery_attempt":attempt,
 * or NULL when out of memory. `data` must be a JSON object (event_inspect said OK).
 */
char *event_with_attempt(const char *data, size_t len, int attempt, size_t *out_len);

/*
 * Writes the subject for `domain` into out: `pattern` with its wildcard token ("*",
 * or a final ">") replaced by the domain token. Domain bytes [A-Za-z0-9-] are kept,
 * '.' becomes '_', every other byte (including '_') becomes %XX. Returns false if it
 * does not fit.
 */
bool event_subject(const char *pattern, const char *domain, char *out, size_t cap);

/* The subject token alone (see event_subject). */
bool event_domain_token(const char *domain, char *out, size_t cap);

/* A random UUID v4, 36 chars + NUL. */
void event_new_uuid(char out[37]);

const char *event_status_name(enum event_status status);

#endif
