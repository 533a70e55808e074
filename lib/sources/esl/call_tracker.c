/*
 * call_tracker — see call_tracker.h.
 *
 * Owns: a hash table of channel legs keyed by Unique-ID, the calls they belong to
 * (a list ordered by first sighting, for expiry and eviction), a FIFO of finished legs
 * ("tombstones") and the operator's time zone (a tzfile, read once at creation). One
 * thread: whoever feeds the events; on_signal and on_update run on that thread and must
 * not call back into the tracker. Domains come from esl_domain, hostname rules from
 * hostname, local times from tzfile; the JSON text of a call is built by
 * call_tracker_record.c (call_tracker_internal.h is what the two files share).
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
 * billsec are FreeSWITCH's own CDR figures, variable_duration / variable_billsec of
 * CHANNEL_HANGUP_COMPLETE (the root's win, as for every field), else FreeSWITCH's rule
 * over the instants (call_tracker_record.c). time_* are printed in options.timezone
 * (tzfile.h).
 *
 * Live records. Each call holds `live`, the furthest live state it has reached (a
 * merge keeps the further of the two), and `announced` / `live_sent`, the leg whose
 * UUID named its last live record and that record's state. Merges and the end of each
 * event only update these; live_flush(), once per event, after the event is fully
 * applied, turns them into callbacks: a "merged" record for each call_id that stopped
 * naming the call (collected in t->retired; an absorbed call's call_id that is the
 * root again is adopted instead, with the state it showed), then one record when the
 * call has reached a state not yet shown under its current call_id. So a call_id gets
 * at most one record per state, in order, the callback never sees a half-applied
 * event, and without an update callback the cost is three small fields per call.
 *
 * SIP dialogs. A second table maps each SIP Call-ID to the first leg seen with it
 * (event_dialog): another channel with the same Call-ID on this node is the other side
 * of a hairpin and joins that leg's call. Finished legs keep their entry while they
 * are tombstones, so the late end of a hairpin already described is recognised.
 *
 * Memory: about 770 bytes for a live two-leg SIP call (one ~220-byte call, two ~100-byte
 * legs, its Call-ID indexed once, a few short strings); nothing of the events is kept.
 */
#include "sources/esl/call_tracker.h"

#include "sources/esl/call_tracker_internal.h"
#include "sources/esl/esl_event.h"
#include "core/hostname.h"
#include "core/tzfile.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT_VALUE_MAX 255         /* longer header values are ignored, not truncated */
#define CT_LEGS_MAX 64           /* legs one call may gather */
#define CT_TOMBSTONES 4096       /* finished legs remembered */
#define CT_DEPTH_MAX CT_LEGS_MAX /* bound on parent-chain walks */
#define CT_DEFAULT_AGE_MS (4LL * 3600 * 1000)
#define CT_DEFAULT_MAX_CALLS 100000
#define CT_RETIRED_MAX 8 /* call_ids one event can retire: 5 links (merges) + 1 root change */

/* Does a later value at the same priority replace the earlier one? */
static const bool field_latest_wins[F_COUNT] = {
    [F_DOMAIN] = true,    [F_SIP_CALL_ID] = true, [F_CAUSE] = true,     [F_DISPOSITION] = true,
    [F_RANG_DEST] = true, [F_BILLSEC] = true,     [F_DURATION] = true,  [F_EXTRA + 0] = true,
    [F_EXTRA + 1] = true, [F_EXTRA + 2] = true,   [F_EXTRA + 3] = true, [T_CREATED] = true,
    [T_ANSWERED] = true,  [T_HUNGUP] = true,
};
_Static_assert(CALL_EXTRA_COUNT == 4, "field_latest_wins lists every extra member");

enum ct_kind { K_CREATE, K_PROGRESS, K_ANSWER, K_BRIDGE, K_HANGUP, K_COMPLETE };

static const char *const live_names[] = {
    [LIVE_NONE] = "none",
    [LIVE_DIALING] = "dialing",
    [LIVE_RINGING] = "ringing",
    [LIVE_EARLY] = "early",
    [LIVE_ANSWERED] = "answered",
    [LIVE_BRIDGED] = "bridged",
    [LIVE_HANGING_UP] = "hanging_up",
};

