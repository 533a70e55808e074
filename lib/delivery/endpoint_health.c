/*
 * endpoint_health — see endpoint_health.h.
 *
 * Owns nothing: every function works on a struct the caller owns (one per endpoint
 * lane, touched only by the delivery thread), with the time the caller passes in. No
 * globals, no locks, no libc time or locale functions, so any thread may call it.
 *
 * Breaker invariants: the cool-down stays within [base, max]; `probe_in_flight` is only
 * ever true in the half-open state. The struct cannot tell which call a result belongs
 * to: in the half-open state any result is taken as the probe's, and results arriving
 * while open (calls that started before it opened) only count failures.
 *
 * Retry-After: the value is parsed between its leading and trailing blanks (SP, HTAB).
 * An HTTP-date is case-sensitive (RFC 9110 §5.6.7) and matched exactly in one of its
 * three forms; the weekday must be a weekday name but is not checked against the date.
 * Dates become Unix seconds through days_from_civil (proleptic Gregorian), so no
 * timegm/strptime is involved.
 */
#include "delivery/endpoint_health.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* ---- circuit breaker ---- */

static int64_t add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

void breaker_init(struct breaker *b, int failures_to_open, int64_t cooldown_ms,
                  int64_t max_cooldown_ms)
{
    memset(b, 0, sizeof *b);
    b->failures_to_open = failures_to_open > 0 ? failures_to_open : 0;
    b->base_cooldown_ms = cooldown_ms > 0 ? cooldown_ms : 0;
    b->max_cooldown_ms =
        max_cooldown_ms > b->base_cooldown_ms ? max_cooldown_ms : b->base_cooldown_ms;
    b->state = BREAKER_CLOSED;
    b->cooldown_ms = b->base_cooldown_ms;
}

bool breaker_may_call(struct breaker *b, int64_t now_ms)
{
    switch (b->state) {
    case BREAKER_CLOSED:
        return true;
    case BREAKER_OPEN:
        if (now_ms < b->open_until_ms)
            return false;
        b->state = BREAKER_HALF_OPEN;
        b->probe_in_flight = true;
        return true;
    case BREAKER_HALF_OPEN:
        if (b->probe_in_flight)
            return false;
        b->probe_in_flight = true; /* the previous permission was given back */
        return true;
    }
    return false;
}

static void breaker_open(struct breaker *b, int64_t now_ms)
{
    b->state = BREAKER_OPEN;
    b->probe_in_flight = false;
    b->open_until_ms = add_sat(now_ms, b->cooldown_ms);
}

void breaker_result(struct breaker *b, bool ok, int64_t now_ms)
{
    if (!ok && b->consecutive_failures < INT_MAX)
        b->consecutive_failures++;
    switch (b->state) {
    case BREAKER_CLOSED:
        if (ok)
            b->consecutive_failures = 0;
        else if (b->failures_to_open > 0 && b->consecutive_failures >= b->failures_to_open)
            breaker_open(b, now_ms);
        break;
    case BREAKER_OPEN:
        break; /* a call from before the breaker opened: the probe decides */
    case BREAKER_HALF_OPEN:
        if (ok) {
            b->state = BREAKER_CLOSED;
            b->probe_in_flight = false;
            b->consecutive_failures = 0;
            b->cooldown_ms = b->base_cooldown_ms;
        } else {
            b->cooldown_ms =
                b->cooldown_ms > b->max_cooldown_ms / 2 ? b->max_cooldown_ms : b->cooldown_ms * 2;
            breaker_open(b, now_ms);
        }
        break;
    }
}

void breaker_cancel(struct breaker *b)
{
    if (b->state == BREAKER_HALF_OPEN)
        b->probe_in_flight = false;
}

