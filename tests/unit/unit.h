/*
 * unit — a tiny TAP test harness for the unit tests. Each CHECK prints one TAP line;
 * unit_done() prints the plan and returns the exit status.
 */
#ifndef EVENTHUB_UNIT_H
#define EVENTHUB_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

void unit_check(bool ok, const char *expr, const char *file, int line);
void unit_check_str(const char *got, const char *want, const char *expr, const char *file,
                    int line);
void unit_check_int(long long got, long long want, const char *expr, const char *file, int line);
int unit_done(void);
/* The whole file, NUL-terminated (malloc'd; *len without the NUL, may be NULL), or NULL. */
char *unit_read_file(const char *path, size_t *len);

#define CHECK(expr) unit_check((expr), #expr, __FILE__, __LINE__)
#define CHECK_STR(got, want) unit_check_str((got), (want), #got, __FILE__, __LINE__)
#define CHECK_INT(got, want)                                                                       \
    unit_check_int((long long)(got), (long long)(want), #got, __FILE__, __LINE__)

#endif
