/*
 * tzfile — see tzfile.h.
 *
 * Owns: one heap block per zone (the struct and its transition table), immutable after
 * tzfile_parse() returns; no global state, no locks, no TZ/tzset(), so it is safe on any
 * thread. The file is read once, with one open/fstat/read.
 *
 * What is read from a TZif file (RFC 8536):
 *  - v1 files: the 32-bit block. v2+ files: the 64-bit block and the footer; the
 *    32-bit block is only skipped over.
 *  - the transition times and, for each, the UT offset of its local time type. Names,
 *    DST flags, leap-second records and the std/ut indicators are checked for size
 *    and then ignored: we print wall-clock time in the zone, nothing more.
 *  - before the first transition, local time type 0 applies (RFC 8536 §3.2);
 *  - from the last transition on (or for every instant, when there is none), the
 *    footer's POSIX TZ string applies ("EST5EDT,M3.2.0,M11.1.0", with the RFC 8536
 *    extensions: hours up to 167 and negative times in the rules). This matters:
 *    "fat" files list transitions only up to 2037, and "slim" files (zic -b slim, the
 *    default since tzcode 2020b) stop at the last rule change — 2007 for New York — and
 *    leave every later DST change to the footer. An empty footer (or a v1 file) keeps
 *    the last transition's offset.
 *
 * Invariants checked while parsing, so lookups need no checks: at least one local time
 * type; every offset within (-25 h, +26 h) (RFC 8536's range); transition times strictly
 * ascending; every transition's type index in range. Anything else is -EBADMSG.
 *
 * Calendar arithmetic is proleptic Gregorian on int64 day numbers (Howard Hinnant's
 * days_from_civil / civil_from_days), so no libc time function is involved. Instants
 * are clamped to about ±1.1 million years before rule evaluation, which keeps every
 * intermediate value far from overflow whatever int64 is passed in.
 */
#include "core/tzfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_OFF_MIN (-89999) /* RFC 8536: more than -25 hours */
#define TZ_OFF_MAX 93599    /* ... and less than 26 hours */
#define TZ_RULE_HOURS_MAX 167
#define TZ_CLAMP_S (INT64_C(1) << 45) /* ~1.1 million years */
#define TZ_NAME_MAX 200

/* When a footer rule changes the clock, in local time of the year it is applied to. */
struct tz_date {
    char kind;    /* 'J': Jn, day 1..365 without Feb 29; 'D': n, day 0..365; 'M': Mm.w.d */
    int16_t a;    /* J/D: the day; M: the month 1..12 */
    int16_t week; /* M: 1..5 (5 = the last) */
    int16_t wday; /* M: 0 (Sunday) .. 6 */
    int32_t secs; /* time of day, -167 h .. +167 h (default 02:00:00) */
};

/* The footer: a fixed offset, or standard time with a yearly DST period. */
struct tz_rule {
    bool has_dst;
    int32_t std_off, dst_off; /* UT offsets, seconds east */
    struct tz_date start, end;
};

struct tz_trans {
    int64_t at; /* UT seconds */
    int32_t off;
};

struct tzfile {
    int32_t off0;  /* before the first transition */
    bool has_rule; /* a non-empty footer */
    struct tz_rule rule;
    size_t n;
    struct tz_trans trans[];
};

/* ---- calendar --------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_len(int64_t y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Days since 1970-01-01 of y-m-d. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
    return (int)((days % 7 + 11) % 7);
}

/* ---- the footer rule -------------------------------------------------------------- */

/* The day number on which `dt` falls in year y. */
static int64_t rule_day(const struct tz_date *dt, int64_t y)
{
    int64_t jan1 = days_from_civil(y, 1, 1);
    if (dt->kind == 'J')
        return jan1 + dt->a - 1 + (dt->a >= 60 && is_leap(y));
    if (dt->kind == 'D')
        return jan1 + dt->a;
    int64_t first = days_from_civil(y, dt->a, 1);
    int64_t day = first + (dt->wday - weekday(first) + 7) % 7 + 7 * (dt->week - 1);
    while (day >= first + month_len(y, dt->a)) /* week 5: the last such weekday */
        day -= 7;
    return day;
}

static int32_t rule_offset(const struct tz_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    if (t > TZ_CLAMP_S)
        t = TZ_CLAMP_S;
    else if (t < -TZ_CLAMP_S)
        t = -TZ_CLAMP_S;
    int64_t y;
    int m, d;
    civil_from_days(floor_div(t + r->std_off, 86400), &y, &m, &d);
    /*
     * The changes of the years around t, in UT. A rule time may stray a week into the
     * next or previous year, hence three years. The start is in standard time, the end
     * in DST. At a tie (all-year DST: "0/0,J365/25" ends one year at the instant the next
     * starts) the change into DST sorts last, so it wins.
     */
    struct {
        int64_t at;
        bool dst;
    } ch[6], tmp;
    for (int k = 0; k < 3; k++) {
        ch[2 * k].at = rule_day(&r->start, y - 1 + k) * 86400 + r->start.secs - r->std_off;
        ch[2 * k].dst = true;
        ch[2 * k + 1].at = rule_day(&r->end, y - 1 + k) * 86400 + r->end.secs - r->dst_off;
        ch[2 * k + 1].dst = false;
    }
    for (int i = 1; i < 6; i++) /* insertion sort by (at, dst) */
        for (int j = i; j > 0 && (ch[j - 1].at > ch[j].at ||
                                  (ch[j - 1].at == ch[j].at && ch[j - 1].dst && !ch[j].dst));
             j--) {
            tmp = ch[j];
            ch[j] = ch[j - 1];
            ch[j - 1] = tmp;
        }
    bool dst = !ch[0].dst; /* before the first change: the other state */
    for (int i = 0; i < 6 && ch[i].at <= t; i++)
        dst = ch[i].dst;
    return dst ? r->dst_off : r->std_off;
}

