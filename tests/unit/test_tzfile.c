/*
 * Unit tests: tzfile. glibc's localtime_r (TZ set per zone, this process is
 * single-threaded) is the oracle for the offsets and the printed times: the system's
 * "fat" zone files over 1900..2100, "slim" files (fixtures/tz, footer-driven after 2007)
 * and bare POSIX TZ strings wrapped in hand-built TZif images. Then the edges: UTC and
 * bad names, v1 files, all-year DST (where glibc differs from RFC 8536), malformed
 * headers and footers, every truncation and every single-byte corruption of a file.
 */
#include "core/tzfile.h"
#include "unit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define Y1900 (-2208988800LL)
#define Y1971 31536000LL /* glibc applies a bare TZ string's rules only from 1970 on */
#define Y2100 4102444800LL

/* ---- the glibc oracle ---- */

/* Instants in [from, to) by `step` where tzfile and glibc (TZ=tz) disagree. */
static long mismatches(const struct tzfile *z, const char *tz, int64_t from, int64_t to,
                       int64_t step)
{
    setenv("TZ", tz, 1);
    tzset();
    long bad = 0;
    for (int64_t t = from; t < to; t += step) {
        time_t tt = (time_t)t;
        struct tm tm;
        char want[64], got[TZFILE_TIME_LEN];
        if (!localtime_r(&tt, &tm) || !strftime(want, sizeof want, "%Y-%m-%d %H:%M:%S", &tm))
            return -1;
        int64_t off = tzfile_offset_s(z, t);
        bool ok = tzfile_format(z, t * 1000000 + 999999, got);
        if (off != tm.tm_gmtoff || !ok || strcmp(got, want) != 0) {
            if (bad++ < 3)
                printf("# %s at %" PRId64 ": offset %" PRId64 " \"%s\", glibc %ld \"%s\"\n", tz, t,
                       off, got, (long)tm.tm_gmtoff, want);
        }
    }
    return bad;
}

/* ---- hand-built TZif images ---- */

struct image {
    const int64_t *at; /* transitions */
    const uint8_t *idx;
    size_t n;
    const int32_t *offs; /* local time types */
    size_t ntypes;
    const char *footer; /* NULL: a v1 file */
};

static unsigned char *put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return p + 4;
}

static unsigned char *put_block(unsigned char *p, const struct image *im, bool v2, size_t tsize)
{
    memcpy(p, "TZif", 4);
    p[4] = v2 ? '2' : 0;
    memset(p + 5, 0, 15);
    p += 20;
    const uint32_t counts[6] = {0, 0, 0, (uint32_t)im->n, (uint32_t)im->ntypes, 4};
    for (int i = 0; i < 6; i++)
        p = put32(p, counts[i]);
    for (size_t i = 0; i < im->n; i++) {
        if (tsize == 8)
            p = put32(p, (uint32_t)((uint64_t)im->at[i] >> 32));
        p = put32(p, (uint32_t)im->at[i]);
    }
    for (size_t i = 0; i < im->n; i++)
        *p++ = im->idx[i];
    for (size_t i = 0; i < im->ntypes; i++) {
        p = put32(p, (uint32_t)im->offs[i]);
        *p++ = 0; /* isdst */
        *p++ = 0; /* desigidx */
    }
    memcpy(p, "XYZ", 4);
    return p + 4;
}

/* The image's bytes in buf (4 KiB is plenty); returns the length. */
static size_t build(unsigned char *buf, const struct image *im)
{
    bool v2 = im->footer != NULL;
    unsigned char *p = put_block(buf, im, v2, 4);
    if (v2) {
        p = put_block(p, im, true, 8);
        size_t n = strlen(im->footer);
        *p++ = '\n';
        memcpy(p, im->footer, n);
        p += n;
        *p++ = '\n';
    }
    return (size_t)(p - buf);
}

/* A zone that is only its footer: no transitions, one type (the standard offset). */
static struct tzfile *footer_zone(const char *footer, int32_t std_off, int *err)
{
    unsigned char buf[4096];
    const struct image im = {.offs = &std_off, .ntypes = 1, .footer = footer};
    return tzfile_parse(buf, build(buf, &im), err);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    return (unsigned char *)unit_read_file(path, len);
}

/* ---- tests ---- */

