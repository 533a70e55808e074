/*
 * call_tracker — see call_tracker.h.
 *
 * Owns: a hash table of channel legs keyed by Unique-ID, the calls they belong to
 * (a list ordered by first sighting, for expiry and eviction), a FIFO of finished legs
 * ("tombstones") and the operator's time zone table. One thread: whoever feeds the
 * events; on_signal runs on that thread and must not call back into the tracker.
 *
 * Legs and calls.
 *  - A leg is created by the first channel event that names it (CHANNEL_CREATE, or a
 *    later one after a reconnect), or as a placeholder when another leg's event names
 *    it as its partner (variable_other_loopback_leg_uuid, Other-Leg-Unique-ID,
 *    variable_originator, Channel-Call-UUID, variable_other_loopback_from_uuid).
 *    Linking two legs of different calls merges the calls.
 *  - Each leg may have a parent, the leg that placed it (loopback A of loopback B,
 *    the originator of a bridged B leg). The call's root is the top of the chain of
 *    its first leg: it is the customer's leg, its UUID is call_id (a placeholder's
 *    UUID is fine: the B leg alone still yields the A leg's UUID, so a replay or a
 *    reconnect produces the same event_id).
 *  - A call ends when every leg that has been seen has had CHANNEL_HANGUP_COMPLETE.
 *    Its legs stay in the table as tombstones (the last CT_TOMBSTONES legs), so a
 *    duplicated or late event of a finished call does not start a new one.
 *
 * Per-call data, not per-leg: each field keeps the value with the highest priority
 * seen so far. The priority is 2 for an event of the root leg, 1 for any other leg
 * (the domain adds its source order in the low nibble). Caller and callee are taken
 * as dialled: the first value at that priority wins, and on an A leg whose caller ID
 * FreeSWITCH has flipped after answer (variable_channel_cid_flipped=yes) the caller is
 * Caller-Orig-Caller-ID-Number. Causes, times and the SIP details take the latest
 * value at that priority.
 *
 * Times. The instants come from the events' microsecond clocks:
 * Caller-Channel-Created-Time / -Answered-Time / -Hangup-Time, or Event-Date-Timestamp
 * of the CREATE / ANSWER / HANGUP(_COMPLETE) event when those are 0. duration and
 * billsec are the exact elapsed microseconds truncated to whole seconds (FreeSWITCH's
 * own variable_duration subtracts whole epoch seconds, so it says 2 or 3 for the same
 * 2.5 s call depending on where the second boundary falls). time_* are printed in
 * options.timezone with an offset table read once, at creation, from the zone's TZif
 * file (/usr/share/zoneinfo): no TZ switch, no global state, any thread. Beyond the
 * file's last transition (2037 in Debian's "fat" files) the last offset applies.
 *
 * Memory: about 600 bytes for a live two-leg call (one 160-byte call, two 80-byte
 * legs, a few short strings); nothing of the events is kept.
 */
#include "call_tracker.h"

#include "esl_event.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CT_ID_MAX 64             /* longest Unique-ID tracked */
#define CT_VALUE_MAX 255         /* longer header values are ignored, not truncated */
#define CT_LEGS_MAX 64           /* legs one call may gather */
#define CT_TOMBSTONES 4096       /* finished legs remembered */
#define CT_DEPTH_MAX CT_LEGS_MAX /* bound on parent-chain walks */
#define CT_DEFAULT_AGE_MS (4LL * 3600 * 1000)
#define CT_DEFAULT_MAX_CALLS 100000
#define CT_ZONEINFO "/usr/share/zoneinfo"
#define CT_TZIF_MAX (512 * 1024)

/* Per-call fields: strings first, then times (microseconds since the epoch). */
enum ct_field {
    F_FROM,
    F_TO,
    F_DIRECTION,
    F_DOMAIN,
    F_SIP_CALL_ID,
    F_HOTLINE,
    F_RECEIVE_DEST,
    F_CAUSE,
    F_DISPOSITION,
    F_STR_COUNT,
    T_CREATED = F_STR_COUNT,
    T_ANSWERED,
    T_HUNGUP,
    F_COUNT
};

/* Does a later value at the same priority replace the earlier one? */
static const bool field_latest_wins[F_COUNT] = {
    [F_DOMAIN] = true,  [F_SIP_CALL_ID] = true, [F_CAUSE] = true,  [F_DISPOSITION] = true,
    [T_CREATED] = true, [T_ANSWERED] = true,    [T_HUNGUP] = true,
};

