/*
 * json_print — the one way eventhub turns a cJSON tree into text.
 *
 * cJSON copies string bytes through unchecked, so a string that came from outside
 * (a FreeSWITCH header, a receiver's answer, a request path) could make the document
 * invalid UTF-8 — not JSON. json_print() prints unformatted and replaces every byte
 * that is not part of a well-formed UTF-8 sequence with U+FFFD, so every API answer,
 * record and log line is valid JSON text. Pure; any thread.
 */
#ifndef EVENTHUB_JSON_PRINT_H
#define EVENTHUB_JSON_PRINT_H

#include <stddef.h>

typedef struct cJSON cJSON;

/* Borrows `item`; returns a new string (free with cJSON_free or free), NULL when out of memory. */
char *json_print(const cJSON *item);

/*
 * Returns `text` itself when it is well-formed UTF-8, else a new malloc'd copy with
 * each stray byte replaced by U+FFFD (and frees `text` with cJSON_free). NULL stays NULL.
 */
char *json_print_fix_utf8(char *text);

#endif
