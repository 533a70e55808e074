/*
 * hostname — see hostname.h.
 *
 * One scan does both jobs: hostname_valid() runs it without an output buffer,
 * hostname_normalize() with one. ASCII only, and locale-independent on purpose (the
 * <ctype.h> classes change with setlocale(); DNS labels do not).
 */
#include "hostname.h"

#include <string.h>

static bool ascii_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool ascii_alnum(char c)
{
    return ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Validates s[0..n) (trailing dot already removed); writes it lowercased to out if set. */
static bool scan(const char *s, size_t n, char *out)
{
    if (n == 0 || n > HOSTNAME_MAX)
        return false;
    size_t label = 0;
    bool digits_only = true;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : '.'; /* a virtual dot closes the last label */
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') /* i > 0 here: label > 0 */
                return false;
            if (i == n && digits_only)
                return false;
            if (out && i < n)
                out[i] = '.';
            label = 0;
            digits_only = true;
            continue;
        }
        if (!ascii_alnum(c) && c != '-')
            return false;
        if (label == 0 && c == '-')
            return false;
        if (++label > 63)
            return false;
        if (!ascii_digit(c))
            digits_only = false;
        if (out)
            out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    if (out)
        out[n] = '\0';
    return true;
}

bool hostname_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n && s[n - 1] == '.')
        n--;
    return scan(s, n, NULL);
}

bool hostname_normalize(const char *s, size_t len, char *out, size_t cap)
{
    if (!s || !out)
        return false;
    size_t n = len;
    if (n && s[n - 1] == '.')
        n--;
    if (n >= cap)
        return false;
    return scan(s, n, out);
}
