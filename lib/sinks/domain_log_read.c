/*
 * domain_log_read — the reading side of domain_log (see domain_log.h): names, dates
 * and input checks, listing domains and dates, reading a day back.
 *
 * Runs on whichever thread calls it (an HTTP worker); it shares nothing with the
 * writer but the directory. Everything is opened relative to a directory fd with
 * O_NOFOLLOW, and only names this module produces are ever opened, so client input
 * cannot reach outside `dir`. Reading races with the writer are benign: a piece
 * gzipped after it was listed is opened as .gz; one deleted meanwhile is skipped.
 */
#include "sinks/domain_log_internal.h"

#include "core/clock.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define LIST_MAX_DOMAINS 100000
#define LIST_MAX_DAYS 10000
#define READ_MAX_PIECES 100000
#define READ_CHUNK (64 * 1024)

/* ---- dates ---- */

/* Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void dl_format_day(int64_t day, char *out)
{
    int64_t z = day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
    if (y < 0)
        y = 0;
    if (y > 9999)
        y = 9999;
    snprintf(out, DOMAIN_LOG_DATE_LEN + 1, "%04u-%02u-%02u", (unsigned)y % 10000u, m % 100u,
             d % 100u);
}

int64_t dl_day_of_ms(int64_t wall_ms)
{
    int64_t day = wall_ms / 86400000;
    if (wall_ms % 86400000 < 0)
        day--;
    return day;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static unsigned digits_value(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

/* Parses exactly ten characters at `s` (no terminator required). */
static bool parse_date10(const char *s, int64_t *day)
{
    static const unsigned month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' ||
        !all_digits(s + 8, 2))
        return false;
    unsigned y = digits_value(s, 4), m = digits_value(s + 5, 2), d = digits_value(s + 8, 2);
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    unsigned max = month_days[m - 1] + (m == 2 && leap ? 1 : 0);
    if (d > max)
        return false;
    if (day)
        *day = days_from_civil(y, m, d);
    return true;
}

bool dl_parse_date(const char *s, int64_t *day)
{
    return s && strnlen(s, DOMAIN_LOG_DATE_LEN + 1) == DOMAIN_LOG_DATE_LEN && parse_date10(s, day);
}

bool domain_log_valid_date(const char *date)
{
    return dl_parse_date(date, NULL);
}

/* ---- names ---- */

bool dl_parse_name(const char *name, struct dl_name *out)
{
    size_t len = strnlen(name, DL_FILE_NAME_MAX + 1);
    if (len > DL_FILE_NAME_MAX || len < DOMAIN_LOG_DATE_LEN + 4 || name[DOMAIN_LOG_DATE_LEN] != '.')
        return false;
    memset(out, 0, sizeof *out);
    if (!parse_date10(name, &out->day))
        return false;
    memcpy(out->date, name, DOMAIN_LOG_DATE_LEN);
    const char *p = name + DOMAIN_LOG_DATE_LEN + 1;
    if (*p >= '1' && *p <= '9') { /* rotated piece: no leading zero */
        size_t n = strspn(p, "0123456789");
        if (n > 9 || p[n] != '.')
            return false;
        out->index = digits_value(p, n);
        p += n + 1;
    }
    if (strncmp(p, "log", 3) != 0)
        return false;
    p += 3;
    if (strncmp(p, ".gz", 3) == 0) {
        out->gz = true;
        p += 3;
    }
    if (strcmp(p, ".tmp") == 0) {
        out->tmp = true;
        p += 4;
    }
    return *p == '\0';
}

bool dl_valid_dirname(const char *name)
{
    size_t n = 0;
    for (; name[n]; n++) {
        char c = name[n];
        if (n >= DOMAIN_LOG_NAME_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return n > 0;
}

static size_t sanitize_n(const char *s, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < len && n < DOMAIN_LOG_NAME_MAX && n + 1 < cap; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        out[n++] = keep ? c : '_';
    }
    if (n == 0) {
        snprintf(out, cap, "default");
        return strlen(out);
    }
    out[n] = '\0';
    return n;
}

size_t domain_log_sanitize(const char *domain, char *out, size_t cap)
{
    size_t len = domain ? strnlen(domain, DOMAIN_LOG_NAME_MAX) : 0;
    return sanitize_n(domain ? domain : "", len, out, cap);
}

int domain_log_check_domain(const char *domain, size_t len, char *out, size_t cap)
{
    if (!domain || len == 0 || len > DOMAIN_LOG_NAME_MAX || cap < DOMAIN_LOG_NAME_MAX + 1)
        return DOMAIN_LOG_BAD_DOMAIN;
    if (len == 1 && domain[0] == '.')
        return DOMAIN_LOG_BAD_DOMAIN;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)domain[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
            return DOMAIN_LOG_BAD_DOMAIN; /* includes an embedded NUL */
        if (c == '.' && i + 1 < len && domain[i + 1] == '.')
            return DOMAIN_LOG_BAD_DOMAIN;
    }
    sanitize_n(domain, len, out, cap);
    return DOMAIN_LOG_OK;
}