enum ct_kind { K_CREATE, K_PROGRESS, K_ANSWER, K_BRIDGE, K_HANGUP, K_COMPLETE };

static const struct {
    const char *name;
    enum ct_kind kind;
} event_kinds[] = {
    {"CHANNEL_CREATE", K_CREATE},           {"CHANNEL_PROGRESS", K_PROGRESS},
    {"CHANNEL_PROGRESS_MEDIA", K_PROGRESS}, {"CHANNEL_ANSWER", K_ANSWER},
    {"CHANNEL_BRIDGE", K_BRIDGE},           {"CHANNEL_UNBRIDGE", K_BRIDGE},
    {"CHANNEL_HANGUP", K_HANGUP},           {"CHANNEL_HANGUP_COMPLETE", K_COMPLETE},
};

enum ct_role { ROLE_PEER, ROLE_PARENT, ROLE_CHILD }; /* what the other leg is to this one */

enum { LEG_SEEN = 1, LEG_COMPLETE = 2 };

struct ct_call;

struct ct_leg {
    struct ct_leg *hnext;  /* hash chain */
    struct ct_leg *cnext;  /* next leg of the call (insertion order), or next tombstone */
    struct ct_call *call;  /* NULL once the call has ended (a tombstone) */
    struct ct_leg *parent; /* the leg that placed this one, same call; NULL for a root */
    uint32_t hash;
    uint8_t flags;
    char uuid[]; /* NUL-terminated, at most CT_ID_MAX */
};

struct ct_call {
    struct ct_call *older, *newer; /* by first sighting */
    struct ct_leg *legs;
    int64_t born_ms;
    int64_t t[F_COUNT - T_CREATED];
    char *s[F_STR_COUNT];
    uint8_t prio[F_COUNT]; /* (rank << 4) | sub-priority; 0 = unset */
    uint8_t nlegs;
};

/* UTC offsets of one zone: off[i] applies from at[i]; off0 before at[0]. */
struct ct_zone {
    int64_t *at;
    int32_t *off;
    size_t n;
    int32_t off0;
};

struct call_tracker {
    call_signal_fn on_signal;
    void *closure;
    char *node;
    char *default_domain;
    int64_t max_age_ms;
    size_t max_calls;
    struct ct_zone zone;

    struct ct_leg **buckets;
    size_t bucket_mask;
    size_t nlegs; /* including tombstones */

    struct ct_call *oldest, *newest;
    size_t ncalls;

    struct ct_leg *tomb_head, *tomb_tail;
    size_t ntombs;
};

/* ---- small helpers ---------------------------------------------------------------- */

static const char *get(const struct esl_event *ev, const char *name)
{
    const char *v = esl_event_get(ev, name);
    return v && *v ? v : NULL;
}

static bool id_ok(const char *id)
{
    if (!id || !*id)
        return false;
    size_t n = 0;
    for (; id[n]; n++)
        if (n >= CT_ID_MAX || !isgraph((unsigned char)id[n]))
            return false;
    return true;
}

/* A positive decimal microsecond timestamp, or 0. */
static int64_t parse_us(const char *s)
{
    if (!s || !isdigit((unsigned char)*s))
        return 0;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v <= 0)
        return 0;
    return v;
}

static uint32_t hash_id(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* ---- time zone (RFC 8536 TZif) ---------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool zone_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 200 || name[0] == '/' || strstr(name, "..") || strstr(name, "/."))
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
            return false;
    return name[0] != '.';
}