const char *breaker_state_name(enum breaker_state state)
{
    switch (state) {
    case BREAKER_CLOSED:
        return "closed";
    case BREAKER_OPEN:
        return "open";
    case BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "closed";
}

/* ---- token bucket ---- */

void token_bucket_init(struct token_bucket *tb, double rate_per_s, double burst, int64_t now_ms)
{
    /* !(x > 0) also catches NaN */
    if (!(rate_per_s > 0) || isinf(rate_per_s))
        rate_per_s = 0;
    if (!(burst >= 1) || isinf(burst))
        burst = rate_per_s > 1 ? rate_per_s : 1;
    tb->rate_per_ms = rate_per_s / 1000.0;
    tb->burst = burst;
    tb->tokens = burst;
    tb->last_ms = now_ms;
}

/* Whole tokens, up to a billionth: rates are not exact in binary (1/h is 1/3600000 per
 * ms), and a call must not wait an extra millisecond for the last rounding error. */
static bool has_token(double tokens)
{
    return tokens >= 1 - 1e-9;
}

/* The tokens there are at now_ms (never more than the burst). */
static double tokens_at(const struct token_bucket *tb, int64_t now_ms)
{
    if (now_ms <= tb->last_ms)
        return tb->tokens;
    /* in double: the difference of two arbitrary int64s may not fit one */
    double t = tb->tokens + ((double)now_ms - (double)tb->last_ms) * tb->rate_per_ms;
    return t < tb->burst ? t : tb->burst;
}

bool token_bucket_take(struct token_bucket *tb, int64_t now_ms)
{
    if (tb->rate_per_ms <= 0)
        return true;
    tb->tokens = tokens_at(tb, now_ms);
    if (now_ms > tb->last_ms)
        tb->last_ms = now_ms;
    if (!has_token(tb->tokens))
        return false;
    tb->tokens = tb->tokens > 1 ? tb->tokens - 1 : 0;
    return true;
}

int64_t token_bucket_wait_ms(const struct token_bucket *tb, int64_t now_ms)
{
    if (tb->rate_per_ms <= 0 || has_token(tokens_at(tb, now_ms)))
        return 0;
    double w = (1 - tokens_at(tb, now_ms)) / tb->rate_per_ms;
    if (w > 1e15) /* a rate of nearly nothing: about 31,000 years */
        return INT64_C(1000000000000000);
    /* the estimate, corrected by the rule take applies: the first ms with a token */
    int64_t wait = (int64_t)w;
    while (wait > 1 && has_token(tokens_at(tb, add_sat(now_ms, wait - 1))))
        wait--;
    while (!has_token(tokens_at(tb, add_sat(now_ms, wait))) && add_sat(now_ms, wait) < INT64_MAX)
        wait++;
    return wait;
}

/* ---- Retry-After ---- */

static const char *const short_days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const long_days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* A cursor over the trimmed value [p, end). */
struct cursor {
    const char *p;
    const char *end;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool take_lit(struct cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* Exactly n digits. */
static bool take_digits(struct cursor *c, int n, int *out)
{
    if (c->end - c->p < n)
        return false;
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(c->p[i]))
            return false;
        v = v * 10 + (c->p[i] - '0');
    }
    c->p += n;
    *out = v;
    return true;
}

/* One of `names` (all of the same length), as its index; -1 when none. */
static int take_name(struct cursor *c, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (take_lit(c, names[i]))
            return i;
    return -1;
}

/* "HH:MM:SS" */
static bool take_time(struct cursor *c, int *h, int *m, int *s)
{
    return take_digits(c, 2, h) && take_lit(c, ":") && take_digits(c, 2, m) && take_lit(c, ":") &&
           take_digits(c, 2, s);
}

struct civil {
    int year, month, day; /* month 1..12 */
    int hour, min, sec;
};

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool civil_valid(const struct civil *t)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (t->month < 1 || t->month > 12 || t->day < 1 || t->day > mdays[t->month - 1])
        return false;
    if (t->month == 2 && t->day == 29 && !is_leap(t->year))
        return false;
    return t->hour < 24 && t->min < 60 && t->sec < 61; /* 60: a leap second */
}