const char *domain_log_strerror(int err)
{
    switch (err) {
    case DOMAIN_LOG_OK:
        return "ok";
    case DOMAIN_LOG_BAD_DOMAIN:
        return "invalid domain";
    case DOMAIN_LOG_BAD_DATE:
        return "invalid date, want YYYY-MM-DD";
    case DOMAIN_LOG_NO_DOMAIN:
        return "no logs for this domain";
    case DOMAIN_LOG_NO_DATE:
        return "no logs for this date";
    case DOMAIN_LOG_IO:
        return "cannot read the log directory";
    case DOMAIN_LOG_NOMEM:
        return "out of memory";
    default:
        return "unknown error";
    }
}

/* Opens <dir>/<name> as a directory, refusing symlinks. Returns the fd or an error
 * code (NO_DOMAIN when absent or not a directory). */
static int open_domain_dir(const char *dir, const char *name, int *fd_out)
{
    int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return errno == ENOENT || errno == ENOTDIR ? DOMAIN_LOG_NO_DOMAIN : DOMAIN_LOG_IO;
    int fd = openat(root, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    int saved = errno;
    close(root);
    if (fd < 0) {
        if (saved == ENOENT || saved == ENOTDIR || saved == ELOOP)
            return DOMAIN_LOG_NO_DOMAIN;
        log_warn("domain_log", "open %s/%s: %s", dir, name, strerror(saved));
        return DOMAIN_LOG_IO;
    }
    *fd_out = fd;
    return DOMAIN_LOG_OK;
}

/* ---- listing ---- */

static int cmp_day(const void *a, const void *b)
{
    return strcmp(((const struct domain_log_day *)a)->date,
                  ((const struct domain_log_day *)b)->date);
}

static int cmp_domain(const void *a, const void *b)
{
    return strcmp(((const struct domain_log_domain *)a)->name,
                  ((const struct domain_log_domain *)b)->name);
}

/* Collects the days of the domain directory `fd` (taken: closed here) into `d`. */
static int collect_days(int fd, struct domain_log_domain *d, bool *truncated)
{
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return DOMAIN_LOG_IO;
    }
    size_t cap = 0;
    int rc = DOMAIN_LOG_OK;
    const struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        struct dl_name nm;
        struct stat st;
        if (!dl_parse_name(e->d_name, &nm) || nm.tmp)
            continue;
        if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        struct domain_log_day *day = NULL;
        for (size_t i = d->day_count; i-- > 0;)
            if (strcmp(d->days[i].date, nm.date) == 0) {
                day = &d->days[i];
                break;
            }
        if (!day) {
            if (d->day_count == LIST_MAX_DAYS) {
                *truncated = true;
                continue;
            }
            if (d->day_count == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct domain_log_day *nd = realloc(d->days, ncap * sizeof *nd);
                if (!nd) {
                    rc = DOMAIN_LOG_NOMEM;
                    break;
                }
                d->days = nd;
                cap = ncap;
            }
            day = &d->days[d->day_count++];
            memset(day, 0, sizeof *day);
            memcpy(day->date, nm.date, sizeof day->date);
        }
        day->files++;
        day->bytes += (uint64_t)st.st_size;
    }
    closedir(dir);
    if (d->day_count > 1)
        qsort(d->days, d->day_count, sizeof *d->days, cmp_day);
    return rc;
}

/* Appends domain `name` with its days to `out`, unless it has none. */
static int list_one(const char *dir, const char *name, struct domain_log_listing *out, size_t *cap)
{
    int fd = -1;
    int rc = open_domain_dir(dir, name, &fd);
    if (rc != DOMAIN_LOG_OK)
        return rc;
    struct domain_log_domain d = {0};
    rc = collect_days(fd, &d, &out->truncated);
    if (rc == DOMAIN_LOG_OK && d.day_count == 0)
        rc = DOMAIN_LOG_NO_DOMAIN;
    if (rc == DOMAIN_LOG_OK && out->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct domain_log_domain *nd = realloc(out->domains, ncap * sizeof *nd);
        if (nd) {
            out->domains = nd;
            *cap = ncap;
        } else {
            rc = DOMAIN_LOG_NOMEM;
        }
    }
    if (rc == DOMAIN_LOG_OK) {
        d.name = strdup(name);
        if (d.name) {
            out->domains[out->count++] = d;
            return DOMAIN_LOG_OK;
        }
        rc = DOMAIN_LOG_NOMEM;
    }
    free(d.days);
    return rc;
}