/* Parses a TZif image (the 64-bit block of v2+ files, else the v1 block). */
static bool zone_parse(struct ct_zone *z, const unsigned char *b, size_t len)
{
    size_t pos = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (len - pos < 44 || memcmp(b + pos, "TZif", 4) != 0)
            return false;
        bool v2 = b[pos + 4] >= '2';
        uint64_t isut = be32(b + pos + 20), isstd = be32(b + pos + 24), leap = be32(b + pos + 28);
        uint64_t timecnt = be32(b + pos + 32), typecnt = be32(b + pos + 36);
        uint64_t charcnt = be32(b + pos + 40);
        uint64_t tsize = pass == 0 ? 4 : 8;
        uint64_t need =
            timecnt * tsize + timecnt + typecnt * 6 + charcnt + leap * (tsize + 4) + isstd + isut;
        pos += 44;
        if (typecnt == 0 || need > len - pos)
            return false;
        if (pass == 0 && v2) { /* skip the 32-bit block, use the 64-bit one */
            pos += (size_t)need;
            continue;
        }
        const unsigned char *times = b + pos, *idx = times + timecnt * tsize;
        const unsigned char *types = idx + timecnt;
        if (timecnt) {
            z->at = calloc((size_t)timecnt, sizeof *z->at);
            z->off = calloc((size_t)timecnt, sizeof *z->off);
            if (!z->at || !z->off)
                return false;
        }
        z->off0 = (int32_t)be32(types);
        for (size_t i = 0; i < timecnt; i++) {
            if (idx[i] >= typecnt)
                return false;
            z->at[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
            z->off[i] = (int32_t)be32(types + 6 * (size_t)idx[i]);
            if (i && z->at[i] <= z->at[i - 1])
                return false;
        }
        z->n = (size_t)timecnt;
        return true;
    }
    return false;
}

/* NULL, "", "UTC" and "Etc/UTC" need no file. */
static bool zone_load(struct ct_zone *z, const char *name)
{
    memset(z, 0, sizeof *z);
    if (!name || !*name || strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return true;
    if (!zone_name_ok(name))
        return false;
    char path[256];
    snprintf(path, sizeof path, "%s/%s", CT_ZONEINFO, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char *buf = malloc(CT_TZIF_MAX);
    size_t len = buf ? fread(buf, 1, CT_TZIF_MAX, f) : 0;
    fclose(f);
    bool ok = buf && len < CT_TZIF_MAX && zone_parse(z, buf, len);
    free(buf);
    return ok;
}

static void zone_free(struct ct_zone *z)
{
    free(z->at);
    free(z->off);
}

static int32_t zone_offset(const struct ct_zone *z, int64_t t)
{
    if (z->n == 0 || t < z->at[0])
        return z->off0;
    size_t lo = 0, hi = z->n; /* invariant: at[lo] <= t, at[hi] > t (or hi == n) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->off[lo];
}

/* "YYYY-MM-DD HH:MM:SS" local time of a microsecond timestamp. */
static bool format_time(const struct ct_zone *z, int64_t us, char *out, size_t cap)
{
    if (us <= 0)
        return false;
    int64_t secs = us / 1000000;
    time_t local = (time_t)(secs + zone_offset(z, secs));
    struct tm tm;
    if (!gmtime_r(&local, &tm))
        return false;
    return strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm) > 0;
}

/* ---- domains ---------------------------------------------------------------------- */

static const char *const domain_sources[] = {
    "variable_domain_name",  "variable_dialed_domain", "variable_requested_domain_name",
    "variable_sip_req_host", "variable_sip_to_host",   "variable_sip_from_host",
    "variable_presence_id", /* its host part */
};
#define DOMAIN_SOURCES (sizeof domain_sources / sizeof domain_sources[0])

/*
 * A valid hostname, lowercased into out: dot-separated labels of 1..63 letters, digits
 * and hyphens (no hyphen first or last), at most 253 characters, one trailing dot
 * allowed; the last label must not be all digits (rejects IPv4 and numbers; IPv6
 * literals fail on ':' and '[').
 */
static bool hostname_copy(const char *s, size_t n, char *out, size_t cap)
{
    if (n && s[n - 1] == '.')
        n--;
    if (n == 0 || n > 253 || n >= cap)
        return false;
    size_t label = 0;
    bool digits_only = true;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : '.';
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            if (i == n && digits_only)
                return false;
            if (i < n)
                out[i] = '.';
            label = 0;
            digits_only = true;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '-')
            return false;
        if (label == 0 && c == '-')
            return false;
        if (++label > 63)
            return false;
        if (!isdigit((unsigned char)c))
            digits_only = false;
        out[i] = (char)tolower((unsigned char)c);
    }
    out[n] = '\0';
    return true;
}

