/* trace_context — see trace_context.h. */
#include "core/trace_context.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static bool hex_run(const char *p, size_t n, bool *all_zero)
{
    *all_zero = true;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        if (c != '0')
            *all_zero = false;
    }
    return true;
}

bool trace_parent_valid(const char *v)
{
    bool zero;
    if (!v || strlen(v) != TRACE_PARENT_LEN || v[2] != '-' || v[35] != '-' || v[52] != '-')
        return false;
    if (strncmp(v, "00", 2) != 0)
        return false; /* version 00 only: its length is the one checked above */
    if (!hex_run(v + 3, 32, &zero) || zero)
        return false;
    if (!hex_run(v + 36, 16, &zero) || zero)
        return false;
    return hex_run(v + 53, 2, &zero);
}

bool trace_state_valid(const char *v)
{
    if (!v)
        return false;
    size_t n = strlen(v);
    if (n == 0 || n > TRACE_STATE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
            return false;
    return true;
}

/* xorshift64*, seeded once per thread from the kernel's generator. */
static uint64_t next_random(void)
{
    static _Thread_local uint64_t state;
    if (!state) {
        if (getrandom(&state, sizeof state, GRND_NONBLOCK) != (ssize_t)sizeof state)
            state = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&state;
        state |= 1;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
}

void trace_parent_child(const char *parent, char out[TRACE_PARENT_LEN + 1])
{
    uint64_t span = 0;
    while (!span) /* all zero is invalid */
        span = next_random();
    snprintf(out, TRACE_PARENT_LEN + 1, "00-%.32s-%016llx-%.2s", parent + 3,
             (unsigned long long)span, parent + 53);
}