/* `live`: the state the event moves its call to, before event_live()'s adjustments. */
static const struct {
    const char *name;
    enum ct_kind kind;
    enum ct_live live;
} event_kinds[] = {
    {"CHANNEL_CREATE", K_CREATE, LIVE_RINGING},
    {"CHANNEL_PROGRESS", K_PROGRESS, LIVE_RINGING},
    {"CHANNEL_PROGRESS_MEDIA", K_PROGRESS, LIVE_EARLY},
    {"CHANNEL_ANSWER", K_ANSWER, LIVE_ANSWERED},
    {"CHANNEL_BRIDGE", K_BRIDGE, LIVE_BRIDGED},
    {"CHANNEL_UNBRIDGE", K_BRIDGE, LIVE_NONE},
    {"CHANNEL_HANGUP", K_HANGUP, LIVE_HANGING_UP},
    {"CHANNEL_HANGUP_COMPLETE", K_COMPLETE, LIVE_HANGING_UP},
};

enum ct_role { ROLE_PEER, ROLE_PARENT, ROLE_CHILD }; /* what the other leg is to this one */

enum {
    LEG_SEEN = 1,
    LEG_COMPLETE = 2,
    LEG_OUTBOUND = 4,  /* Call-Direction outbound: FreeSWITCH placed it */
    LEG_DIALOG = 8,    /* joined its parent through their shared SIP dialog */
    LEG_CANCELLED = 16 /* ended ORIGINATOR_CANCEL */
};

struct ct_leg {
    struct ct_leg *hnext;  /* hash chain */
    struct ct_leg *snext;  /* SIP dialog index chain (when sip is set) */
    char *sip;             /* the SIP Call-ID it is indexed under; NULL: not indexed */
    struct ct_leg *cnext;  /* next leg of the call (insertion order), or next tombstone */
    struct ct_call *call;  /* NULL once the call has ended (a tombstone) */
    struct ct_leg *parent; /* the leg that placed this one, same call; NULL for a root */
    uint32_t hash;
    uint8_t flags;
    char uuid[]; /* NUL-terminated, at most CT_ID_MAX */
};

struct call_tracker {
    call_signal_fn on_signal;
    void *closure;
    call_update_fn on_update;
    void *update_closure;
    char *node;
    struct tzfile *zone;      /* NULL: UTC */
    struct ct_record_env env; /* borrows node and zone */
    char *extra_headers[CALL_EXTRA_COUNT];
    char *default_domain;
    int64_t max_age_ms;
    size_t max_calls;

    struct ct_leg **buckets;
    size_t bucket_mask;
    size_t nlegs; /* including tombstones */

    /* SIP Call-ID -> the first leg seen in that dialog (tombstones included) */
    struct ct_leg **sip_buckets;
    size_t sip_mask;
    size_t nsip;

    struct ct_call *oldest, *newest;
    size_t ncalls;

    struct ct_leg *tomb_head, *tomb_tail;
    size_t ntombs;

    /* call_ids that stopped naming a call during the current event (see live_flush) */
    struct {
        char uuid[CT_ID_MAX + 1];
        uint8_t live_sent; /* the state its last record showed */
    } retired[CT_RETIRED_MAX];
    size_t nretired;
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

/* ---- the SIP dialog index ---------------------------------------------------------- */

static struct ct_leg *sip_find(const struct call_tracker *t, const char *sip)
{
    for (struct ct_leg *l = t->sip_buckets[hash_id(sip) & t->sip_mask]; l; l = l->snext)
        if (strcmp(l->sip, sip) == 0)
            return l;
    return NULL;
}

static void sip_unlink(struct call_tracker *t, struct ct_leg *leg)
{
    if (!leg->sip)
        return;
    struct ct_leg **pp = &t->sip_buckets[hash_id(leg->sip) & t->sip_mask];
    while (*pp && *pp != leg)
        pp = &(*pp)->snext;
    if (*pp)
        *pp = leg->snext;
    free(leg->sip);
    leg->sip = NULL;
    leg->snext = NULL;
    t->nsip--;
}

static void sip_grow(struct call_tracker *t)
{
    size_t n = (t->sip_mask + 1) * 2;
    struct ct_leg **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i <= t->sip_mask; i++) {
        struct ct_leg *l = t->sip_buckets[i];
        while (l) {
            struct ct_leg *next = l->snext;
            l->snext = b[hash_id(l->sip) & (n - 1)];
            b[hash_id(l->sip) & (n - 1)] = l;
            l = next;
        }
    }
    free(t->sip_buckets);
    t->sip_buckets = b;
    t->sip_mask = n - 1;
}