/* Index into domain_sources of the first usable source, or -1. */
static int domain_resolve(const struct esl_event *ev, char *out, size_t cap)
{
    for (size_t i = 0; i < DOMAIN_SOURCES; i++) {
        const char *v = get(ev, domain_sources[i]);
        if (!v)
            continue;
        if (i == DOMAIN_SOURCES - 1) { /* presence_id: user@host */
            const char *at = strrchr(v, '@');
            if (!at)
                continue;
            v = at + 1;
        }
        if (hostname_copy(v, strlen(v), out, cap))
            return (int)i;
    }
    return -1;
}

bool esl_event_domain(const struct esl_event *ev, const char *fallback, char *out, size_t cap)
{
    if (!out || cap == 0)
        return false;
    if (ev && domain_resolve(ev, out, cap) >= 0)
        return true;
    if (fallback && hostname_copy(fallback, strlen(fallback), out, cap))
        return true;
    out[0] = '\0';
    return false;
}

/* ---- the leg table ---------------------------------------------------------------- */

static struct ct_leg *leg_find(const struct call_tracker *t, const char *uuid)
{
    uint32_t h = hash_id(uuid);
    for (struct ct_leg *l = t->buckets[h & t->bucket_mask]; l; l = l->hnext)
        if (l->hash == h && strcmp(l->uuid, uuid) == 0)
            return l;
    return NULL;
}

