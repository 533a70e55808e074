/*
 * hostname — the one definition of "a tenant domain" shared by the call tracker (domains
 * read from FreeSWITCH events) and the config module (esl[].default_domain).
 *
 * A valid hostname: dot-separated labels of 1..63 ASCII letters, digits and hyphens (no
 * hyphen first or last in a label), at most 253 characters, one trailing dot allowed;
 * the last label must not be all digits (so IPv4 addresses and bare numbers are not
 * hostnames; IPv6 literals fail on ':' and '['). Underscores are refused.
 *
 * Also the Host-header grammar (name, IPv4, [IPv6], optional port) that the HTTP policy
 * and the config check of server.allowed_hosts share.
 *
 * Pure functions, no state: any thread.
 */
#ifndef EVENTHUB_HOSTNAME_H
#define EVENTHUB_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

#define HOSTNAME_MAX 253 /* characters, without the trailing dot */

/* Is `s` a valid hostname? false for NULL. */
bool hostname_valid(const char *s);

/*
 * Copies the hostname s[0..len) into out, lowercased and without its trailing dot, and
 * returns true; returns false (out unspecified) when it is not a valid hostname or does
 * not fit (cap > HOSTNAME_MAX always fits). Borrows s; `s` need not be NUL-terminated.
 */
bool hostname_normalize(const char *s, size_t len, char *out, size_t cap);

enum host_class { HOST_MALFORMED, HOST_IP, HOST_NAME };
/*
 * Splits a Host value ("name", "name:port", "1.2.3.4:80", "[::1]:8080") and classifies
 * it; for a name, writes it lowercased without a trailing dot to `name` (cap bytes, at
 * least 254). *port is the port, or -1 when absent.
 */
enum host_class hostname_parse_host(const char *host, size_t len, char *name, size_t cap,
                                    int *port);
/* NULL when `entry` may stand in server.allowed_hosts, else why not. */
const char *hostname_allowed_entry_problem(const char *entry);

#endif
