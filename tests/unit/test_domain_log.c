/* Unit tests: domain_log (per-domain event log files: write, rotate, gzip, retain,
 * list, read back, validate client input). Runs in a mkdtemp directory; the clock is
 * a test hook; waits use domain_log_sync() (no sleeps). */
#include "sinks/domain_log.h"
#include "sinks/domain_log_internal.h"
#include "unit.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SYNC_MS 10000

static _Atomic int64_t fake_now_ms;

static int64_t fake_now(void)
{
    return atomic_load(&fake_now_ms);
}

/* Sets the fake clock to `date` (YYYY-MM-DD) plus `hour` hours, UTC. */
static void set_clock(const char *date, int hour)
{
    int64_t day = 0;
    if (!dl_parse_date(date, &day))
        abort();
    atomic_store(&fake_now_ms, day * 86400000 + (int64_t)hour * 3600000);
}

static char root[256]; /* mkdtemp under TMPDIR; short so paths below always fit */

static const char *path_of(char *buf, const char *a, const char *b, const char *c)
{
    snprintf(buf, PATH_MAX, "%s/%s%s%s%s%s", root, a, b ? "/" : "", b ? b : "", c ? "/" : "",
             c ? c : "");
    return buf;
}

static bool exists(const char *a, const char *b, const char *c)
{
    char p[PATH_MAX];
    return access(path_of(p, a, b, c), F_OK) == 0;
}