/* Doubles the bucket array when the table is full; keeps the old one on failure. */
static void table_grow(struct call_tracker *t)
{
    size_t n = (t->bucket_mask + 1) * 2;
    struct ct_leg **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i <= t->bucket_mask; i++) {
        struct ct_leg *l = t->buckets[i];
        while (l) {
            struct ct_leg *next = l->hnext;
            l->hnext = b[l->hash & (n - 1)];
            b[l->hash & (n - 1)] = l;
            l = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->bucket_mask = n - 1;
}

static void table_remove(struct call_tracker *t, struct ct_leg *leg)
{
    struct ct_leg **pp = &t->buckets[leg->hash & t->bucket_mask];
    while (*pp && *pp != leg)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = leg->hnext;
    t->nlegs--;
}

/* A new leg, appended to call's legs; NULL when out of memory. */
static struct ct_leg *leg_new(struct call_tracker *t, const char *uuid, struct ct_call *call)
{
    size_t n = strlen(uuid);
    struct ct_leg *leg = calloc(1, sizeof *leg + n + 1);
    if (!leg)
        return NULL;
    memcpy(leg->uuid, uuid, n + 1);
    leg->hash = hash_id(uuid);
    leg->call = call;
    struct ct_leg **pp = &call->legs;
    while (*pp)
        pp = &(*pp)->cnext;
    *pp = leg;
    call->nlegs++;
    if (t->nlegs > t->bucket_mask)
        table_grow(t);
    struct ct_leg **bucket = &t->buckets[leg->hash & t->bucket_mask];
    leg->hnext = *bucket;
    *bucket = leg;
    t->nlegs++;
    return leg;
}

/* The legs of a finished call become tombstones; the oldest tombstones go. */
static void legs_bury(struct call_tracker *t, struct ct_leg *legs)
{
    while (legs) {
        struct ct_leg *leg = legs;
        legs = leg->cnext;
        leg->call = NULL;
        leg->parent = NULL;
        leg->cnext = NULL;
        if (t->tomb_tail)
            t->tomb_tail->cnext = leg;
        else
            t->tomb_head = leg;
        t->tomb_tail = leg;
        t->ntombs++;
    }
    while (t->ntombs > CT_TOMBSTONES) {
        struct ct_leg *old = t->tomb_head;
        t->tomb_head = old->cnext;
        if (!t->tomb_head)
            t->tomb_tail = NULL;
        t->ntombs--;
        table_remove(t, old);
        free(old);
    }
}

/* ---- calls ------------------------------------------------------------------------ */

static struct ct_leg *leg_top(struct ct_leg *leg)
{
    for (int i = 0; leg->parent && i < CT_DEPTH_MAX; i++)
        leg = leg->parent;
    return leg;
}

static struct ct_leg *call_root(const struct ct_call *c)
{
    return leg_top(c->legs);
}

/* Is `anc` on the parent chain of `leg` (or leg itself)? */
static bool leg_descends(const struct ct_leg *leg, const struct ct_leg *anc)
{
    for (int i = 0; leg && i <= CT_DEPTH_MAX; i++, leg = leg->parent)
        if (leg == anc)
            return true;
    return false;
}

static void age_unlink(struct call_tracker *t, struct ct_call *c)
{
    if (c->older)
        c->older->newer = c->newer;
    else
        t->oldest = c->newer;
    if (c->newer)
        c->newer->older = c->older;
    else
        t->newest = c->older;
    c->older = c->newer = NULL;
    t->ncalls--;
}

static void call_free_data(struct ct_call *c)
{
    for (int f = 0; f < F_STR_COUNT; f++)
        free(c->s[f]);
    free(c);
}

static bool field_set(const struct ct_call *c, int f)
{
    return f < F_STR_COUNT ? c->s[f] != NULL : c->t[f - T_CREATED] != 0;
}

/* Stores a string field if `prio` beats what the call holds. */
static void call_set_str(struct ct_call *c, enum ct_field f, const char *v, uint8_t prio)
{
    if (!v || strlen(v) > CT_VALUE_MAX)
        return;
    if (c->s[f] && (prio < c->prio[f] || (prio == c->prio[f] && !field_latest_wins[f])))
        return;
    if (!c->s[f] || strcmp(c->s[f], v) != 0) {
        char *copy = strdup(v);
        if (!copy)
            return;
        free(c->s[f]);
        c->s[f] = copy;
    }
    c->prio[f] = prio;
}

static void call_set_time(struct ct_call *c, enum ct_field f, int64_t us, uint8_t prio)
{
    if (us <= 0 || (field_set(c, f) && prio < c->prio[f]))
        return;
    c->t[f - T_CREATED] = us;
    c->prio[f] = prio;
}

/* Fields learnt from a leg that is no longer the root drop to rank 1. */
static void call_demote(struct ct_call *c)
{
    for (int f = 0; f < F_COUNT; f++)
        if (c->prio[f] >> 4 >= 2)
            c->prio[f] = (uint8_t)(1 << 4 | (c->prio[f] & 15));
}

/*
 * Folds call `src` into `dst` (the older of the two, so the age list stays ordered).
 * `src_root` was src's root before the link that caused the merge.
 */
static void calls_merge(struct call_tracker *t, struct ct_call *dst, struct ct_call *src,
                        const struct ct_leg *src_root)
{
    struct ct_leg **pp = &dst->legs;
    while (*pp)
        pp = &(*pp)->cnext;
    *pp = src->legs;
    for (struct ct_leg *l = src->legs; l; l = l->cnext)
        l->call = dst;
    dst->nlegs = (uint8_t)(dst->nlegs + src->nlegs);
    src->legs = NULL;

    if (call_root(dst) == src_root)
        call_demote(dst);
    else
        call_demote(src);
    for (int f = 0; f < F_COUNT; f++) {
        if (!field_set(src, f) || (field_set(dst, f) && dst->prio[f] >= src->prio[f]))
            continue;
        if (f < F_STR_COUNT) {
            free(dst->s[f]);
            dst->s[f] = src->s[f];
            src->s[f] = NULL;
        } else {
            dst->t[f - T_CREATED] = src->t[f - T_CREATED];
        }
        dst->prio[f] = src->prio[f];
    }
    age_unlink(t, src);
    call_free_data(src);
}

static void call_finish(struct call_tracker *t, struct ct_call *c, bool complete);

/* A new call holding one new leg; evicts the oldest call when full. */
static struct ct_leg *call_new(struct call_tracker *t, const char *uuid, int64_t now_ms)
{
    if (t->ncalls >= t->max_calls && t->oldest)
        call_finish(t, t->oldest, false);
    struct ct_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    struct ct_leg *leg = leg_new(t, uuid, c);
    if (!leg) {
        free(c);
        return NULL;
    }
    c->born_ms = now_ms;
    c->older = t->newest;
    if (t->newest)
        t->newest->newer = c;
    else
        t->oldest = c;
    t->newest = c;
    t->ncalls++;
    return leg;
}

/* Records that `other` is this leg's partner in role `role`; may merge two calls. */
static void leg_link(struct call_tracker *t, struct ct_leg *leg, const char *other,
                     enum ct_role role)
{
    if (!id_ok(other) || strcmp(other, leg->uuid) == 0)
        return;
    struct ct_leg *o = leg_find(t, other);
    if (o && !o->call)
        return; /* a finished call's leg */
    struct ct_call *merge_src = NULL;
    struct ct_leg *src_root = NULL;
    if (!o) {
        if (leg->call->nlegs >= CT_LEGS_MAX)
            return;
        o = leg_new(t, other, leg->call);
        if (!o)
            return;
    } else if (o->call != leg->call) {
        if (leg->call->nlegs + o->call->nlegs > CT_LEGS_MAX)
            return;
        merge_src = o->call->born_ms < leg->call->born_ms ? leg->call : o->call;
        src_root = call_root(merge_src);
    }
    if (role == ROLE_PARENT && !leg->parent && !leg_descends(o, leg))
        leg->parent = o;
    else if (role == ROLE_CHILD && !o->parent && !leg_descends(leg, o))
        o->parent = leg;
    if (merge_src)
        calls_merge(t, merge_src == o->call ? leg->call : o->call, merge_src, src_root);
}

static void event_links(struct call_tracker *t, struct ct_leg *leg, const struct esl_event *ev)
{
    const char *loop_other = get(ev, "variable_other_loopback_leg_uuid");
    const char *loop_leg = get(ev, "variable_loopback_leg");
    if (loop_other) {
        enum ct_role r = ROLE_PEER;
        if (loop_leg && strcmp(loop_leg, "B") == 0)
            r = ROLE_PARENT;
        else if (loop_leg && strcmp(loop_leg, "A") == 0)
            r = ROLE_CHILD;
        leg_link(t, leg, loop_other, r);
    }
    const char *other_leg = get(ev, "Other-Leg-Unique-ID");
    const char *other_type = get(ev, "Other-Type");
    if (other_leg) {
        enum ct_role r = ROLE_PEER;
        if (other_type && strcmp(other_type, "originator") == 0)
            r = ROLE_PARENT;
        else if (other_type && strcmp(other_type, "originatee") == 0)
            r = ROLE_CHILD;
        leg_link(t, leg, other_leg, r);
    }
    leg_link(t, leg, get(ev, "variable_originator"), ROLE_PARENT);
    leg_link(t, leg, get(ev, "Channel-Call-UUID"), ROLE_PARENT);
    leg_link(t, leg, get(ev, "variable_other_loopback_from_uuid"), ROLE_PEER);
}

/* ---- what an event says about its call -------------------------------------------- */

static int64_t event_time(const struct esl_event *ev, const char *header, bool use_event_date)
{
    int64_t us = parse_us(get(ev, header));
    if (!us && use_event_date)
        us = parse_us(get(ev, "Event-Date-Timestamp"));
    return us;
}

static void event_record(struct ct_call *c, const struct esl_event *ev, enum ct_kind kind,
                         bool is_root)
{
    uint8_t p = (uint8_t)((is_root ? 2 : 1) << 4);
    const char *flipped = get(ev, "variable_channel_cid_flipped");
    const char *from = get(ev, "Caller-Caller-ID-Number");
    if (flipped && strcmp(flipped, "yes") == 0) {
        from = get(ev, "Caller-Orig-Caller-ID-Number");
        if (!from)
            from = get(ev, "Caller-Callee-ID-Number");
    }
    call_set_str(c, F_FROM, from, p);
    const char *dest = get(ev, "Caller-Destination-Number");
    call_set_str(c, F_TO, dest, p);
    call_set_str(c, F_DIRECTION, get(ev, "Call-Direction"), p);
    call_set_str(c, F_SIP_CALL_ID, get(ev, "variable_sip_call_id"), p);
    call_set_str(c, F_HOTLINE, get(ev, "variable_hotline"), p);
    if (!is_root && kind == K_ANSWER) /* the leg that picked up */
        call_set_str(c, F_RECEIVE_DEST, dest, p);

    char domain[256];
    int src = domain_resolve(ev, domain, sizeof domain);
    if (src >= 0)
        call_set_str(c, F_DOMAIN, domain, (uint8_t)(p | (15 - src)));

    if (kind == K_HANGUP || kind == K_COMPLETE) {
        const char *cause = get(ev, "Hangup-Cause");
        call_set_str(c, F_CAUSE, cause ? cause : get(ev, "variable_hangup_cause"), p);
    }
    call_set_str(c, F_DISPOSITION, get(ev, "variable_sip_hangup_disposition"), p);

    call_set_time(c, T_CREATED, event_time(ev, "Caller-Channel-Created-Time", kind == K_CREATE), p);
    call_set_time(c, T_ANSWERED, event_time(ev, "Caller-Channel-Answered-Time", kind == K_ANSWER),
                  p);
    call_set_time(
        c, T_HUNGUP,
        event_time(ev, "Caller-Channel-Hangup-Time", kind == K_HANGUP || kind == K_COMPLETE), p);
}

/* ---- the call signal -------------------------------------------------------------- */

/* From the customer's side: connected, or why not; "unknown" when the end was not seen. */
static const char *status_of(const char *cause, bool answered, bool complete)
{
    static const struct {
        const char *cause;
        const char *status;
    } map[] = {
        {"USER_BUSY", "busy-line"},        {"CALL_REJECTED", "busy-line"},
        {"NO_ANSWER", "no-answer"},        {"NO_USER_RESPONSE", "no-answer"},
        {"PROGRESS_TIMEOUT", "no-answer"}, {"ALLOTTED_TIMEOUT", "no-answer"},
        {"NORMAL_CLEARING", "no-answer"},  {"ORIGINATOR_CANCEL", "cancelled"},
    };
    if (!cause && !complete)
        return "unknown";
    if (answered)
        return "completed";
    if (!cause)
        return "unknown";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(cause, map[i].cause) == 0)
            return map[i].status;
    return "failed";
}

