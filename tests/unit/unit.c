/* unit — see unit.h. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

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

char *unit_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1))) {
        size_t got = fread(buf, 1, (size_t)size, f);
        buf[got] = '\0';
        if (len)
            *len = got;
    }
    fclose(f);
    return buf;
}