/* Whole file into a static buffer ("" when missing). */
static const char *slurp(const char *a, const char *b, const char *c)
{
    static char buf[8192];
    char p[PATH_MAX];
    buf[0] = '\0';
    FILE *f = fopen(path_of(p, a, b, c), "rb");
    if (!f)
        return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void put_file(const char *a, const char *b, const char *c, const char *content)
{
    char p[PATH_MAX];
    FILE *f = fopen(path_of(p, a, b, c), "wb");
    if (!f)
        abort();
    fputs(content, f);
    fclose(f);
}

static void put_gz(const char *a, const char *b, const char *c, const char *content)
{
    char p[PATH_MAX];
    gzFile g = gzopen(path_of(p, a, b, c), "wb");
    if (!g)
        abort();
    gzputs(g, content);
    gzclose(g);
}

static void make_dir(const char *a, const char *b)
{
    char p[PATH_MAX];
    if (mkdir(path_of(p, a, b, NULL), 0750) != 0 && errno != EEXIST)
        abort();
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Collects lines as "a|b|c|". */
struct lines {
    char text[8192];
    size_t count;
};

static bool collect(void *ctx, const char *line, size_t len)
{
    struct lines *l = ctx;
    size_t used = strlen(l->text);
    if (used + len + 2 < sizeof l->text) {
        memcpy(l->text + used, line, len);
        l->text[used + len] = '|';
        l->text[used + len + 1] = '\0';
    }
    l->count++;
    return true;
}

static int read_lines(const char *dir, const char *domain, const char *date, size_t skip,
                      size_t max, struct lines *l, struct domain_log_read_result *res)
{
    memset(l, 0, sizeof *l);
    return domain_log_read_day(dir, domain, date, skip, max, collect, l, res);
}

static struct domain_log *open_log(const char *sub, struct domain_log_options o)
{
    static char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", root, sub);
    o.dir = dir;
    o.now_ms = fake_now;
    return domain_log_new(&o);
}

static void test_names_and_dates(void)
{
    char out[DOMAIN_LOG_NAME_MAX + 1];
    domain_log_sanitize("Example.COM", out, sizeof out);
    CHECK_STR(out, "example_com");
    domain_log_sanitize("a/b\\c d-e_f", out, sizeof out);
    CHECK_STR(out, "a_b_c_d-e_f");
    domain_log_sanitize("..", out, sizeof out);
    CHECK_STR(out, "__");
    domain_log_sanitize("\xc3\xbc.vn", out, sizeof out);
    CHECK_STR(out, "___vn");
    CHECK_INT(domain_log_sanitize(NULL, out, sizeof out), 7);
    CHECK_STR(out, "default");
    domain_log_sanitize("", out, sizeof out);
    CHECK_STR(out, "default");
    char longname[400];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_INT(domain_log_sanitize(longname, out, sizeof out), DOMAIN_LOG_NAME_MAX);

    CHECK(domain_log_valid_date("2026-02-28"));
    CHECK(domain_log_valid_date("2024-02-29"));
    CHECK(domain_log_valid_date("2000-02-29"));
    CHECK(!domain_log_valid_date("1900-02-29"));
    CHECK(!domain_log_valid_date("2026-02-30"));
    CHECK(!domain_log_valid_date("2026-1-01"));
    CHECK(!domain_log_valid_date("abcd-ef-gh"));
    CHECK(!domain_log_valid_date("2026-13-01"));
    CHECK(!domain_log_valid_date("2026-00-10"));
    CHECK(!domain_log_valid_date("2026-04-31"));
    CHECK(!domain_log_valid_date("2026-01-011"));
    CHECK(!domain_log_valid_date("2026/01/01"));
    CHECK(!domain_log_valid_date(""));
    CHECK(!domain_log_valid_date(NULL));

    CHECK_INT(domain_log_check_domain("../etc", 6, out, sizeof out), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(domain_log_check_domain("a/b", 3, out, sizeof out), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(domain_log_check_domain("..", 2, out, sizeof out), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(domain_log_check_domain(".", 1, out, sizeof out), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(domain_log_check_domain("a\\b", 3, out, sizeof out), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(domain_log_check_domain("a\0b", 3, out, sizeof out), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(domain_log_check_domain("a\nb", 3, out, sizeof out), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(domain_log_check_domain("", 0, out, sizeof out), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(domain_log_check_domain(longname, 300, out, sizeof out), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(domain_log_check_domain("Example.com", 11, out, sizeof out), DOMAIN_LOG_OK);
    CHECK_STR(out, "example_com");
    CHECK_INT(domain_log_check_domain("example_com", 11, out, sizeof out), DOMAIN_LOG_OK);
    CHECK_STR(out, "example_com");

    struct dl_name nm;
    CHECK(dl_parse_name("2026-03-01.log", &nm) && nm.index == 0 && !nm.gz && !nm.tmp);
    CHECK(dl_parse_name("2026-03-01.12.log.gz", &nm) && nm.index == 12 && nm.gz && !nm.tmp);
    CHECK(dl_parse_name("2026-03-01.3.log.gz.tmp", &nm) && nm.index == 3 && nm.tmp);
    CHECK(!dl_parse_name("2026-03-01.01.log", &nm));
    CHECK(!dl_parse_name("2026-02-30.log", &nm));
    CHECK(!dl_parse_name("2026-03-01.log.bak", &nm));
    CHECK(!dl_parse_name("notes.txt", &nm));
    char date[DOMAIN_LOG_DATE_LEN + 1];
    int64_t day = 0;
    CHECK(dl_parse_date("2026-03-01", &day));
    dl_format_day(day, date);
    CHECK_STR(date, "2026-03-01");
    CHECK_INT(dl_day_of_ms(-1), -1);
    CHECK_STR(domain_log_strerror(DOMAIN_LOG_NO_DATE), "no logs for this date");
}

static void test_write(void)
{
    set_clock("2026-03-01", 10);
    struct domain_log *dl = open_log("basic", (struct domain_log_options){0});
    CHECK(dl != NULL);
    if (!dl)
        return;
    CHECK(domain_log_write(dl, "example.com", "{\"a\":1}"));
    CHECK(domain_log_write(dl, NULL, "{\"b\":1}"));
    CHECK(domain_log_write(dl, "", "{\"b\":2}"));
    CHECK(domain_log_write(dl, "Other.ORG", "{\"c\":1}"));
    CHECK(domain_log_write(dl, "example.com", "{\"a\":2}\r\n"));
    CHECK(domain_log_write(dl, "example.com", "{\"a\":\n3}"));
    CHECK(!domain_log_write(dl, "example.com", ""));
    CHECK(!domain_log_write(dl, "example.com", "\n"));
    CHECK(!domain_log_write(dl, "example.com", NULL));
    CHECK(!domain_log_write(NULL, "example.com", "{}"));
    CHECK(domain_log_sync(dl, SYNC_MS));
    CHECK_STR(slurp("basic", "example_com", "2026-03-01.log"),
              "{\"a\":1}\n{\"a\":2}\n{\"a\": 3}\n");
    CHECK_STR(slurp("basic", "default", "2026-03-01.log"), "{\"b\":1}\n{\"b\":2}\n");
    CHECK_STR(slurp("basic", "other_org", "2026-03-01.log"), "{\"c\":1}\n");
    CHECK_STR(domain_log_dir(dl) + strlen(root), "/basic");
    struct domain_log_stats st;
    domain_log_get_stats(dl, &st);
    CHECK_INT(st.written, 6);
    CHECK_INT(st.dropped, 2);
    CHECK_INT(st.errors, 0);
    CHECK_INT(st.queued, 0);
    domain_log_free(dl);

    /* Reopening appends to today's file. */
    dl = open_log("basic", (struct domain_log_options){.max_line_bytes = 16});
    CHECK(domain_log_write(dl, "example.com", "{\"a\":4}"));
    CHECK(!domain_log_write(dl, "example.com", "{\"too\":\"longlong\"}"));
    CHECK(domain_log_write(dl, "example.com", "{\"sixteen\":\"16\"}\n"));
    domain_log_free(dl); /* drains */
    CHECK_STR(slurp("basic", "example_com", "2026-03-01.log"),
              "{\"a\":1}\n{\"a\":2}\n{\"a\": 3}\n{\"a\":4}\n{\"sixteen\":\"16\"}\n");
    domain_log_free(NULL);

    struct domain_log_options bad = {.dir = ""};
    CHECK(domain_log_new(&bad) == NULL);
    bad = (struct domain_log_options){.dir = root, .max_file_bytes = 10};
    CHECK(domain_log_new(&bad) == NULL);
}

static void test_rotation(void)
{
    set_clock("2026-03-02", 0);
    struct domain_log *dl = open_log("rot", (struct domain_log_options){.max_file_bytes = 100});
    CHECK(dl != NULL);
    if (!dl)
        return;
    for (int i = 0; i < 10; i++) {
        char line[64];
        snprintf(line, sizeof line, "{\"n\":%02d,\"pad\":\"xxxxxxxxxxxx\"}", i); /* 29 + \n */
        CHECK_INT(strlen(line), 29);
        CHECK(domain_log_write(dl, "r.com", line));
        if (i == 4) /* two batches: rotation works across them too */
            CHECK(domain_log_sync(dl, SYNC_MS));
    }
    CHECK(domain_log_sync(dl, SYNC_MS));
    struct domain_log_stats st;
    domain_log_get_stats(dl, &st);
    CHECK_INT(st.rotations, 3);
    CHECK_INT(st.compressions, 3);
    CHECK_INT(st.written, 10);
    CHECK(exists("rot", "r_com", "2026-03-02.1.log.gz"));
    CHECK(!exists("rot", "r_com", "2026-03-02.1.log"));
    CHECK(exists("rot", "r_com", "2026-03-02.2.log.gz"));
    CHECK(exists("rot", "r_com", "2026-03-02.3.log.gz"));
    CHECK(!exists("rot", "r_com", "2026-03-02.4.log.gz"));
    CHECK_STR(slurp("rot", "r_com", "2026-03-02.log"), "{\"n\":09,\"pad\":\"xxxxxxxxxxxx\"}\n");

    char dir[PATH_MAX];
    path_of(dir, "rot", NULL, NULL);
    struct lines l;
    struct domain_log_read_result res;
    CHECK_INT(read_lines(dir, "r.com", "2026-03-02", 0, 0, &l, &res), DOMAIN_LOG_OK);
    CHECK_INT(res.lines, 10);
    CHECK(!res.more);
    CHECK(strncmp(l.text, "{\"n\":00,", 8) == 0);
    CHECK(strstr(l.text, "{\"n\":09,") != NULL &&
          strstr(l.text, "{\"n\":08,") < strstr(l.text, "{\"n\":09,"));
    CHECK_INT(read_lines(dir, "r_com", "2026-03-02", 2, 3, &l, &res), DOMAIN_LOG_OK);
    CHECK_INT(res.lines, 3);
    CHECK(res.more);
    CHECK(strncmp(l.text, "{\"n\":02,", 8) == 0 && strstr(l.text, "{\"n\":04,") != NULL &&
          strstr(l.text, "{\"n\":05,") == NULL);
    CHECK_INT(read_lines(dir, "r.com", "2026-03-02", 8, 5, &l, &res), DOMAIN_LOG_OK);
    CHECK_INT(res.lines, 2);
    CHECK(!res.more);
    CHECK_INT(domain_log_read_day(dir, "r.com", "2026-03-02", 0, 0, NULL, NULL, &res),
              DOMAIN_LOG_OK);
    CHECK_INT(res.lines, 10); /* no callback: counts only */
    domain_log_free(dl);
}

static void test_day_change(void)
{
    set_clock("2026-03-03", 23);
    struct domain_log *dl = open_log("day", (struct domain_log_options){0});
    CHECK(dl != NULL);
    if (!dl)
        return;
    CHECK(domain_log_write(dl, "d.com", "{\"day\":1,\"i\":1}"));
    CHECK(domain_log_write(dl, "d.com", "{\"day\":1,\"i\":2}"));
    CHECK(domain_log_sync(dl, SYNC_MS));
    CHECK(exists("day", "d_com", "2026-03-03.log"));

    set_clock("2026-03-04", 0);
    CHECK(domain_log_sync(dl, SYNC_MS));
    CHECK(exists("day", "d_com", "2026-03-03.log.gz"));
    CHECK(!exists("day", "d_com", "2026-03-03.log"));
    CHECK(domain_log_write(dl, "d.com", "{\"day\":2}"));
    CHECK(domain_log_sync(dl, SYNC_MS));

    /* The clock steps back: lines stay on the latest day. */
    set_clock("2026-03-03", 12);
    CHECK(domain_log_write(dl, "d.com", "{\"day\":2,\"late\":true}"));
    CHECK(domain_log_sync(dl, SYNC_MS));
    CHECK(!exists("day", "d_com", "2026-03-03.log"));
    CHECK_STR(slurp("day", "d_com", "2026-03-04.log"), "{\"day\":2}\n{\"day\":2,\"late\":true}\n");

    char dir[PATH_MAX];
    path_of(dir, "day", NULL, NULL);
    struct lines l;
    CHECK_INT(read_lines(dir, "d.com", "2026-03-03", 0, 0, &l, NULL), DOMAIN_LOG_OK);
    CHECK_STR(l.text, "{\"day\":1,\"i\":1}|{\"day\":1,\"i\":2}|");

    struct domain_log_listing ls;
    CHECK_INT(domain_log_list(dir, "d.com", &ls), DOMAIN_LOG_OK);
    CHECK_INT(ls.count, 1);
    if (ls.count == 1) {
        CHECK_STR(ls.domains[0].name, "d_com");
        CHECK_INT(ls.domains[0].day_count, 2);
        CHECK_STR(ls.domains[0].days[0].date, "2026-03-03");
        CHECK_STR(ls.domains[0].days[1].date, "2026-03-04");
        CHECK_INT(ls.domains[0].days[0].files, 1);
        CHECK(ls.domains[0].days[0].bytes > 0);
    }
    domain_log_listing_clear(&ls);
    struct domain_log_stats st;
    domain_log_get_stats(dl, &st);
    CHECK_INT(st.compressions, 1);
    CHECK_INT(st.errors, 0);
    domain_log_free(dl);
}

static void test_retention(void)
{
    make_dir("ret", NULL);
    make_dir("ret", "keep_com");
    make_dir("ret", "gone_com");
    put_gz("ret", "keep_com", "2026-02-01.log.gz", "old\n");    /* 58 days: deleted */
    put_file("ret", "keep_com", "2026-02-28.log", "31 days\n"); /* deleted */
    put_file("ret", "keep_com", "2026-03-01.log", "30 days\n"); /* kept, gzipped */
    for (int i = 1; i <= 5; i++) {
        char name[32], content[32];
        snprintf(name, sizeof name, "2026-03-30.%d.log", i);
        snprintf(content, sizeof content, "piece %d\n", i);
        put_file("ret", "keep_com", name, content);
    }
    put_file("ret", "keep_com", "2026-03-30.log", "base\n");
    put_file("ret", "keep_com", "2026-03-30.4.log.gz.tmp", "junk");
    put_file("ret", "keep_com", "2026-03-31.log", "today\n");
    put_file("ret", "keep_com", "notes.txt", "not ours\n");
    put_file("ret", "gone_com", "2026-01-01.log", "old\n");

    set_clock("2026-03-31", 12);
    struct domain_log *dl = open_log("ret", (struct domain_log_options){.max_backups = 2});
    CHECK(dl != NULL);
    if (!dl)
        return;
    CHECK(domain_log_sync(dl, SYNC_MS));
    CHECK(!exists("ret", "keep_com", "2026-02-01.log.gz"));
    CHECK(!exists("ret", "keep_com", "2026-02-28.log"));
    CHECK(exists("ret", "keep_com", "2026-03-01.log.gz"));
    CHECK(!exists("ret", "keep_com", "2026-03-01.log"));
    CHECK(!exists("ret", "keep_com", "2026-03-30.1.log"));
    CHECK(!exists("ret", "keep_com", "2026-03-30.2.log"));
    CHECK(!exists("ret", "keep_com", "2026-03-30.3.log"));
    CHECK(exists("ret", "keep_com", "2026-03-30.4.log.gz"));
    CHECK(exists("ret", "keep_com", "2026-03-30.5.log.gz"));
    CHECK(exists("ret", "keep_com", "2026-03-30.log.gz"));
    CHECK(!exists("ret", "keep_com", "2026-03-30.4.log.gz.tmp"));
    CHECK_STR(slurp("ret", "keep_com", "2026-03-31.log"), "today\n");
    CHECK(exists("ret", "keep_com", "notes.txt"));
    CHECK(!exists("ret", "gone_com", NULL));
    struct domain_log_stats st;
    domain_log_get_stats(dl, &st);
    CHECK_INT(st.removed, 6);
    CHECK_INT(st.compressions, 4);

    char dir[PATH_MAX];
    path_of(dir, "ret", NULL, NULL);
    struct lines l;
    CHECK_INT(read_lines(dir, "keep.com", "2026-03-30", 0, 0, &l, NULL), DOMAIN_LOG_OK);
    CHECK_STR(l.text, "piece 4|piece 5|base|");

    /* The hourly sweep (by the clock hook) catches files that appear later. */
    put_file("ret", "keep_com", "2026-01-15.log", "old\n");
    set_clock("2026-03-31", 13);
    CHECK(domain_log_sync(dl, SYNC_MS));
    CHECK(!exists("ret", "keep_com", "2026-01-15.log"));
    domain_log_free(dl);
}

static void test_list_and_errors(void)
{
    char dir[PATH_MAX], target[PATH_MAX], link[PATH_MAX];
    path_of(dir, "basic", NULL, NULL);
    put_file("basic", "file.txt", NULL, "x");
    make_dir("basic", "Bad.Name");
    put_file("basic", "Bad.Name", "2026-03-01.log", "x\n");
    make_dir("basic", "empty_com");
    CHECK(symlink(path_of(target, "basic", "example_com", NULL),
                  path_of(link, "basic", "link_com", NULL)) == 0);

    struct domain_log_listing ls;
    CHECK_INT(domain_log_list(dir, NULL, &ls), DOMAIN_LOG_OK);
    CHECK_INT(ls.count, 3);
    if (ls.count == 3) {
        CHECK_STR(ls.domains[0].name, "default");
        CHECK_STR(ls.domains[1].name, "example_com");
        CHECK_STR(ls.domains[2].name, "other_org");
        CHECK_INT(ls.domains[1].day_count, 1);
        CHECK_STR(ls.domains[1].days[0].date, "2026-03-01");
    }
    CHECK(!ls.truncated);
    domain_log_listing_clear(&ls);
    CHECK_INT(domain_log_list(dir, "nosuch.com", &ls), DOMAIN_LOG_NO_DOMAIN);
    CHECK_INT(domain_log_list(dir, "empty.com", &ls), DOMAIN_LOG_NO_DOMAIN);
    CHECK_INT(domain_log_list(dir, "link.com", &ls), DOMAIN_LOG_NO_DOMAIN);
    CHECK_INT(domain_log_list(dir, "../etc", &ls), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(ls.count, 0);
    path_of(target, "missing", NULL, NULL);
    CHECK_INT(domain_log_list(target, NULL, &ls), DOMAIN_LOG_OK);
    CHECK_INT(ls.count, 0);

    struct lines l;
    const char *d = "2026-03-01";
    CHECK_INT(read_lines(dir, "../etc", d, 0, 0, &l, NULL), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(read_lines(dir, "a/b", d, 0, 0, &l, NULL), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(read_lines(dir, "..", d, 0, 0, &l, NULL), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(read_lines(dir, NULL, d, 0, 0, &l, NULL), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(read_lines(dir, "../etc", "bad", 0, 0, &l, NULL), DOMAIN_LOG_BAD_DOMAIN);
    CHECK_INT(read_lines(dir, "example.com", "2026-02-30", 0, 0, &l, NULL), DOMAIN_LOG_BAD_DATE);
    CHECK_INT(read_lines(dir, "example.com", "2026-1-01", 0, 0, &l, NULL), DOMAIN_LOG_BAD_DATE);
    CHECK_INT(read_lines(dir, "example.com", "abcd-ef-gh", 0, 0, &l, NULL), DOMAIN_LOG_BAD_DATE);
    CHECK_INT(read_lines(dir, "example.com", "../../x.log", 0, 0, &l, NULL), DOMAIN_LOG_BAD_DATE);
    CHECK_INT(read_lines(dir, "nosuch.com", d, 0, 0, &l, NULL), DOMAIN_LOG_NO_DOMAIN);
    CHECK_INT(read_lines(dir, "link.com", d, 0, 0, &l, NULL), DOMAIN_LOG_NO_DOMAIN);
    CHECK_INT(read_lines(dir, "example.com", "2026-03-02", 0, 0, &l, NULL), DOMAIN_LOG_NO_DATE);
    CHECK_INT(read_lines(dir, "Example.COM", d, 0, 0, &l, NULL), DOMAIN_LOG_OK);
    CHECK_INT(l.count, 5);
}

static void test_read_edge_cases(void)
{
    char dir[PATH_MAX];
    path_of(dir, "edge", NULL, NULL);
    make_dir("edge", NULL);
    make_dir("edge", "e_com");
    /* A piece present both plain and gzipped (a crash mid-compression) is read once;
     * an unterminated last line is left out. */
    put_file("edge", "e_com", "2026-03-05.1.log", "a\n");
    put_gz("edge", "e_com", "2026-03-05.1.log.gz", "a\n");
    put_file("edge", "e_com", "2026-03-05.log", "b\nc");
    put_file("edge", "e_com", "2026-03-05.2.log.gz.tmp", "junk");
    struct lines l;
    struct domain_log_read_result res;
    CHECK_INT(read_lines(dir, "e.com", "2026-03-05", 0, 0, &l, &res), DOMAIN_LOG_OK);
    CHECK_STR(l.text, "a|b|");
    CHECK_INT(res.damaged, 0);

    /* A truncated gzip file gives what it can and is reported as damaged. */
    char many[4096] = "";
    for (int i = 0; i < 200; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "line %03d\n", i);
    put_gz("edge", "e_com", "2026-03-06.log.gz", many);
    char p[PATH_MAX];
    CHECK(truncate(path_of(p, "edge", "e_com", "2026-03-06.log.gz"), 120) == 0);
    CHECK_INT(read_lines(dir, "e.com", "2026-03-06", 0, 0, &l, &res), DOMAIN_LOG_OK);
    CHECK_INT(res.damaged, 1);
    CHECK(res.lines < 200);
}

/* A deadline stops a read after the first 64 KiB; without one the whole day is read. */
static void test_read_deadline(void)
{
    char dir[PATH_MAX];
    path_of(dir, "slow", NULL, NULL);
    make_dir("slow", NULL);
    make_dir("slow", "s_com");
    size_t n = 20000, width = 16; /* 320 KB of lines: several 64 KiB chunks */
    char *text = malloc(n * width + 1);
    if (!text)
        abort();
    for (size_t i = 0; i < n; i++)
        snprintf(text + i * width, width + 1, "line %010zu\n", i);
    put_file("slow", "s_com", "2026-03-07.log", text);
    put_file("slow", "s_com", "2026-03-07.1.log", text);
    free(text);
    struct domain_log_read_result res;
    CHECK_INT(domain_log_read_day_until(dir, "s.com", "2026-03-07", 0, 0, 1, NULL, NULL, &res),
              DOMAIN_LOG_OK);
    CHECK(res.timed_out);
    CHECK(res.lines >= 65536 / width - 1 && res.lines < n);
    CHECK_INT(res.seen, res.lines);
    /* While still skipping: seen says how far it got. */
    CHECK_INT(domain_log_read_day_until(dir, "s.com", "2026-03-07", 30000, 0, 1, NULL, NULL, &res),
              DOMAIN_LOG_OK);
    CHECK(res.timed_out);
    CHECK_INT(res.lines, 0);
    CHECK(res.seen > 0 && res.seen < 30000);
    /* Skipping ends within what is read: at least one line is passed on, even late. */
    size_t first = 65536 / width;
    CHECK_INT(domain_log_read_day_until(dir, "s.com", "2026-03-07", first, 0, 1, NULL, NULL, &res),
              DOMAIN_LOG_OK);
    CHECK(res.timed_out);
    CHECK(res.lines >= 1);
    CHECK_INT(res.seen, first + res.lines);
    CHECK_INT(domain_log_read_day_until(dir, "s.com", "2026-03-07", 30000, 0, 0, NULL, NULL, &res),
              DOMAIN_LOG_OK);
    CHECK(!res.timed_out);
    CHECK_INT(res.lines, 2 * n - 30000);
    CHECK_INT(res.seen, 2 * n);
}

static void test_retire_old_base(void)
{
    /* Today's base piece is already gzipped (the clock went back across a restart):
     * it becomes the newest rotated piece and a fresh base piece starts. */
    make_dir("retire", NULL);
    make_dir("retire", "x_com");
    put_gz("retire", "x_com", "2026-03-07.1.log.gz", "first\n");
    put_gz("retire", "x_com", "2026-03-07.log.gz", "second\n");
    set_clock("2026-03-07", 8);
    struct domain_log *dl = open_log("retire", (struct domain_log_options){0});
    CHECK(dl != NULL);
    if (!dl)
        return;
    CHECK(domain_log_write(dl, "x.com", "third"));
    CHECK(domain_log_sync(dl, SYNC_MS));
    CHECK(exists("retire", "x_com", "2026-03-07.2.log.gz"));
    CHECK(!exists("retire", "x_com", "2026-03-07.log.gz"));
    char dir[PATH_MAX];
    struct lines l;
    CHECK_INT(read_lines(path_of(dir, "retire", NULL, NULL), "x.com", "2026-03-07", 0, 0, &l, NULL),
              DOMAIN_LOG_OK);
    CHECK_STR(l.text, "first|second|third|");
    domain_log_free(dl);
}

static void test_lru(void)
{
    set_clock("2026-03-08", 8);
    struct domain_log *dl = open_log("lru", (struct domain_log_options){.max_open_files = 2});
    CHECK(dl != NULL);
    if (!dl)
        return;
    static const char *const domains[] = {"a.com", "b.com", "c.com", "d.com", "e.com"};
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 5; i++) {
            char line[32];
            snprintf(line, sizeof line, "{\"r\":%d}", round);
            domain_log_write(dl, domains[i], line);
        }
        CHECK(domain_log_sync(dl, SYNC_MS));
    }
    CHECK_STR(slurp("lru", "a_com", "2026-03-08.log"), "{\"r\":0}\n{\"r\":1}\n{\"r\":2}\n");
    CHECK_STR(slurp("lru", "e_com", "2026-03-08.log"), "{\"r\":0}\n{\"r\":1}\n{\"r\":2}\n");
    struct domain_log_stats st;
    domain_log_get_stats(dl, &st);
    CHECK_INT(st.written, 15);
    domain_log_free(dl);
}

static void test_queue_full(void)
{
    set_clock("2026-03-09", 8);
    struct domain_log *dl = open_log("full", (struct domain_log_options){.queue_capacity = 4});
    CHECK(dl != NULL);
    if (!dl)
        return;
    domain_log_set_paused(dl, true);
    for (int i = 0; i < 4; i++)
        CHECK(domain_log_write(dl, "q.com", "{}"));
    CHECK(!domain_log_write(dl, "q.com", "{}"));
    struct domain_log_stats st;
    domain_log_get_stats(dl, &st);
    CHECK_INT(st.dropped, 1);
    CHECK_INT(st.queued, 4);
    CHECK_INT(st.written, 0);
    domain_log_set_paused(dl, false);
    CHECK(domain_log_sync(dl, SYNC_MS));
    domain_log_get_stats(dl, &st);
    CHECK_INT(st.written, 4);
    CHECK_INT(st.queued, 0);
    domain_log_free(dl);

    /* The byte bound; and domain_log_free() drains a paused queue. */
    dl = open_log("full", (struct domain_log_options){.queue_max_bytes = 20});
    CHECK(dl != NULL);
    if (!dl)
        return;
    domain_log_set_paused(dl, true);
    CHECK(domain_log_write(dl, "b.com", "{\"x\":\"12\"}"));
    CHECK(domain_log_write(dl, "b.com", "{\"x\":\"34\"}"));
    CHECK(!domain_log_write(dl, "b.com", "{}"));
    domain_log_free(dl);
    CHECK_STR(slurp("full", "b_com", "2026-03-09.log"), "{\"x\":\"12\"}\n{\"x\":\"34\"}\n");
}

#define CONC_THREADS 4
#define CONC_LINES 2000

static void *conc_writer(void *arg)
{
    struct domain_log *dl = arg;
    static atomic_int next_id;
    int t = atomic_fetch_add(&next_id, 1);
    for (int i = 0; i < CONC_LINES; i++) {
        char line[64];
        snprintf(line, sizeof line, "{\"t\":%d,\"i\":%d}", t, i);
        if (!domain_log_write(dl, "conc.com", line))
            abort(); /* the queue holds every line of this test */
    }
    return NULL;
}

struct conc_check {
    int next[CONC_THREADS];
    int bad;
};

static bool conc_line(void *ctx, const char *line, size_t len)
{
    struct conc_check *c = ctx;
    int t = -1, i = -1;
    (void)len;
    if (sscanf(line, "{\"t\":%d,\"i\":%d}", &t, &i) != 2 || t < 0 || t >= CONC_THREADS ||
        i != c->next[t])
        c->bad++;
    else
        c->next[t]++;
    return true;
}

static void test_concurrent(void)
{
    set_clock("2026-03-10", 8);
    struct domain_log *dl =
        open_log("conc", (struct domain_log_options){.max_file_bytes = 4096, .max_backups = -1});
    CHECK(dl != NULL);
    if (!dl)
        return;
    pthread_t th[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++)
        pthread_create(&th[i], NULL, conc_writer, dl);
    for (int i = 0; i < CONC_THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK(domain_log_sync(dl, SYNC_MS));
    struct domain_log_stats st;
    domain_log_get_stats(dl, &st);
    CHECK_INT(st.written, CONC_THREADS * CONC_LINES);
    CHECK_INT(st.dropped + st.lost + st.errors, 0);
    CHECK(st.rotations > 10);
    CHECK_INT(st.compressions, st.rotations);
    char dir[PATH_MAX];
    struct conc_check c = {0};
    struct domain_log_read_result res;
    CHECK_INT(domain_log_read_day(path_of(dir, "conc", NULL, NULL), "conc.com", "2026-03-10", 0, 0,
                                  conc_line, &c, &res),
              DOMAIN_LOG_OK);
    CHECK_INT(res.lines, CONC_THREADS * CONC_LINES);
    CHECK_INT(c.bad, 0);
    domain_log_free(dl);
}

int main(void)
{
    snprintf(root, sizeof root, "%s/eh_domain_log_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_names_and_dates();
    test_write();
    test_rotation();
    test_day_change();
    test_retention();
    test_list_and_errors();
    test_read_edge_cases();
    test_read_deadline();
    test_retire_old_base();
    test_lru();
    test_queue_full();
    test_concurrent();
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return unit_done();
}
