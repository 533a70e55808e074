/*
 * esl_event — FreeSWITCH Event Socket frames and events, with no I/O.
 *
 *  - esl_parser: bytes in (any split), frames out. A frame is a block of
 *    "Name: value" header lines ended by an empty line, then Content-Length bytes of
 *    body when that header is present — for every content type (auth/request,
 *    command/reply, api/response, text/event-plain, text/event-json,
 *    text/disconnect-notice, log/data, ...). Every size is capped: a frame larger
 *    than max_frame_bytes is a protocol error, never an overflow.
 *  - esl_event_from_frame: the event inside a text/event-plain body (URL-encoded
 *    "Name: value" lines, optionally followed by its own Content-Length body) or a
 *    text/event-json body. Header order and duplicates are kept.
 *  - esl_event_to_json: the JSON object published for an event: every header
 *    (duplicates become an array of their values; "ARRAY::a|:b" values become JSON
 *    arrays), and the event's body, when it has one, as "_body".
 *
 * Pure data structures; one parser per connection, used by one thread.
 */
#ifndef EVENTHUB_ESL_EVENT_H
#define EVENTHUB_ESL_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct esl_header {
    const char *name;  /* NUL-terminated, owned by the frame/event */
    const char *value; /* decoded (plain events are URL-decoded), NUL-terminated */
};

/* One Event Socket frame (outer envelope). */
struct esl_frame {
    struct esl_header *headers;
    size_t header_count;
    const char *content_type; /* value of Content-Type, or "" */
    const char *body;         /* NUL-terminated copy, NULL when none */
    size_t body_len;
};

/* One FreeSWITCH event. */
struct esl_event {
    struct esl_header *headers;
    size_t header_count;
    const char *body; /* the event's own body (e.g. BACKGROUND_JOB output), or NULL */
    size_t body_len;
};

enum esl_status { ESL_NEED_MORE = 0, ESL_FRAME, ESL_ERROR };

struct esl_parser;

struct esl_parser *esl_parser_new(size_t max_frame_bytes);
void esl_parser_free(struct esl_parser *p); /* accepts NULL */
/* Forgets any partial frame (after a reconnect). */
void esl_parser_reset(struct esl_parser *p);

/*
 * Consumes bytes from data[0..len). Returns ESL_FRAME with *frame set (caller frees
 * with esl_frame_free) after consuming *consumed bytes — call again with the rest;
 * ESL_NEED_MORE when everything was consumed without completing a frame; ESL_ERROR
 * on a protocol error (see esl_parser_error), after which the connection should be
 * dropped and the parser reset.
 */
enum esl_status esl_parser_feed(struct esl_parser *p, const char *data, size_t len,
                                size_t *consumed, struct esl_frame **frame);
const char *esl_parser_error(const struct esl_parser *p);
/* True when bytes of an unfinished frame are held (a peer that closes now cut it). */
bool esl_parser_mid_frame(const struct esl_parser *p);

void esl_frame_free(struct esl_frame *f);
/* First header with this name (case-insensitive), or NULL. */
const char *esl_frame_get(const struct esl_frame *f, const char *name);

/*
 * Decodes the event carried by a text/event-plain or text/event-json frame.
 * Returns NULL (and a message in err) when the body is malformed.
 */
struct esl_event *esl_event_from_frame(const struct esl_frame *f, char *err, size_t errcap);
void esl_event_free(struct esl_event *ev);
/* First header with this name (case-insensitive), or NULL. */
const char *esl_event_get(const struct esl_event *ev, const char *name);
/* A new JSON text (caller frees), or NULL when out of memory. */
char *esl_event_to_json(const struct esl_event *ev);

#endif