static void test_utc_and_names(void)
{
    int err = 1;
    CHECK(tzfile_load(NULL, &err) == NULL);
    CHECK_INT(err, 0);
    static const char *const utc[] = {"", "UTC", "Etc/UTC"};
    for (size_t i = 0; i < sizeof utc / sizeof utc[0]; i++) {
        err = 1;
        CHECK(tzfile_load(utc[i], &err) == NULL);
        CHECK_INT(err, 0);
    }
    static const struct {
        const char *name;
        int err;
    } bad[] = {
        {"No/Such_Zone", -ENOENT},     {"../../etc/passwd", -EINVAL},
        {"/etc/localtime", -EINVAL},   {"America/../etc", -EINVAL},
        {".hidden", -EINVAL},          {"America", -EINVAL}, /* a directory */
        {"tzdata.zi", -EINVAL},        {"Asia/", -EINVAL},
        {"Asia/Ho Chi Minh", -EINVAL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = 0;
        CHECK(tzfile_load(bad[i].name, &err) == NULL);
        CHECK_INT(err, bad[i].err);
    }
    CHECK(tzfile_load("No/Such_Zone", NULL) == NULL); /* error is optional */

    /* NULL is UTC. */
    char out[TZFILE_TIME_LEN];
    CHECK_INT(tzfile_offset_s(NULL, 1795257146), 0);
    CHECK(tzfile_format(NULL, 1795257146260082, out));
    CHECK_STR(out, "2026-11-21 10:32:26");
    CHECK(tzfile_format(NULL, 0, out));
    CHECK_STR(out, "1970-01-01 00:00:00");
    CHECK(tzfile_format(NULL, -1, out)); /* truncated toward the past */
    CHECK_STR(out, "1969-12-31 23:59:59");
    CHECK(tzfile_format(NULL, 253402300799999999, out));
    CHECK_STR(out, "9999-12-31 23:59:59");
    CHECK(!tzfile_format(NULL, 253402300800000000, out)); /* year 10000 */
    CHECK_STR(out, "");
    CHECK(tzfile_format(NULL, -62167219200000000, out));
    CHECK_STR(out, "0000-01-01 00:00:00");
    CHECK(!tzfile_format(NULL, -62167219200000001, out));
    CHECK(!tzfile_format(NULL, INT64_MAX, out));
    CHECK(!tzfile_format(NULL, INT64_MIN, out));
    tzfile_free(NULL);
}

static void test_known_values(void)
{
    int err = 1;
    struct tzfile *ny = tzfile_load("America/New_York", &err);
    struct tzfile *hcm = tzfile_load("Asia/Ho_Chi_Minh", &err);
    CHECK(ny != NULL && hcm != NULL);
    CHECK_INT(err, 0);
    char out[TZFILE_TIME_LEN];
    CHECK_INT(tzfile_offset_s(ny, 1782907200), -4 * 3600); /* 2026-07-01 12:00 UTC, EDT */
    CHECK_INT(tzfile_offset_s(ny, 1768478400), -5 * 3600); /* 2026-01-15 12:00 UTC, EST */
    CHECK_INT(tzfile_offset_s(ny, 1899356399), -5 * 3600); /* 2030-03-10 06:59:59 UTC */
    CHECK_INT(tzfile_offset_s(ny, 1899356400), -4 * 3600); /* 2030-03-10 07:00:00 UTC */
    CHECK_INT(tzfile_offset_s(ny, 2540289600), -4 * 3600); /* 2050-07-01: past 2037 */
    CHECK(tzfile_format(ny, 1899356400000000, out));
    CHECK_STR(out, "2030-03-10 03:00:00");
    CHECK(tzfile_format(hcm, 1795257146260082, out));
    CHECK_STR(out, "2026-11-21 17:32:26");
    /* Any int64 is a valid instant (no overflow: UBSan watches). */
    int64_t lo = tzfile_offset_s(ny, INT64_MIN), hi = tzfile_offset_s(ny, INT64_MAX);
    CHECK(lo > -6 * 3600 && lo < -4 * 3600); /* local mean time, -4:56:02 */
    CHECK(hi == -4 * 3600 || hi == -5 * 3600);
    tzfile_free(ny);
    tzfile_free(hcm);
}

/* The system's files against glibc, 1900..2100 (fat files: the footer takes over in 2037). */
static void test_system_zones(void)
{
    static const char *const zones[] = {
        "America/New_York",    "Europe/London",     "Europe/Dublin",    "Australia/Sydney",
        "Australia/Lord_Howe", "Asia/Ho_Chi_Minh",  "Asia/Kolkata",     "Asia/Kathmandu",
        "Pacific/Chatham",     "America/St_Johns",  "Asia/Jerusalem",   "America/Nuuk",
        "Africa/Casablanca",   "America/Sao_Paulo", "Antarctica/Troll", "Pacific/Apia",
    };
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        int err = 0;
        struct tzfile *z = tzfile_load(zones[i], &err);
        if (!z)
            printf("# %s: error %d\n", zones[i], err);
        CHECK(z != NULL);
        CHECK_INT(mismatches(z, zones[i], Y1900, Y2100, 19 * 3600 + 13), 0);
        CHECK_INT(mismatches(z, zones[i], 1704067200, 1767225600, 3600), 0); /* 2024-25 */
        tzfile_free(z);
    }
}

