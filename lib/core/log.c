/*
 * log — see log.h. Owns the output file descriptor; any thread writes.
 */
#include "core/log.h"

#include "core/clock.h"
#include "core/json_scan.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum log_level log_current_level = LOG_LEVEL_INFO;
static int log_fd = STDERR_FILENO;
static pthread_mutex_t ratelimit_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

bool log_level_parse(const char *name, enum log_level *out)
{
    if (!name)
        return false;
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    if (strcmp(name, "warning") == 0) {
        *out = LOG_LEVEL_WARN;
        return true;
    }
    return false;
}

void log_set_level(enum log_level level)
{
    log_current_level = level;
}

int log_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void log_close(void)
{
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = STDERR_FILENO;
}

/*
 * Appends `s` JSON-escaped to buf[*len..cap); truncates at cap, never inside a UTF-8
 * sequence. A byte that is not part of well-formed UTF-8 becomes U+FFFD, so a line
 * is always valid JSON whatever a message quotes.
 */
static void append_escaped(char *buf, size_t *len, size_t cap, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)text;
    size_t left = strlen(text);
    while (left > 0 && *len + 7 < cap) {
        unsigned char c = *s;
        size_t n = 1;
        if (c == '"' || c == '\\') {
            buf[(*len)++] = '\\';
            buf[(*len)++] = (char)c;
        } else if (c == '\n') {
            buf[(*len)++] = '\\';
            buf[(*len)++] = 'n';
        } else if (c < 0x20) {
            memcpy(buf + *len, "\\u00", 4);
            *len += 4;
            buf[(*len)++] = hex[c >> 4];
            buf[(*len)++] = hex[c & 15];
        } else if (c < 0x80) {
            buf[(*len)++] = (char)c;
        } else if ((n = json_utf8_sequence(s, left)) == 0) {
            memcpy(buf + *len, "\xef\xbf\xbd", 3);
            *len += 3;
            n = 1;
        } else {
            memcpy(buf + *len, s, n);
            *len += n;
        }
        s += n;
        left -= n;
    }
}

void log_write(enum log_level level, const char *subsystem, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    char ts[32];
    clock_format_rfc3339_ms(clock_wall_ms(), ts, sizeof ts);

    char line[4608];
    size_t len =
        (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"subsystem\":\"", ts,
                         level_names[level]);
    append_escaped(line, &len, sizeof line - 16, subsystem);
    memcpy(line + len, "\",\"msg\":\"", 9);
    len += 9;
    append_escaped(line, &len, sizeof line - 4, msg);
    memcpy(line + len, "\"}\n", 3);
    len += 3;

    ssize_t off = 0;
    while ((size_t)off < len) {
        ssize_t n = write(log_fd, line + off, len - (size_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        off += n;
    }
}

bool log_ratelimit_ok(struct log_ratelimit *rl, int burst, int64_t interval_ms, int *suppressed)
{
    int64_t now = clock_mono_ms();
    bool ok;
    pthread_mutex_lock(&ratelimit_lock);
    if (now - rl->window_start_ms >= interval_ms) {
        rl->window_start_ms = now;
        rl->count = 0;
    }
    ok = rl->count++ < burst;
    if (ok) {
        if (suppressed)
            *suppressed = rl->suppressed;
        rl->suppressed = 0;
    } else {
        rl->suppressed++;
    }
    pthread_mutex_unlock(&ratelimit_lock);
    return ok;
}