/* Indexes leg under sip (a finished dialog's leg under the same Call-ID gives way). */
static void sip_add(struct call_tracker *t, struct ct_leg *leg, const char *sip)
{
    if (leg->sip)
        return;
    struct ct_leg *old = sip_find(t, sip);
    if (old && old->call)
        return;
    if (old)
        sip_unlink(t, old);
    if (!(leg->sip = strdup(sip)))
        return;
    if (t->nsip > t->sip_mask)
        sip_grow(t);
    struct ct_leg **bucket = &t->sip_buckets[hash_id(sip) & t->sip_mask];
    leg->snext = *bucket;
    *bucket = leg;
    t->nsip++;
}

static void leg_free(struct call_tracker *t, struct ct_leg *leg)
{
    sip_unlink(t, leg);
    free(leg);
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
        leg_free(t, old);
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
 * Notes that live records were named by `leg`'s UUID (the last one showing state
 * `sent`), which may no longer name its call; live_flush() decides.
 */
static void live_retire(struct call_tracker *t, const struct ct_leg *leg, uint8_t sent)
{
    if (t->nretired == CT_RETIRED_MAX)
        return;
    memcpy(t->retired[t->nretired].uuid, leg->uuid, strlen(leg->uuid) + 1);
    t->retired[t->nretired++].live_sent = sent;
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
    if (src->live > dst->live)
        dst->live = src->live;
    if (src->announced) /* dst's call_id (or src's, if it is the root now) carries on */
        live_retire(t, src->announced, src->live_sent);
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

/*
 * Channels of one SIP dialog on this node (a hairpin: FreeSWITCH calling its own
 * profile) share variable_sip_call_id without naming each other: the outbound channel
 * (the dialog's caller side) becomes the parent of the inbound one. The first leg seen
 * with a Call-ID is indexed under it.
 */
static void event_dialog(struct call_tracker *t, struct ct_leg *leg, const char *sip,
                         const struct esl_event *ev)
{
    if (!sip || strlen(sip) > CT_VALUE_MAX)
        return;
    struct ct_leg *o = sip_find(t, sip);
    if (!o || !o->call) {
        sip_add(t, leg, sip);
        return;
    }
    if (o == leg)
        return;
    /* Only the hairpin's shape: one channel FreeSWITCH placed, one it received. Two
     * inbound channels with one Call-ID are two callers (a phone that reuses Call-IDs,
     * or one that copies another call's), never one call. */
    bool leg_out = leg->flags & LEG_OUTBOUND, o_out = o->flags & LEG_OUTBOUND;
    if (leg_out == o_out)
        return;
    /* A hairpin stays within one tenant: a Call-ID copied into a call to another
     * tenant's number does not join the two. */
    char here[CT_DOMAIN_CAP];
    const char *d1 =
        esl_event_domain_source(ev, here, sizeof here) >= 0 ? here : leg->call->s[F_DOMAIN];
    const char *d2 = o->call->s[F_DOMAIN];
    if (d1 && d2 && strcmp(d1, d2) != 0)
        return;
    enum ct_role r = leg_out ? ROLE_CHILD : ROLE_PARENT;
    leg_link(t, leg, o->uuid, r);
    if (r == ROLE_CHILD && o->parent == leg)
        o->flags |= LEG_DIALOG;
    else if (r == ROLE_PARENT && leg->parent == o)
        leg->flags |= LEG_DIALOG;
}

/* ---- what an event says about its call -------------------------------------------- */

static int64_t event_time(const struct esl_event *ev, const char *header, bool use_event_date)
{
    int64_t us = parse_us(get(ev, header));
    if (!us && use_event_date)
        us = parse_us(get(ev, "Event-Date-Timestamp"));
    return us;
}

/* A whole number of seconds as FreeSWITCH writes it ("0", "62"), or NULL. */
static const char *seconds_value(const char *v)
{
    if (!v || strlen(v) > 12)
        return NULL;
    for (const char *p = v; *p; p++)
        if (!isdigit((unsigned char)*p))
            return NULL;
    return v;
}

static void event_record(const struct call_tracker *t, struct ct_call *c,
                         const struct esl_event *ev, enum ct_kind kind, bool is_root)
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
    /* Another destination ringing (an agent): a missed call's receive_dest. */
    if (!is_root && (kind == K_CREATE || kind == K_PROGRESS) && dest &&
        !(c->s[F_TO] && strcmp(dest, c->s[F_TO]) == 0))
        call_set_str(c, F_RANG_DEST, dest, p);
    for (int i = 0; i < CALL_EXTRA_COUNT; i++)
        if (t->extra_headers[i])
            call_set_str(c, (enum ct_field)(F_EXTRA + i), get(ev, t->extra_headers[i]), p);

    char domain[CT_DOMAIN_CAP];
    int src = esl_event_domain_source(ev, domain, sizeof domain);
    if (src >= 0)
        call_set_str(c, F_DOMAIN, domain, (uint8_t)(p | (15 - src)));

    if (kind == K_HANGUP || kind == K_COMPLETE) {
        const char *cause = get(ev, "Hangup-Cause");
        call_set_str(c, F_CAUSE, cause ? cause : get(ev, "variable_hangup_cause"), p);
    }
    if (kind == K_COMPLETE && is_root) { /* FreeSWITCH's CDR figures of the customer's leg */
        call_set_str(c, F_BILLSEC, seconds_value(get(ev, "variable_billsec")), p);
        call_set_str(c, F_DURATION, seconds_value(get(ev, "variable_duration")), p);
    }
    call_set_str(c, F_DISPOSITION, get(ev, "variable_sip_hangup_disposition"), p);

    call_set_time(c, T_CREATED, event_time(ev, "Caller-Channel-Created-Time", kind == K_CREATE), p);
    call_set_time(c, T_ANSWERED, event_time(ev, "Caller-Channel-Answered-Time", kind == K_ANSWER),
                  p);
    call_set_time(
        c, T_HUNGUP,
        event_time(ev, "Caller-Channel-Hangup-Time", kind == K_HANGUP || kind == K_COMPLETE), p);
}

