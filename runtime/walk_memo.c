/*
 * The verified walk memo (walk_memo.h): a small set-associative table per
 * thread, keyed by where a walk starts, each entry the words that decided
 * the walk and the site it led to. A hit re-reads those words from the
 * stack and compares: all equal, the walk would make the same frames. A
 * thread whose lookups keep missing bypasses the memo for a while, so that
 * call paths too diverse to repeat pay for neither lookups nor logging.
 */
#include <string.h>

#include "threads.h"
#include "walk_memo.h"

#define WINDOW 256u       /* lookups per bypass decision */
#define WINDOW_HITS 16u   /* fewer hits than this in a window: bypass */
#define BYPASS_WALKS 4096u /* after one failed window; doubled after each */
#define BYPASS_MAX_SHIFT 4u /* further failed window, up to 16 times */

struct walk_state *walk_state_of(struct thread_state *self)
{
    if (MEMSNAP_LIKELY(self->walk != NULL))
        return self->walk;
    struct memsnap_mapping *map = pool_map(MEMSNAP_MAP_MISC, 64 + sizeof(struct walk_state));
    if (!map)
        return NULL;
    map->used = map->size;
    self->walk = (struct walk_state *)((char *)map + 64);
    return self->walk;
}

static unsigned set_of(const struct walk_start *start)
{
    uint64_t h = (start->pc ^ start->sp * 0x9E3779B97F4A7C15ULL) * 0xBF58476D1CE4E5B9ULL;
    return (unsigned)(h >> 52) & (MEMO_SETS - 1);
}

static int same_start(const struct memo_entry *e, const struct walk_start *start, uint64_t tag)
{
    return e->tag == tag && e->pc == start->pc && e->sp == start->sp &&
           (!e->uses_bp || e->bp == start->bp) && (!e->uses_bx || e->bx == start->bx);
}

/* The words still hold the values the walk read. */
static int still_holds(const struct memo_entry *e, uint64_t sp)
{
    for (unsigned i = 0; i < e->nwords; i++)
        if (*(const uint64_t *)(uintptr_t)(sp + (int64_t)e->offset[i]) != e->value[i])
            return 0;
    return 1;
}

/* A window of lookups ended: after mostly misses, bypass the memo. Out of
 * line (once per window). */
static __attribute__((noinline, cold)) void window_end(struct walk_state *ws)
{
    if (ws->window_hits < WINDOW_HITS) {
        /* call paths too diverse for the memo (churn_diverse: 512 paths
         * from one start) would pay a window of lookups and logged walks
         * per bypass: back off, so that they pay it ever more rarely */
        ws->bypass = BYPASS_WALKS << ws->backoff;
        if (ws->backoff < BYPASS_MAX_SHIFT)
            ws->backoff++;
    } else {
        ws->backoff = 0;
    }
    ws->window = ws->window_hits = 0;
}

/* Counts a lookup's outcome. */
static inline void count(struct walk_state *ws, int hit)
{
    ws->stats.lookups++;
    ws->stats.hits += hit;
    ws->window_hits += hit;
    if (MEMSNAP_UNLIKELY(++ws->window == WINDOW))
        window_end(ws);
}

struct memsnap_site *memo_find(struct walk_state *ws, const struct walk_start *start,
                               uint64_t tag, int *use_log)
{
    if (MEMSNAP_UNLIKELY(ws->bypass)) {
        ws->bypass--;
        ws->stats.bypassed++;
        *use_log = 0;
        return NULL;
    }
    *use_log = 1;
    struct memo_entry *set = ws->entry[set_of(start)];
    int mismatch = 0;
    for (unsigned way = 0; way < MEMO_WAYS; way++) {
        struct memo_entry *e = &set[way];
        if (!same_start(e, start, tag))
            continue;
        if (still_holds(e, start->sp)) {
            count(ws, 1);
            return e->site;
        }
        mismatch = 1; /* another path from the same start: try the others */
    }
    ws->stats.mismatches += mismatch;
    count(ws, 0);
    return NULL;
}

void memo_store(struct walk_state *ws, const struct walk_start *start, uint64_t tag,
                const struct walk_log *log, struct memsnap_site *site)
{
    if (!log->usable || !site)
        return;
    /* round robin: paths from one start may share the set's ways */
    unsigned s = set_of(start);
    struct memo_entry *e = &ws->entry[s][ws->next_way[s]];
    ws->next_way[s] = (uint8_t)((ws->next_way[s] + 1) % MEMO_WAYS);
    if ((unsigned)__builtin_popcountll(log->decides) > MEMO_WORDS)
        return; /* (a limit far above the default) */
    for (unsigned i = 0; i < log->n; i++) {
        int64_t offset = (int64_t)(log->addr[i] - start->sp);
        if (offset != (int32_t)offset)
            return; /* (a stack of 2 GiB) */
    }
    e->tag = 0; /* empty while it is written */
    e->pc = start->pc, e->sp = start->sp, e->bp = start->bp, e->bx = start->bx;
    e->site = site;
    e->uses_bp = log->uses_bp, e->uses_bx = log->uses_bx;
    unsigned n = 0;
    for (unsigned i = 0; i < log->n; i++)
        if (log->decides >> i & 1) {
            e->offset[n] = (int32_t)(int64_t)(log->addr[i] - start->sp);
            e->value[n++] = log->value[i];
        }
    e->nwords = (uint16_t)n;
    e->tag = tag;
}

void memo_forget(struct walk_state *ws)
{
    memset(ws->entry, 0, sizeof ws->entry);
    ws->window = ws->window_hits = ws->bypass = ws->backoff = 0;
    memset(ws->rules.set, 0, sizeof ws->rules.set);
}

/* Writes n in decimal into buf (at least 21 bytes); returns buf. */
static const char *decimal(uint64_t n, char *buf)
{
    char *p = buf + 20;
    *p = 0;
    do
        *--p = (char)('0' + n % 10);
    while (n /= 10);
    return p;
}

/* MEMSNAP_TEST_STATS=1: the memo's counts over every thread, at exit. */
__attribute__((destructor)) static void print_stats(void)
{
    if (!flags.test_stats)
        return;
    struct memo_stats sum = {0, 0, 0, 0, 0};
    for (struct thread_state *t = thread_first(); t; t = thread_next(t)) {
        if (!t->walk)
            continue;
        sum.lookups += t->walk->stats.lookups;
        sum.hits += t->walk->stats.hits;
        sum.mismatches += t->walk->stats.mismatches;
        sum.bypassed += t->walk->stats.bypassed;
        sum.wrong += t->walk->stats.wrong;
    }
    char a[21], b[21], c[21], d[21], e[21];
    say("walk memo: lookups=", decimal(sum.lookups, a), " hits=", decimal(sum.hits, b));
    say("walk memo: mismatches=", decimal(sum.mismatches, c), " bypassed=", decimal(sum.bypassed, d));
    if (flags.test_stats > 1)
        say("walk memo: hits checked by a second walk, wrong=", decimal(sum.wrong, e), "", "");
}
