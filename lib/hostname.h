/*
 * hostname — the one definition of "a tenant domain" shared by the call tracker (domains
 * read from FreeSWITCH events) and the config module (esl[].default_domain).
 *
 * A valid hostname: dot-separated labels of 1..63 ASCII letters, digits and hyphens (no
 * hyphen first or last in a label), at most 253 characters, one trailing dot allowed;
 * the last label must not be all digits (so IPv4 addresses and bare numbers are not
 * hostnames; IPv6 literals fail on ':' and '['). Underscores are refused.
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

#endif