/* ---- POSIX TZ string (RFC 8536 §3.3.1) -------------------------------------------- */

struct cursor {
    const char *p, *end;
};

static char peek(const struct cursor *c)
{
    return c->p < c->end ? *c->p : '\0';
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool accept(struct cursor *c, char ch)
{
    if (peek(c) != ch)
        return false;
    c->p++;
    return true;
}

/* "EST", or quoted "<-03>" / "<+0530>"; at least 3 characters. */
static bool parse_abbr(struct cursor *c)
{
    size_t n = 0;
    if (accept(c, '<')) {
        for (; !accept(c, '>'); n++, c->p++) {
            char ch = peek(c);
            if (!is_alpha(ch) && !is_digit(ch) && ch != '+' && ch != '-')
                return false;
        }
    } else {
        for (; is_alpha(peek(c)); n++)
            c->p++;
    }
    return n >= 3;
}

static bool parse_uint(struct cursor *c, int32_t max, int32_t *out)
{
    int32_t v = 0;
    const char *start = c->p;
    for (; is_digit(peek(c)); c->p++)
        if ((v = v * 10 + (*c->p - '0')) > max)
            return false;
    *out = v;
    return c->p > start;
}

/* [+-]hh[:mm[:ss]], hh <= max_hours; seconds, signed as written. */
static bool parse_hms(struct cursor *c, int32_t max_hours, int32_t *out)
{
    bool neg = accept(c, '-');
    if (!neg)
        accept(c, '+');
    int32_t h, m = 0, s = 0;
    if (!parse_uint(c, max_hours, &h))
        return false;
    if (accept(c, ':') && (!parse_uint(c, 59, &m) || (accept(c, ':') && !parse_uint(c, 59, &s))))
        return false;
    *out = (neg ? -1 : 1) * (h * 3600 + m * 60 + s);
    return true;
}

static bool parse_date(struct cursor *c, struct tz_date *dt)
{
    int32_t a, w = 0, wd = 0;
    if (accept(c, 'M')) {
        dt->kind = 'M';
        if (!parse_uint(c, 12, &a) || a < 1 || !accept(c, '.') || !parse_uint(c, 5, &w) || w < 1 ||
            !accept(c, '.') || !parse_uint(c, 6, &wd))
            return false;
    } else if (accept(c, 'J')) {
        dt->kind = 'J';
        if (!parse_uint(c, 365, &a) || a < 1)
            return false;
    } else {
        dt->kind = 'D';
        if (!parse_uint(c, 365, &a))
            return false;
    }
    dt->a = (int16_t)a;
    dt->week = (int16_t)w;
    dt->wday = (int16_t)wd;
    dt->secs = 2 * 3600;
    return !accept(c, '/') || parse_hms(c, TZ_RULE_HOURS_MAX, &dt->secs);
}

/* std offset [dst [offset] ,start[/time],end[/time]]; DST without a rule is refused. */
static bool parse_footer(const char *s, size_t n, struct tz_rule *r)
{
    struct cursor c = {s, s + n};
    int32_t off;
    if (!parse_abbr(&c) || !parse_hms(&c, 24, &off))
        return false;
    r->std_off = -off; /* POSIX offsets count west */
    if (c.p == c.end)
        return true;
    if (!parse_abbr(&c))
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (peek(&c) != ',') {
        if (!parse_hms(&c, 24, &off))
            return false;
        r->dst_off = -off;
    }
    return accept(&c, ',') && parse_date(&c, &r->start) && accept(&c, ',') &&
           parse_date(&c, &r->end) && c.p == c.end;
}

/* ---- TZif ------------------------------------------------------------------------- */

struct tzif_header {
    char version;
    uint32_t isut, isstd, leap, timecnt, typecnt, charcnt;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Reads the header at b[pos] and checks its data block (tsize-byte times) fits in len. */
static bool read_header(const unsigned char *b, size_t len, size_t pos, size_t tsize,
                        struct tzif_header *h, size_t *data_len)
{
    if (pos > len || len - pos < 44 || memcmp(b + pos, "TZif", 4) != 0)
        return false;
    const unsigned char *p = b + pos;
    h->version = (char)p[4];
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || (h->isut && h->isut != h->typecnt) ||
        (h->isstd && h->isstd != h->typecnt))
        return false;
    uint64_t need = (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
                    (uint64_t)h->leap * (tsize + 4) + h->isstd + h->isut;
    if (need > len - pos - 44)
        return false;
    *data_len = (size_t)need;
    return true;
}

struct tzfile *tzfile_parse(const void *data, size_t len, int *error)
{
    const unsigned char *b = data;
    struct tzfile *z = NULL;
    int err = -EBADMSG;
    struct tzif_header h;
    size_t pos = 0, size, tsize = 4;
    if (!b || !read_header(b, len, pos, tsize, &h, &size))
        goto out;
    const bool v2 = h.version >= '2';
    if (v2) { /* skip the 32-bit block */
        pos += 44 + size;
        tsize = 8;
        if (!read_header(b, len, pos, tsize, &h, &size))
            goto out;
    }
    const unsigned char *times = b + pos + 44;
    const unsigned char *idx = times + (size_t)h.timecnt * tsize;
    const unsigned char *types = idx + h.timecnt;
    const unsigned char *footer = b + pos + 44 + size;

    for (uint32_t i = 0; i < h.typecnt; i++) {
        int32_t off = (int32_t)be32(types + 6 * (size_t)i);
        if (off < TZ_OFF_MIN || off > TZ_OFF_MAX)
            goto out;
    }
    err = -ENOMEM;
    z = calloc(1, sizeof *z + (size_t)h.timecnt * sizeof z->trans[0]);
    if (!z)
        goto out;
    err = -EBADMSG;
    z->n = h.timecnt;
    z->off0 = (int32_t)be32(types);
    for (size_t i = 0; i < z->n; i++) {
        if (idx[i] >= h.typecnt)
            goto out;
        z->trans[i].at = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        z->trans[i].off = (int32_t)be32(types + 6 * (size_t)idx[i]);
        if (i && z->trans[i].at <= z->trans[i - 1].at)
            goto out;
    }
    if (v2) { /* "\n" TZ string "\n" */
        size_t rest = len - (size_t)(footer - b);
        const unsigned char *nl =
            rest > 1 && footer[0] == '\n' ? memchr(footer + 1, '\n', rest - 1) : NULL;
        if (!nl)
            goto out;
        size_t n = (size_t)(nl - footer) - 1;
        z->has_rule = n > 0;
        if (n && !parse_footer((const char *)footer + 1, n, &z->rule))
            goto out;
    }
    err = 0;
out:
    if (err) {
        free(z);
        z = NULL;
    }
    if (error)
        *error = err;
    return z;
}

/*
 * An IANA name: letters, digits and "/_+-", not starting with '/'. No '.' at all, so no
 * "..", no hidden files and none of the data files that share the directory
 * ("tzdata.zi", "zone.tab").
 */
static bool zone_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > TZ_NAME_MAX || name[0] == '/')
        return false;
    for (const char *p = name; *p; p++)
        if (!is_alpha(*p) && !is_digit(*p) && !strchr("/_+-", *p))
            return false;
    return true;
}

