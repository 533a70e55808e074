/*
 * redact — the one rule for showing a URL, a list of URLs or a header line anywhere
 * eventhub shows or writes one: API answers, /metrics labels, log lines, domain log
 * files, event history and dead-letter records.
 *
 * In a URL "scheme://userinfo@host:port/path?query#fragment":
 *   - the whole userinfo becomes "***", user name included ("user:pw@host" → "***@host");
 *   - every query value becomes "***" ("?token=***&a=***"); a parameter without '='
 *     keeps its name ("?debug");
 *   - a fragment becomes "#***";
 *   - scheme, host, port and path are kept as written.
 * Presence is shown, content never: an empty password or value is "***" too.
 * The userinfo ends at the last '@' of the authority (a password may hold '@'); the
 * authority ends at the first '/', '?' or '#'. When what is left of the authority is not
 * a host (a name, an IPv4 address or a [bracketed] IPv6 address) with an optional
 * numeric port — e.g. a password holding an unencoded '/' — everything after "scheme://"
 * becomes "***". Without "scheme://", the userinfo is taken as wide as it can be (up to
 * the last '@' before any '?' or '#') and the rest is read as above; what is not a host
 * becomes "***". The rule is idempotent: a redacted URL redacts to itself.
 *
 * A comma-separated list (nats.url) is redacted element by element (blanks around an
 * element kept). A header line "Name: value" becomes "Name: ***" ("***" without a ':').
 *
 * Pure functions; any thread.
 */
#ifndef EVENTHUB_REDACT_H
#define EVENTHUB_REDACT_H

#include <stddef.h>

#define REDACTED "***"

/*
 * Writes the redacted form of the `len` bytes at `url` into `out` (NUL-terminated and
 * truncated when `cap` is short; nothing written when cap is 0). Returns the length the
 * whole result needs, like snprintf. A truncated result is still free of secrets.
 */
size_t redact_url_to(char *out, size_t cap, const char *url, size_t len);

/* The redacted form of `url` (borrowed) as a new string: caller frees. NULL when url is
 * NULL or out of memory. */
char *redact_url(const char *url);

/* The same for a comma-separated list of URLs, element by element: caller frees. */
char *redact_url_list(const char *list);

/* "Name: value" → "Name: ***" (a line without ':' → "***"): caller frees; NULL on OOM. */
char *redact_header(const char *line);

#endif
