/*
 * esl_domain — the tenant domain a FreeSWITCH event belongs to.
 *
 * The sources, best first: variable_domain_name, variable_dialed_domain,
 * variable_requested_domain_name, variable_sip_req_host, variable_sip_to_host,
 * variable_sip_from_host, and the host part of variable_presence_id ("user@host"). Only
 * a valid hostname counts (see hostname.h: not an IP address); it is returned lowercased,
 * without a trailing dot.
 *
 * Pure functions on borrowed events: any thread.
 */
#ifndef EVENTHUB_ESL_DOMAIN_H
#define EVENTHUB_ESL_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>

struct esl_event;

#define ESL_DOMAIN_SOURCES 7 /* how many sources esl_event_domain_source() tries */

/*
 * The first source that holds a valid hostname, written into out (cap >= 256): returns
 * its index (0 = variable_domain_name ... ESL_DOMAIN_SOURCES - 1 = presence_id), or -1
 * when none does (out unspecified).
 */
int esl_event_domain_source(const struct esl_event *ev, char *out, size_t cap);

/*
 * The tenant domain of an event (ev may be NULL), else `fallback` when it is a valid
 * hostname. Writes it into out (cap >= 256) and returns true, or writes "" and returns
 * false when none qualifies.
 */
bool esl_event_domain(const struct esl_event *ev, const char *fallback, char *out, size_t cap);

#endif