/* Slim files: after the last listed change every DST switch comes from the footer. */
static void test_slim_files(void)
{
    static const char *const zones[] = {"America/New_York", "Australia/Sydney", "Europe/Dublin",
                                        "Asia/Jerusalem", "America/Nuuk"};
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tz/slim/%s", FIXTURES_DIR, zones[i]);
        size_t len = 0;
        unsigned char *data = read_file(path, &len);
        int err = 1;
        struct tzfile *z = data ? tzfile_parse(data, len, &err) : NULL;
        CHECK(z != NULL);
        CHECK_INT(err, 0);
        CHECK_INT(mismatches(z, path, Y1900, 7258118400LL /* 2200 */, 13 * 3600 + 7), 0);
        CHECK_INT(mismatches(z, path, 2524608000LL, 2556144000LL, 900), 0); /* 2050 */
        tzfile_free(z);
        free(data);
    }
}

/*
 * Bare POSIX TZ strings (RFC 8536 extensions included) against glibc's own parser, from
 * 1971: for earlier years glibc evaluates such rules as if in 1970.
 */
static void test_footers(void)
{
    static const struct {
        const char *tz;
        int32_t std_off;
    } cases[] = {
        {"EST5EDT,M3.2.0,M11.1.0", -5 * 3600},
        {"AEST-10AEDT,M10.1.0,M4.1.0/3", 10 * 3600},        /* southern */
        {"IST-1GMT0,M10.5.0,M3.5.0/1", 3600},               /* negative DST (Dublin) */
        {"IST-2IDT,M3.4.4/26,M10.5.0", 2 * 3600},           /* hour 26 (Jerusalem) */
        {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", -2 * 3600},     /* negative time (Nuuk) */
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 37800},    /* 30-minute DST */
        {"XST3XDT2:30,M3.5.0/-167,M10.5.0/167", -3 * 3600}, /* the extremes */
        {"XST0XDT,59/0,300/0", 0},                          /* zero-based days count Feb 29 */
        {"XST0XDT,J60/0,J300/0", 0},                        /* Jn days never do */
        {"<+0545>-5:45", 20700},
        {"<-00>0", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int err = 1;
        struct tzfile *z = footer_zone(cases[i].tz, cases[i].std_off, &err);
        if (!z)
            printf("# %s: error %d\n", cases[i].tz, err);
        CHECK(z != NULL);
        CHECK_INT(mismatches(z, cases[i].tz, Y1971, Y2100, 13 * 3600 + 11), 0);
        tzfile_free(z);
    }

    /* All-year DST (RFC 8536 §3.3.1): glibc says EST on New Year's Eve; the RFC says EDT. */
    int err = 1;
    struct tzfile *z = footer_zone("EST5EDT,0/0,J365/25", -5 * 3600, &err);
    CHECK(z != NULL);
    long not_dst = 0;
    for (int64_t t = Y1900; t < Y2100; t += 3 * 3600 + 11)
        not_dst += tzfile_offset_s(z, t) != -4 * 3600;
    for (int64_t t = 1704085200 - 7200; t < 1704085200 + 7200; t++) /* 2024-01-01 05:00 UTC */
        not_dst += tzfile_offset_s(z, t) != -4 * 3600;
    CHECK_INT(not_dst, 0);
    tzfile_free(z);

    /* An empty footer keeps the last offset; so does a v1 file (it has no footer). */
    const int64_t at[] = {1000, 2000};
    const uint8_t idx[] = {1, 2};
    const int32_t offs[] = {3600, 7200, -1800};
    unsigned char buf[4096];
    for (int v1 = 0; v1 < 2; v1++) {
        struct image im = {at, idx, 2, offs, 3, v1 ? NULL : ""};
        z = tzfile_parse(buf, build(buf, &im), &err);
        CHECK(z != NULL);
        CHECK_INT(tzfile_offset_s(z, INT64_MIN), 3600); /* type 0 before the first */
        CHECK_INT(tzfile_offset_s(z, 999), 3600);
        CHECK_INT(tzfile_offset_s(z, 1000), 7200);
        CHECK_INT(tzfile_offset_s(z, 1999), 7200);
        CHECK_INT(tzfile_offset_s(z, 2000), -1800);
        CHECK_INT(tzfile_offset_s(z, INT64_MAX), -1800);
        tzfile_free(z);
    }
}

static void test_malformed(void)
{
    static const char *const bad_footers[] = {
        "EST5EDT", /* DST without a rule */
        "EST",
        "ES5",
        "<AB>5",
        "<A B>5",
        "EST25",
        "EST5:60",
        "EST5EDT,M13.1.0,M11.1.0",
        "EST5EDT,M3.0.0,M11.1.0",
        "EST5EDT,M3.2.7,M11.1.0",
        "EST5EDT,J0,J365",
        "EST5EDT,366,J365",
        "EST5EDT,M3.2.0/168,M11.1.0",
        "EST5EDT,M3.2.0,M11.1.0x",
        "EST5EDT,M3.2.0",
        "EST5EDT,,M11.1.0",
        "EST99999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad_footers / sizeof bad_footers[0]; i++) {
        int err = 0;
        CHECK(footer_zone(bad_footers[i], 0, &err) == NULL);
        CHECK_INT(err, -EBADMSG);
    }

    unsigned char buf[4096];
    const int64_t at[] = {1000, 2000}, at_desc[] = {2000, 1000};
    const uint8_t idx[] = {0, 1}, idx_bad[] = {0, 2};
    const int32_t offs[] = {3600, 7200}, offs_bad[] = {3600, 93600};
    const struct image bad_images[] = {
        {at, idx, 2, offs, 0, ""},      /* no local time type */
        {at, idx_bad, 2, offs, 2, ""},  /* type index out of range */
        {at_desc, idx, 2, offs, 2, ""}, /* not ascending */
        {at, idx, 2, offs_bad, 2, ""},  /* 26 hours */
    };
    for (size_t i = 0; i < sizeof bad_images / sizeof bad_images[0]; i++) {
        int err = 0;
        CHECK(tzfile_parse(buf, build(buf, &bad_images[i]), &err) == NULL);
        CHECK_INT(err, -EBADMSG);
    }
    const struct image good = {at, idx, 2, offs, 2, "EST5"};
    size_t len = build(buf, &good);
    buf[len - 1] = 'x'; /* the footer's closing newline */
    int err = 0;
    CHECK(tzfile_parse(buf, len, &err) == NULL);
    CHECK_INT(err, -EBADMSG);
    CHECK(tzfile_parse(NULL, 0, &err) == NULL);
    CHECK(tzfile_parse("TZif", 4, NULL) == NULL);
}

/* Every proper prefix of a real file is refused; every 1-byte corruption is survived. */
static void test_truncated_and_corrupted(void)
{
    size_t len = 0;
    char path[512];
    snprintf(path, sizeof path, "%s/tz/slim/America/New_York", FIXTURES_DIR);
    unsigned char *data = read_file(path, &len);
    CHECK(data != NULL && len > 100);
    if (!data)
        return;
    int refused = 0, err;
    for (size_t n = 0; n < len; n++) {
        struct tzfile *z = tzfile_parse(data, n, &err);
        refused += z == NULL && err == -EBADMSG;
        tzfile_free(z);
    }
    CHECK_INT(refused, (long long)len);
    int consistent = 0, accepted = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            data[i] ^= (unsigned char)(1u << bit);
            struct tzfile *z = tzfile_parse(data, len, &err);
            consistent += (z != NULL) == (err == 0) && (z || err == -EBADMSG);
            if (z) {
                accepted++;
                char out[TZFILE_TIME_LEN];
                for (int64_t t = INT64_MIN / 2; t < INT64_MAX / 4; t += INT64_MAX / 8)
                    (void)tzfile_format(z, t, out);
                (void)tzfile_offset_s(z, INT64_MAX);
                (void)tzfile_offset_s(z, INT64_MIN);
            }
            tzfile_free(z);
            data[i] ^= (unsigned char)(1u << bit);
        }
    }
    CHECK_INT(consistent, (long long)len * 3);
    printf("# %d of %zu corrupted images still parse (names, unused bits)\n", accepted, len * 3);
    free(data);
}

int main(void)
{
    test_utc_and_names();
    test_known_values();
    test_system_zones();
    test_slim_files();
    test_footers();
    test_malformed();
    test_truncated_and_corrupted();
    return unit_done();
}