int domain_log_list(const char *dir, const char *domain, struct domain_log_listing *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    if (domain) {
        char name[DOMAIN_LOG_NAME_MAX + 1];
        int rc = domain_log_check_domain(domain, strlen(domain), name, sizeof name);
        if (rc == DOMAIN_LOG_OK)
            rc = list_one(dir, name, out, &cap);
        if (rc != DOMAIN_LOG_OK)
            domain_log_listing_clear(out);
        return rc;
    }
    DIR *root = opendir(dir);
    if (!root) {
        if (errno == ENOENT)
            return DOMAIN_LOG_OK;
        log_warn("domain_log", "open %s: %s", dir, strerror(errno));
        return DOMAIN_LOG_IO;
    }
    int rc = DOMAIN_LOG_OK;
    const struct dirent *e;
    while ((e = readdir(root)) != NULL) {
        if (!dl_valid_dirname(e->d_name))
            continue;
        if (out->count == LIST_MAX_DOMAINS) {
            out->truncated = true;
            break;
        }
        int one = list_one(dir, e->d_name, out, &cap);
        if (one == DOMAIN_LOG_NOMEM) {
            rc = one;
            break;
        }
    }
    closedir(root);
    if (rc != DOMAIN_LOG_OK) {
        domain_log_listing_clear(out);
        return rc;
    }
    if (out->count > 1)
        qsort(out->domains, out->count, sizeof *out->domains, cmp_domain);
    return DOMAIN_LOG_OK;
}

void domain_log_listing_clear(struct domain_log_listing *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++) {
        free(l->domains[i].name);
        free(l->domains[i].days);
    }
    free(l->domains);
    memset(l, 0, sizeof *l);
}

/* ---- reading a day ---- */

struct piece {
    unsigned order; /* rotation index; the base piece sorts last */
    bool gz;
    char name[DL_FILE_NAME_MAX + 1];
};

static int cmp_piece(const void *a, const void *b)
{
    const struct piece *x = a, *y = b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return (int)x->gz - (int)y->gz; /* plain first: it is the complete one */
}

/* The day's pieces in reading order, one per index. *out is malloc'd. */
static int list_pieces(int fd, const char *date, struct piece **out, size_t *count)
{
    int dup_fd = dup(fd);
    DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!dir) {
        if (dup_fd >= 0)
            close(dup_fd);
        return DOMAIN_LOG_IO;
    }
    struct piece *p = NULL;
    size_t n = 0, cap = 0;
    int rc = DOMAIN_LOG_OK;
    const struct dirent *e;
    while ((e = readdir(dir)) != NULL && n < READ_MAX_PIECES) {
        struct dl_name nm;
        if (!dl_parse_name(e->d_name, &nm) || nm.tmp || strcmp(nm.date, date) != 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct piece *np = realloc(p, ncap * sizeof *np);
            if (!np) {
                rc = DOMAIN_LOG_NOMEM;
                break;
            }
            p = np;
            cap = ncap;
        }
        p[n].order = nm.index ? nm.index : DL_PIECE_MAX + 1;
        p[n].gz = nm.gz;
        /* dl_parse_name() accepted it, so it fits */
        if (snprintf(p[n].name, sizeof p[n].name, "%s", e->d_name) < (int)sizeof p[n].name)
            n++;
    }
    closedir(dir);
    if (rc != DOMAIN_LOG_OK) {
        free(p);
        return rc;
    }
    if (n > 1)
        qsort(p, n, sizeof *p, cmp_piece);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (kept == 0 || p[kept - 1].order != p[i].order)
            p[kept++] = p[i];
    *out = p;
    *count = kept;
    return DOMAIN_LOG_OK;
}

struct line_state {
    char *buf;
    size_t len, cap;
    bool overlong;
    size_t seen; /* complete lines met, including skipped ones */
    size_t skip, max;
    domain_log_line_fn fn;
    void *ctx;
    struct domain_log_read_result *res;
    int64_t deadline_ms; /* 0 = none */
    bool read_some;      /* a chunk was read: the deadline counts from then on */
    bool stop;
};

/*
 * The deadline stops a read while it is still skipping to `skip` (a continuation would
 * only skip the same lines again), or once at least one line has been passed on; never
 * between the two, so that a continuation from what was passed on always progresses.
 */
static bool past_deadline(struct line_state *st)
{
    bool may_stop = st->read_some && (st->seen < st->skip || st->res->lines > 0);
    if (may_stop && st->deadline_ms > 0 && clock_mono_ms() >= st->deadline_ms) {
        st->res->timed_out = true;
        st->stop = true;
    }
    return st->stop;
}

