/*
 * The verified walk memo (walk_memo.c): a thread's allocations come from a
 * few call paths, so most stack walks repeat one already made. A walk is a
 * function of where it starts (pc, sp, and rbp/rbx when a rule used their
 * first values), of the unwind rules of the code (fixed until a dlclose
 * bumps the rules' generation) and of the stack words it read that decided
 * its course: the return addresses, saved registers later used as a CFA
 * base, CFAs loaded from the stack. The walk logs those words
 * (struct walk_log); the memo keeps them with the site the walk led to. A
 * later walk from the same start whose words all still hold the same
 * values would make the same frames, reach the same depth and so the same
 * site: it is answered from the memo without walking or interning. Words
 * that do not decide anything (a saved rbx never used as a base) are left
 * out, so that the values programs keep in callee-saved registers do not
 * defeat the memo. A thread whose memo keeps missing stops using it for a
 * while (adaptive bypass), longer each time it still misses after. Per
 * thread (struct walk_state, mapped on the thread's first walk), written
 * only by its thread.
 */
#ifndef MEMSNAP_RUNTIME_WALK_MEMO_H
#define MEMSNAP_RUNTIME_WALK_MEMO_H

#include <stdint.h>

#include "memsnap/layout.h"
#include "unwind.h"

struct thread_state;

#define MEMO_WORDS 24u /* words a memoised walk may depend on */
#define LOG_WORDS 64u  /* words a walk may read and still be memoised */
#define MEMO_SETS 32u  /* sets of MEMO_WAYS entries */
#define MEMO_WAYS 8u
#define RULE_MEMO_SETS 1024u /* the DWARF walk's per-thread rules by pc, 2 ways */

/* What a walk read, as it walks: every word with whether it decided the
 * walk, and whether the first rbp/rbx did. */
struct walk_log {
    unsigned n;
    int usable;          /* 0 when the walk cannot be memoised (signal frame, too long) */
    uint8_t uses_bp, uses_bx;
    uint64_t decides;    /* bit i: word i decided the walk (LOG_WORDS <= 64) */
    uint64_t addr[LOG_WORDS];
    uint64_t value[LOG_WORDS];
};

struct memo_entry {
    uint64_t pc, sp, bp, bx;
    uint64_t tag;   /* rules' generation and traceback limit; 0 = empty */
    struct memsnap_site *site;
    uint16_t nwords;
    uint8_t uses_bp, uses_bx; /* compare bp, bx too */
    int32_t offset[MEMO_WORDS]; /* word address - sp */
    uint64_t value[MEMO_WORDS];
};

/* Lookups, hits, verification failures and bypassed walks, per thread,
 * and (MEMSNAP_TEST_STATS=2) hits a second walk disagreed with; printed at
 * exit when MEMSNAP_TEST_STATS is set. */
struct memo_stats {
    uint64_t lookups, hits, mismatches, bypassed, wrong;
};

/* The DWARF walk's rules by pc (unwind_dwarf.c), valid for one generation
 * of the rules: set pc % RULE_MEMO_SETS holds two (pc | exact bit, rule)
 * pairs, the last one looked up first (key 0 = empty, its rule 0 too), so
 * that the walk finds a rule with one mask, one compare and one load from
 * the same cache line (each frame's step waits for it). */
struct rule_memo {
    uint64_t generation;
    struct rule_memo_way {
        uint64_t key, rule;
    } set[RULE_MEMO_SETS][2];
};

struct walk_state {
    struct memo_entry entry[MEMO_SETS][MEMO_WAYS];
    uint8_t next_way[MEMO_SETS];
    uint32_t window, window_hits; /* the adaptive bypass's current window */
    uint32_t bypass;              /* walks left without the memo */
    uint32_t backoff;             /* failed windows in a row (capped): bypass longer */
    struct memo_stats stats;
    struct rule_memo rules;
};

/* The calling thread's walk state, mapped on first use; NULL when out of
 * memory. */
struct walk_state *walk_state_of(struct thread_state *self);

/* The memo's tag of a walk: the rules' generation and the limit. */
static inline uint64_t memo_tag(uint64_t generation, unsigned limit)
{
    return generation << 16 | limit << 1 | 1;
}

/* The site of a walk from `start`, from a verified entry; or NULL (walk,
 * then memo_store). Sets *use_log when the walk should log. */
struct memsnap_site *memo_find(struct walk_state *ws, const struct walk_start *start,
                               uint64_t tag, int *use_log);
/* Remembers a finished walk's words and site. */
void memo_store(struct walk_state *ws, const struct walk_start *start, uint64_t tag,
                const struct walk_log *log, struct memsnap_site *site);
/* Forgets everything (the state changes hands: a new thread adopts it). */
void memo_forget(struct walk_state *ws);

/* ---- logging, inline in the walk ---- */

/* Logs a word the walk read; `decides` for return addresses and loaded
 * CFAs. Returns its index, or -1 (log full: the walk is not memoised). */
static inline int log_word(struct walk_log *log, uint64_t addr, uint64_t value, int decides)
{
    if (log->n >= LOG_WORDS) {
        log->usable = 0;
        return -1;
    }
    log->addr[log->n] = addr;
    log->value[log->n] = value;
    log->decides |= (uint64_t)(decides != 0) << log->n;
    return (int)log->n++;
}

/* Where a register's value came from: its first value, none (lost or a
 * constant), or the log word it was loaded from. */
#define FROM_START (-1)
#define FROM_NOWHERE (-2)

/* A register used as a CFA base: what it came from decides the walk. */
static inline void log_base_use(struct walk_log *log, int source, uint8_t *uses_start)
{
    if (source == FROM_START)
        *uses_start = 1;
    else if (source >= 0)
        log->decides |= 1ULL << source;
}

#endif /* MEMSNAP_RUNTIME_WALK_MEMO_H */