struct tzfile *tzfile_load(const char *name, int *error)
{
    struct tzfile *z = NULL;
    unsigned char *buf = NULL;
    int err = 0, fd = -1;
    if (!name || !*name || strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        goto out;
    err = -EINVAL;
    if (!zone_name_ok(name))
        goto out;
    char path[sizeof TZFILE_DIR + TZ_NAME_MAX + 1];
    snprintf(path, sizeof path, "%s/%s", TZFILE_DIR, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        err = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode))
        goto out; /* -EINVAL */
    err = -EFBIG;
    if (st.st_size > TZFILE_MAX_BYTES)
        goto out;
    err = -ENOMEM;
    size_t want = (size_t)st.st_size, got = 0;
    if (!(buf = malloc(want ? want : 1)))
        goto out;
    while (got < want) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = -errno;
            goto out;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    z = tzfile_parse(buf, got, &err);
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    if (error)
        *error = err;
    return z;
}

void tzfile_free(struct tzfile *z)
{
    free(z);
}

int64_t tzfile_offset_s(const struct tzfile *z, int64_t utc_s)
{
    if (!z)
        return 0;
    if (z->n == 0)
        return z->has_rule ? rule_offset(&z->rule, utc_s) : z->off0;
    if (utc_s < z->trans[0].at)
        return z->off0;
    size_t lo = 0, hi = z->n; /* invariant: trans[lo].at <= utc_s < trans[hi].at (or hi == n) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid].at <= utc_s)
            lo = mid;
        else
            hi = mid;
    }
    if (lo == z->n - 1 && z->has_rule)
        return rule_offset(&z->rule, utc_s);
    return z->trans[lo].off;
}

static char *put_digits(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

bool tzfile_format(const struct tzfile *z, int64_t utc_us, char out[static TZFILE_TIME_LEN])
{
    int64_t secs = floor_div(utc_us, 1000000);
    int64_t local = secs + tzfile_offset_s(z, secs); /* |secs| < 2^44: cannot overflow */
    int64_t days = floor_div(local, 86400), sod = local - days * 86400;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        out[0] = '\0';
        return false;
    }
    char *p = put_digits(out, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = ' ';
    p = put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sod % 60, 2);
    *p = '\0';
    return true;
}