static void add_str(cJSON *o, const char *name, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

static void add_time(cJSON *o, const char *name, const struct ct_zone *z, int64_t us)
{
    char buf[32];
    add_str(o, name, format_time(z, us, buf, sizeof buf) ? buf : NULL);
}

/* Whole seconds from a to b (both known), never negative; -1 when unknown. */
static int64_t seconds_between(int64_t a_us, int64_t b_us)
{
    if (a_us <= 0 || b_us <= 0)
        return -1;
    return b_us > a_us ? (b_us - a_us) / 1000000 : 0;
}

static void add_seconds(cJSON *o, const char *name, int64_t s)
{
    if (s >= 0)
        cJSON_AddNumberToObject(o, name, (double)s);
    else
        cJSON_AddNullToObject(o, name);
}

/* The signal's JSON text (new string), or NULL when out of memory. */
static char *signal_build(const struct call_tracker *t, const struct ct_call *c,
                          const char *call_id, const char *domain, bool complete)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    const int64_t created = c->t[T_CREATED - T_CREATED], answered = c->t[T_ANSWERED - T_CREATED];
    const int64_t hungup = c->t[T_HUNGUP - T_CREATED];
    char event_id[CT_ID_MAX + 16];
    snprintf(event_id, sizeof event_id, "call-%s-end", call_id);
    cJSON_AddStringToObject(o, "event_id", event_id);
    cJSON_AddStringToObject(o, "call_id", call_id);
    add_str(o, "sip_call_id", c->s[F_SIP_CALL_ID]);
    add_str(o, "domain", domain);
    add_str(o, "direction", c->s[F_DIRECTION]);
    add_str(o, "from_number", c->s[F_FROM]);
    add_str(o, "to_number", c->s[F_TO]);
    if (c->s[F_HOTLINE])
        cJSON_AddStringToObject(o, "hotline", c->s[F_HOTLINE]);
    const char *rd = c->s[F_RECEIVE_DEST];
    if (rd && !(c->s[F_TO] && strcmp(rd, c->s[F_TO]) == 0))
        cJSON_AddStringToObject(o, "receive_dest", rd);
    add_time(o, "time_started", &t->zone, created);
    add_time(o, "time_answered", &t->zone, answered);
    add_time(o, "time_ended", &t->zone, hungup);
    add_seconds(o, "duration", seconds_between(created, hungup));
    add_seconds(o, "billsec", answered ? seconds_between(answered, hungup) : 0);
    cJSON_AddStringToObject(o, "state", !complete ? "unknown" : answered ? "answered" : "missed");
    cJSON_AddStringToObject(o, "status", status_of(c->s[F_CAUSE], answered != 0, complete));
    add_str(o, "hangup_cause", c->s[F_CAUSE]);
    add_str(o, "sip_hangup_disposition", c->s[F_DISPOSITION]);
    add_str(o, "node", t->node);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/*
 * Takes the call out of the tracker, then hands its signal to on_signal (so the
 * callback sees a consistent tracker). `complete`: its end was seen.
 */
static void call_finish(struct call_tracker *t, struct ct_call *c, bool complete)
{
    char call_id[CT_ID_MAX + 1], domain[256];
    snprintf(call_id, sizeof call_id, "%s", call_root(c)->uuid);
    const char *d = c->s[F_DOMAIN] ? c->s[F_DOMAIN] : t->default_domain;
    snprintf(domain, sizeof domain, "%s", d ? d : "");
    char *json = signal_build(t, c, call_id, d ? domain : NULL, complete);

    age_unlink(t, c);
    legs_bury(t, c->legs);
    c->legs = NULL;
    call_free_data(c);
    if (json && t->on_signal)
        t->on_signal(t->closure, d ? domain : NULL, call_id, json);
    else
        cJSON_free(json);
}

/* ---- public API ------------------------------------------------------------------- */

struct call_tracker *call_tracker_new(const struct call_tracker_options *opts,
                                      call_signal_fn on_signal, void *closure)
{
    static const struct call_tracker_options defaults = {0};
    if (!opts)
        opts = &defaults;
    struct call_tracker *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->on_signal = on_signal;
    t->closure = closure;
    t->max_age_ms = opts->max_call_age_ms > 0 ? opts->max_call_age_ms : CT_DEFAULT_AGE_MS;
    t->max_calls = opts->max_calls > 0 ? opts->max_calls : CT_DEFAULT_MAX_CALLS;
    t->bucket_mask = 1023;
    t->buckets = calloc(t->bucket_mask + 1, sizeof *t->buckets);
    bool ok = t->buckets && zone_load(&t->zone, opts->timezone);
    if (ok && opts->node)
        ok = (t->node = strdup(opts->node)) != NULL;
    if (ok && opts->default_domain) {
        char d[256];
        ok = hostname_copy(opts->default_domain, strlen(opts->default_domain), d, sizeof d) &&
             (t->default_domain = strdup(d)) != NULL;
    }
    if (!ok) {
        call_tracker_free(t);
        return NULL;
    }
    return t;
}

/* Live calls are dropped without a signal. */
void call_tracker_free(struct call_tracker *t)
{
    if (!t)
        return;
    while (t->oldest) {
        struct ct_call *c = t->oldest;
        age_unlink(t, c);
        legs_bury(t, c->legs);
        call_free_data(c);
    }
    while (t->tomb_head) {
        struct ct_leg *l = t->tomb_head;
        t->tomb_head = l->cnext;
        free(l);
    }
    free(t->buckets);
    zone_free(&t->zone);
    free(t->node);
    free(t->default_domain);
    free(t);
}

void call_tracker_on_event(struct call_tracker *t, const struct esl_event *ev, int64_t now_ms)
{
    const char *name = get(ev, "Event-Name");
    const char *uuid = get(ev, "Unique-ID");
    if (!name || !id_ok(uuid))
        return;
    size_t k = 0;
    while (k < sizeof event_kinds / sizeof event_kinds[0] && strcmp(event_kinds[k].name, name))
        k++;
    if (k == sizeof event_kinds / sizeof event_kinds[0])
        return;
    enum ct_kind kind = event_kinds[k].kind;

    struct ct_leg *leg = leg_find(t, uuid);
    if (leg && !leg->call)
        return; /* late or replayed event of a finished call */
    if (!leg && !(leg = call_new(t, uuid, now_ms)))
        return;
    leg->flags |= LEG_SEEN;
    event_links(t, leg, ev);
    struct ct_call *c = leg->call;
    event_record(c, ev, kind, call_root(c) == leg);
    if (kind != K_COMPLETE)
        return;
    leg->flags |= LEG_COMPLETE;
    for (const struct ct_leg *l = c->legs; l; l = l->cnext)
        if ((l->flags & (LEG_SEEN | LEG_COMPLETE)) == LEG_SEEN)
            return;
    call_finish(t, c, true);
}

void call_tracker_expire(struct call_tracker *t, int64_t now_ms)
{
    while (t->oldest && now_ms - t->oldest->born_ms > t->max_age_ms)
        call_finish(t, t->oldest, false);
}

size_t call_tracker_live_calls(const struct call_tracker *t)
{
    return t->ncalls;
}
