/*
 * esl_domain — see esl_domain.h.
 *
 * The order of domain_sources is the contract: the call tracker ranks a domain by the
 * index esl_event_domain_source() returns, so a better source seen on a later event
 * replaces a worse one. Empty headers are treated as absent.
 */
#include "sources/esl/esl_domain.h"

#include "sources/esl/esl_event.h"
#include "core/hostname.h"

#include <string.h>

static const char *const domain_sources[ESL_DOMAIN_SOURCES] = {
    "variable_domain_name",  "variable_dialed_domain", "variable_requested_domain_name",
    "variable_sip_req_host", "variable_sip_to_host",   "variable_sip_from_host",
    "variable_presence_id", /* its host part */
};

int esl_event_domain_source(const struct esl_event *ev, char *out, size_t cap)
{
    if (!ev || !out)
        return -1;
    for (int i = 0; i < ESL_DOMAIN_SOURCES; i++) {
        const char *v = esl_event_get(ev, domain_sources[i]);
        if (!v || !*v)
            continue;
        if (i == ESL_DOMAIN_SOURCES - 1) { /* presence_id: user@host */
            const char *at = strrchr(v, '@');
            if (!at)
                continue;
            v = at + 1;
        }
        if (hostname_normalize(v, strlen(v), out, cap))
            return i;
    }
    return -1;
}

bool esl_event_domain(const struct esl_event *ev, const char *fallback, char *out, size_t cap)
{
    if (!out || cap == 0)
        return false;
    if (ev && esl_event_domain_source(ev, out, cap) >= 0)
        return true;
    if (fallback && hostname_normalize(fallback, strlen(fallback), out, cap))
        return true;
    out[0] = '\0';
    return false;
}
