/* unit — see unit.h. */
#include "unit.h"

#include <stdio.h>

static int checks;
static int failures;

void unit_check(bool ok, const char *expr, const char *file, int line)
{
    checks++;
    if (!ok)
        failures++;
    printf("%s %d - %s (%s:%d)\n", ok ? "ok" : "not ok", checks, expr, file, line);
}

void unit_check_str(const char *got, const char *want, const char *expr, const char *file, int line)
{
    bool ok = (got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0);
    unit_check(ok, expr, file, line);
    if (!ok)
        printf("#   got:  %s\n#   want: %s\n", got ? got : "(null)", want ? want : "(null)");
}

void unit_check_int(long long got, long long want, const char *expr, const char *file, int line)
{
    unit_check(got == want, expr, file, line);
    if (got != want)
        printf("#   got:  %lld\n#   want: %lld\n", got, want);
}

int unit_done(void)
{
    printf("1..%d\n", checks);
    return failures ? 1 : 0;
}