/* ---- live records ----------------------------------------------------------------- */

/* The state an event of this kind moves its call to (LIVE_NONE: none). */
static enum ct_live event_live(const struct ct_call *c, enum ct_kind kind, enum ct_live live,
                               bool is_root)
{
    const char *dir = c->s[F_DIRECTION];
    if (kind == K_CREATE && dir && strcmp(dir, "outbound") == 0)
        return LIVE_DIALING;
    if (kind == K_ANSWER && ct_receive_dest(c))
        return LIVE_BRIDGED;
    /* Another leg ending (an agent who did not pick up) does not end the customer's call. */
    if ((kind == K_HANGUP || kind == K_COMPLETE) && !is_root)
        return LIVE_NONE;
    return live;
}

/* The call's domain (or the default one) copied into buf, or NULL when there is none. */
static const char *call_domain(const struct call_tracker *t, const struct ct_call *c,
                               char buf[static CT_DOMAIN_CAP])
{
    const char *d = c->s[F_DOMAIN] ? c->s[F_DOMAIN] : t->default_domain;
    if (!d)
        return NULL;
    snprintf(buf, CT_DOMAIN_CAP, "%s", d);
    return buf;
}

/* Hands one record about live call c, named call_id, to on_update. */
static void live_emit(struct call_tracker *t, const struct ct_call *c, const char *call_id,
                      const struct ct_record_kind *k)
{
    if (!t->on_update)
        return;
    char buf[CT_DOMAIN_CAP];
    const char *domain = call_domain(t, c, buf);
    char *json = ct_record_build(c, call_id, domain, &t->env, k);
    if (json)
        t->on_update(t->update_closure, domain, call_id, json);
}