/* Howard Hinnant's days_from_civil: days since 1970-01-01, proleptic Gregorian. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* After "Sun, ": "06 Nov 1994 08:49:37 GMT" (IMF-fixdate). */
static bool parse_imf(struct cursor *c, struct civil *t)
{
    int mon;
    if (!take_digits(c, 2, &t->day) || !take_lit(c, " ") || (mon = take_name(c, months, 12)) < 0 ||
        !take_lit(c, " ") || !take_digits(c, 4, &t->year) || !take_lit(c, " ") ||
        !take_time(c, &t->hour, &t->min, &t->sec) || !take_lit(c, " GMT"))
        return false;
    t->month = mon + 1;
    return true;
}

/* After "Sunday, ": "06-Nov-94 08:49:37 GMT" (RFC 850). */
static bool parse_rfc850(struct cursor *c, struct civil *t)
{
    int mon, yy;
    if (!take_digits(c, 2, &t->day) || !take_lit(c, "-") || (mon = take_name(c, months, 12)) < 0 ||
        !take_lit(c, "-") || !take_digits(c, 2, &yy) || !take_lit(c, " ") ||
        !take_time(c, &t->hour, &t->min, &t->sec) || !take_lit(c, " GMT"))
        return false;
    t->month = mon + 1;
    t->year = yy >= 70 ? 1900 + yy : 2000 + yy;
    return true;
}

/* After "Sun ": "Nov  6 08:49:37 1994" (asctime; the day is " 6" or "16"). */
static bool parse_asctime(struct cursor *c, struct civil *t)
{
    int mon;
    if ((mon = take_name(c, months, 12)) < 0 || !take_lit(c, " "))
        return false;
    if (c->p < c->end && *c->p == ' ') {
        c->p++;
        if (!take_digits(c, 1, &t->day))
            return false;
    } else if (!take_digits(c, 2, &t->day)) {
        return false;
    }
    if (!take_lit(c, " ") || !take_time(c, &t->hour, &t->min, &t->sec) || !take_lit(c, " ") ||
        !take_digits(c, 4, &t->year))
        return false;
    t->month = mon + 1;
    return true;
}

/* An HTTP-date in any of its forms, as Unix seconds; false when it is none. */
static bool parse_http_date(struct cursor *c, int64_t *unix_s)
{
    struct civil t;
    bool ok;
    if (take_name(c, long_days, 7) >= 0)
        ok = take_lit(c, ", ") && parse_rfc850(c, &t);
    else if (take_name(c, short_days, 7) >= 0)
        ok = take_lit(c, ", ") ? parse_imf(c, &t) : take_lit(c, " ") && parse_asctime(c, &t);
    else
        ok = false;
    if (!ok || c->p != c->end || !civil_valid(&t))
        return false;
    *unix_s = days_from_civil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.min * 60 + t.sec;
    return true;
}

int64_t retry_after_parse_ms(const char *value, int64_t now_wall_ms, int64_t max_ms)
{
    if (!value)
        return -1;
    if (max_ms < 0)
        max_ms = 0;
    struct cursor c = {value, value + strlen(value)};
    while (c.p < c.end && is_blank(*c.p))
        c.p++;
    while (c.end > c.p && is_blank(c.end[-1]))
        c.end--;
    if (c.p == c.end)
        return -1;

    if (is_digit(*c.p)) { /* delta-seconds: digits only, saturating past the cap */
        int64_t cap_s = max_ms / 1000 + 1, secs = 0;
        for (; c.p < c.end; c.p++) {
            if (!is_digit(*c.p))
                return -1;
            if (secs < cap_s)
                secs = secs * 10 + (*c.p - '0');
        }
        return secs >= cap_s ? max_ms : (secs * 1000 < max_ms ? secs * 1000 : max_ms);
    }

    int64_t at_s;
    if (!parse_http_date(&c, &at_s))
        return -1;
    /* years 0..9999: |at_ms| < 2.6e14, far from overflow; now_wall_ms may be anything */
    int64_t at_ms = at_s * 1000;
    if (now_wall_ms >= at_ms)
        return 0;
    if (now_wall_ms < 0 && at_ms > INT64_MAX + now_wall_ms)
        return max_ms;
    int64_t delay = at_ms - now_wall_ms;
    return delay < max_ms ? delay : max_ms;
}
