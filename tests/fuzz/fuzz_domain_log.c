/*
 * fuzz_domain_log — a domain's log day read back: domain_log_read_day() over the
 * pieces of one day (rotated .N.log, the base .log, gzip or plain), and each line
 * sorted into the GET /api/logs body by logs_day_line().
 *
 * Byte 0 is the layout: bits 0-1 the number of pieces (1-3); bits 2-4, per piece, gzip
 * it (the writer's .log.gz) or not; bit 5 writes the last piece's bytes as they are
 * under a .gz name (a damaged or foreign file). Byte 1 is `skip`, byte 2 `max_lines`
 * (0 = all), byte 3 where the rest is split between pieces. The rest are the lines.
 *
 * What must hold: each line handed over is NUL-terminated at its length and has no
 * '\n'; at most max_lines are handed over; with no skip, no limit and only intact
 * pieces, every '\n'-terminated line arrives (an unterminated tail is dropped); and
 * the API body built from the lines prints as JSON that parses back. The files live
 * in a directory made once per process under $TMPDIR (removed at exit).
 */
#include "sinks/domain_log.h"
#include "core/log.h"
#include "api/logs_api.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DOMAIN "example.com"
#define DATE "2026-11-21"

static char root[256];
static char domain_dir[sizeof root + DOMAIN_LOG_NAME_MAX + 2];

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void cleanup(void)
{
    static const char *const names[] = {DATE ".log",      DATE ".log.gz", DATE ".1.log",
                                        DATE ".1.log.gz", DATE ".2.log",  DATE ".2.log.gz",
                                        "2026-11-20.log"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[sizeof domain_dir + 64];
        snprintf(path, sizeof path, "%s/%s", domain_dir, names[i]);
        unlink(path);
    }
}

static void remove_root(void)
{
    cleanup();
    rmdir(domain_dir);
    rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(LOG_LEVEL_ERROR);
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/fuzz_domain_log.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    check(mkdtemp(root) != NULL);
    char name[DOMAIN_LOG_NAME_MAX + 1];
    domain_log_sanitize(DOMAIN, name, sizeof name);
    snprintf(domain_dir, sizeof domain_dir, "%s/%s", root, name);
    check(mkdir(domain_dir, 0700) == 0);
    atexit(remove_root);
    return 0;
}

static void write_piece(const char *name, const uint8_t *p, size_t n, bool gz)
{
    char path[sizeof domain_dir + 64];
    snprintf(path, sizeof path, "%s/%s", domain_dir, name);
    if (gz) {
        gzFile g = gzopen(path, "wb");
        check(g != NULL);
        check(n == 0 || gzwrite(g, p, (unsigned)n) == (int)n);
        check(gzclose(g) == Z_OK);
        return;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    check(fd >= 0);
    check(write(fd, p, n) == (ssize_t)n);
    close(fd);
}

struct reader {
    struct logs_day *day;
    size_t lines;
};

static bool on_line(void *ctx, const char *line, size_t len)
{
    struct reader *r = ctx;
    check(line[len] == '\0');
    check(memchr(line, '\n', len) == NULL);
    check(len <= DOMAIN_LOG_MAX_LINE_BYTES);
    r->lines++;
    return logs_day_line(r->day, line, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint8_t layout = data[0];
    size_t skip = data[1] % 8, max_lines = data[2] % 16;
    size_t npieces = (size_t)(layout & 3) % 3 + 1;
    const uint8_t *text = data + 4;
    size_t len = size - 4;

    /* Pieces in reading order: .1, .2, then the base piece. */
    static const char *const plain[3][3] = {
        {DATE ".log"}, {DATE ".1.log", DATE ".log"}, {DATE ".1.log", DATE ".2.log", DATE ".log"}};
    size_t cut[4] = {0, 0, 0, len};
    for (size_t i = 1; i < npieces; i++)
        cut[i] = len * (size_t)((data[3] >> (i * 3)) & 7) / 8;
    for (size_t i = 1; i < npieces; i++)
        if (cut[i] < cut[i - 1])
            cut[i] = cut[i - 1];
    cut[npieces] = len;
    size_t expected = 0;
    bool intact = true;
    for (size_t i = 0; i < npieces; i++) {
        const uint8_t *p = text + cut[i];
        size_t n = cut[i + 1] - cut[i];
        bool gz = (layout >> (2 + i)) & 1;
        bool raw_gz = i == npieces - 1 && (layout & 32);
        char name[64];
        snprintf(name, sizeof name, "%s%s", plain[npieces - 1][i], gz || raw_gz ? ".gz" : "");
        write_piece(name, p, n, gz && !raw_gz);
        if (raw_gz)
            intact = false;
        for (size_t k = 0; k < n; k++)
            expected += p[k] == '\n';
    }

    cJSON *o = cJSON_CreateObject();
    struct reader r = {.day = logs_day_new(o, DOMAIN)};
    check(r.day != NULL);
    struct domain_log_read_result res;
    int rc = domain_log_read_day(root, DOMAIN, DATE, skip, max_lines, on_line, &r, &res);
    size_t lines = 0;
    (void)logs_day_finish(r.day, &res, &lines);
    check(rc == DOMAIN_LOG_OK);
    check(res.lines == r.lines && lines == r.lines);
    if (max_lines)
        check(r.lines <= max_lines);
    if (intact && skip == 0 && max_lines == 0)
        check(r.lines + res.long_lines == expected && res.damaged == 0);
    char *json = cJSON_PrintUnformatted(o);
    check(json != NULL);
    cJSON *back = cJSON_Parse(json);
    check(back != NULL);
    cJSON_Delete(back);
    free(json);
    cJSON_Delete(o);
    cleanup();
    return 0;
}