/*
 * Called once at the end of every event that reached call c (`ended`: the event ended
 * it, its signal follows). Retired call_ids get a "merged" record, unless one is the
 * root again (a merge can make the absorbed call's call_id the root): that one stays
 * announced, with the state its last record showed. Then c's state is announced if its
 * call_id has not shown it yet.
 */
static void live_flush(struct call_tracker *t, struct ct_call *c, bool ended)
{
    struct ct_leg *root = call_root(c);
    if (c->announced && c->announced != root) {
        live_retire(t, c->announced, c->live_sent);
        c->announced = NULL;
        c->live_sent = LIVE_NONE;
    }
    for (size_t i = 0; i < t->nretired; i++) {
        if (strcmp(t->retired[i].uuid, root->uuid) == 0) {
            c->announced = root;
            c->live_sent = t->retired[i].live_sent;
            continue;
        }
        const struct ct_record_kind merged = {"merged", "merged", NULL, false, root->uuid};
        live_emit(t, c, t->retired[i].uuid, &merged);
    }
    t->nretired = 0;
    if (ended || !t->on_update || c->live <= c->live_sent)
        return;
    const char *status = NULL;
    if (c->live == LIVE_HANGING_UP && c->s[F_CAUSE])
        status = ct_status_of(c->s[F_CAUSE], c->t[T_ANSWERED - T_CREATED] != 0, true);
    const struct ct_record_kind k = {live_names[c->live], live_names[c->live], status, true, NULL};
    live_emit(t, c, root->uuid, &k);
    c->announced = root;
    c->live_sent = c->live;
}

/* ---- the end of a call ------------------------------------------------------------ */

/* Has every leg that has been seen sent CHANNEL_HANGUP_COMPLETE? */
static bool call_ended(const struct ct_call *c)
{
    for (const struct ct_leg *l = c->legs; l; l = l->cnext)
        if ((l->flags & (LEG_SEEN | LEG_COMPLETE)) == LEG_SEEN)
            return false;
    return true;
}

/*
 * Takes the call out of the tracker, then hands its signal to on_signal (so the
 * callback sees a consistent tracker). `complete`: its end was seen.
 */
/*
 * Did the caller cancel? The root's own cause says so (ORIGINATOR_CANCEL), or, in a
 * SIP hairpin, the other side of the root's dialog does: the root sent the CANCEL
 * (its own cause then reads NO_ANSWER) and the channel that received it ended
 * ORIGINATOR_CANCEL.
 */
static bool dialog_cancelled(const struct ct_call *c)
{
    const struct ct_leg *root = call_root(c);
    for (const struct ct_leg *l = c->legs; l; l = l->cnext)
        if ((l->flags & (LEG_DIALOG | LEG_CANCELLED)) == (LEG_DIALOG | LEG_CANCELLED) &&
            l->parent == root)
            return true;
    return false;
}