static bool line_append(struct line_state *st, const char *p, size_t n)
{
    if (st->overlong)
        return true;
    if (st->len + n > DOMAIN_LOG_MAX_LINE_BYTES) {
        st->overlong = true;
        st->len = 0;
        return true;
    }
    if (st->len + n + 1 > st->cap) {
        size_t ncap = st->cap ? st->cap : 4096;
        while (ncap < st->len + n + 1)
            ncap *= 2;
        char *nb = realloc(st->buf, ncap);
        if (!nb)
            return false;
        st->buf = nb;
        st->cap = ncap;
    }
    memcpy(st->buf + st->len, p, n);
    st->len += n;
    return true;
}

static void line_end(struct line_state *st)
{
    if (st->overlong) {
        st->res->long_lines++;
    } else if (st->seen < st->skip) {
        st->seen++;
    } else if (st->max && st->res->lines == st->max) {
        st->res->more = true;
        st->stop = true;
    } else {
        st->seen++;
        st->res->lines++;
        st->buf[st->len] = '\0';
        if (st->fn && !st->fn(st->ctx, st->buf, st->len))
            st->stop = true;
    }
    st->len = 0;
    st->overlong = false;
}

/* Opens piece `p` (or its .gz twin if it was compressed since it was listed).
 * Returns NULL when it is gone. */
static gzFile open_piece(int dfd, const struct piece *p)
{
    int fd = openat(dfd, p->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT && !p->gz) {
        char gzname[DL_FILE_NAME_MAX + 4];
        snprintf(gzname, sizeof gzname, "%s.gz", p->name);
        fd = openat(dfd, gzname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0)
        return NULL;
    gzFile g = gzdopen(fd, "rb"); /* reads plain files through unchanged */
    if (!g) {
        close(fd);
        return NULL;
    }
    gzbuffer(g, 128 * 1024);
    return g;
}

/* Feeds the lines of one piece to `st`. Returns false when out of memory. */
static bool read_piece(gzFile g, char *chunk, struct line_state *st)
{
    st->len = 0; /* an unterminated tail of the previous piece is dropped */
    st->overlong = false;
    while (!st->stop && !past_deadline(st)) {
        int got = gzread(g, chunk, READ_CHUNK);
        if (got <= 0) {
            int errnum = Z_OK;
            gzerror(g, &errnum);
            if (got < 0 || errnum == Z_BUF_ERROR)
                st->res->damaged++;
            break;
        }
        st->read_some = true;
        const char *p = chunk, *end = chunk + got;
        while (p < end && !st->stop) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = (size_t)((nl ? nl : end) - p);
            if (!line_append(st, p, n))
                return false;
            if (nl)
                line_end(st);
            p += n + (nl ? 1 : 0);
        }
    }
    return true;
}

int domain_log_read_day(const char *dir, const char *domain, const char *date, size_t skip,
                        size_t max_lines, domain_log_line_fn fn, void *ctx,
                        struct domain_log_read_result *res)
{
    return domain_log_read_day_until(dir, domain, date, skip, max_lines, 0, fn, ctx, res);
}

int domain_log_read_day_until(const char *dir, const char *domain, const char *date, size_t skip,
                              size_t max_lines, int64_t deadline_ms, domain_log_line_fn fn,
                              void *ctx, struct domain_log_read_result *res)
{
    struct domain_log_read_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);

    char name[DOMAIN_LOG_NAME_MAX + 1];
    if (!domain || domain_log_check_domain(domain, strlen(domain), name, sizeof name) != 0)
        return DOMAIN_LOG_BAD_DOMAIN;
    if (!domain_log_valid_date(date))
        return DOMAIN_LOG_BAD_DATE;

    int dfd = -1;
    int rc = open_domain_dir(dir, name, &dfd);
    if (rc != DOMAIN_LOG_OK)
        return rc;
    struct piece *pieces = NULL;
    size_t count = 0;
    char *chunk = NULL;
    struct line_state st = {.skip = skip,
                            .max = max_lines,
                            .fn = fn,
                            .ctx = ctx,
                            .res = res,
                            .deadline_ms = deadline_ms};

    rc = list_pieces(dfd, date, &pieces, &count);
    if (rc != DOMAIN_LOG_OK)
        goto out;
    rc = DOMAIN_LOG_NO_DATE;
    if (count == 0)
        goto out;
    rc = DOMAIN_LOG_NOMEM;
    chunk = malloc(READ_CHUNK);
    if (!chunk)
        goto out;
    rc = DOMAIN_LOG_OK;
    for (size_t i = 0; i < count && !past_deadline(&st); i++) {
        gzFile g = open_piece(dfd, &pieces[i]);
        if (!g)
            continue;
        bool ok = read_piece(g, chunk, &st);
        gzclose(g);
        if (!ok) {
            rc = DOMAIN_LOG_NOMEM;
            break;
        }
    }
    res->seen = st.seen;
out:
    free(chunk);
    free(st.buf);
    free(pieces);
    close(dfd);
    return rc;
}