static void call_finish(struct call_tracker *t, struct ct_call *c, bool complete)
{
    char call_id[CT_ID_MAX + 1], buf[CT_DOMAIN_CAP];
    snprintf(call_id, sizeof call_id, "%s", call_root(c)->uuid);
    const char *domain = call_domain(t, c, buf);
    const bool answered = c->t[T_ANSWERED - T_CREATED] != 0;
    const char *state = answered ? "answered" : "missed";
    if (!complete)
        state = "unknown";
    const char *status = ct_status_of(c->s[F_CAUSE], answered, complete);
    if (complete && !answered && dialog_cancelled(c))
        status = "cancelled";
    const struct ct_record_kind k = {"end", state, status, false, NULL};
    char *json = ct_record_build(c, call_id, domain, &t->env, &k);

    age_unlink(t, c);
    legs_bury(t, c->legs);
    c->legs = NULL;
    call_free_data(c);
    if (json && t->on_signal)
        t->on_signal(t->closure, domain, call_id, json);
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
    t->sip_mask = 255;
    t->sip_buckets = calloc(t->sip_mask + 1, sizeof *t->sip_buckets);
    int zone_err = 0;
    bool ok = t->buckets && t->sip_buckets &&
              ((t->zone = tzfile_load(opts->timezone, &zone_err)) || !zone_err);
    if (ok && opts->node)
        ok = (t->node = strdup(opts->node)) != NULL;
    t->env = (struct ct_record_env){.node = t->node, .zone = t->zone, .format = opts->format};
    for (int i = 0; ok && i < CALL_EXTRA_COUNT; i++) {
        if (!opts->extra_headers[i])
            continue;
        ok = (t->extra_headers[i] = strdup(opts->extra_headers[i])) != NULL;
        t->env.extra[i] = true;
    }
    if (ok && opts->default_domain) {
        char d[CT_DOMAIN_CAP];
        ok = hostname_normalize(opts->default_domain, strlen(opts->default_domain), d, sizeof d) &&
             (t->default_domain = strdup(d)) != NULL;
    }
    if (!ok) {
        call_tracker_free(t);
        return NULL;
    }
    return t;
}

void call_tracker_set_update_callback(struct call_tracker *t, call_update_fn fn, void *closure)
{
    t->on_update = fn;
    t->update_closure = closure;
}

/* Live calls are dropped without a signal (and without a last live record). */
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
        leg_free(t, l);
    }
    free(t->buckets);
    free(t->sip_buckets);
    tzfile_free(t->zone);
    free(t->node);
    for (int i = 0; i < CALL_EXTRA_COUNT; i++)
        free(t->extra_headers[i]);
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
    const enum ct_kind kind = event_kinds[k].kind;

    struct ct_leg *leg = leg_find(t, uuid);
    if (leg && !leg->call)
        return; /* late or replayed event of a finished call */
    const char *sip = get(ev, "variable_sip_call_id");
    const char *dir = get(ev, "Call-Direction");
    const bool outbound = dir && strcmp(dir, "outbound") == 0;
    if (!leg && kind != K_CREATE && sip) {
        /* First seen mid-call (after a reconnect) as the other side of a hairpin
         * whose call has already been described: part of that call. (A new call that
         * reuses a Call-ID starts with CHANNEL_CREATE; a channel of the same direction
         * is another call.) */
        const struct ct_leg *o = strlen(sip) <= CT_VALUE_MAX ? sip_find(t, sip) : NULL;
        if (o && !o->call && !(o->flags & LEG_OUTBOUND) == outbound)
            return;
    }
    if (!leg && !(leg = call_new(t, uuid, now_ms)))
        return;
    leg->flags |= LEG_SEEN;
    if (outbound)
        leg->flags |= LEG_OUTBOUND;
    event_links(t, leg, ev);
    event_dialog(t, leg, sip, ev);
    struct ct_call *c = leg->call;
    const bool is_root = call_root(c) == leg;
    event_record(t, c, ev, kind, is_root);
    if (kind == K_HANGUP || kind == K_COMPLETE) {
        const char *cause = get(ev, "Hangup-Cause");
        if (cause && strcmp(cause, "ORIGINATOR_CANCEL") == 0)
            leg->flags |= LEG_CANCELLED;
    }
    const enum ct_live live = event_live(c, kind, event_kinds[k].live, is_root);
    if (live > c->live)
        c->live = (uint8_t)live;
    if (kind == K_COMPLETE)
        leg->flags |= LEG_COMPLETE;
    const bool ended = kind == K_COMPLETE && call_ended(c);
    live_flush(t, c, ended);
    if (ended)
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

const char *call_tracker_domain_of(const struct call_tracker *t, const char *uuid)
{
    const struct ct_leg *leg = uuid ? leg_find(t, uuid) : NULL;
    return leg && leg->call ? leg->call->s[F_DOMAIN] : NULL;
}
