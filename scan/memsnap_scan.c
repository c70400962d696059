/*
 * The leak scan proper (see memsnap_scan.h): turn fed memory into root hits
 * and a points-to graph between blocks, then classify the blocks with
 * memcheck's rules. Phase 1a marks reachable blocks: a start pointer from a
 * root or from a reachable block makes a block reachable. Phase 1b: a block
 * pointed into (interior pointer) by a root or a reachable block, and then
 * anything any pointer from such a block reaches, is possibly lost. (This
 * is the fixpoint memcheck reaches by rescanning a block whenever its
 * state rises, with each block's edges read once.)
 * Phase 2 walks the unreached blocks in address order: each one still
 * unreached leads a clique, and every unreached block it reaches becomes
 * indirectly lost (a former leader included, whose clique joins the new
 * one). Leaders left at the end are definitely lost. Phases 1a and 1b
 * are breadth first, so with MEMSNAP_SCAN_RECORD_PATHS the first edge that
 * reaches a block (reach_paths.c) lies on a shortest chain from a root.
 */
#include "memsnap_scan.h"

#include "big_alloc.h"
#include "block_index.h"
#include "interior_candidates.h"
#include "reach_paths.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* An edge: target block index, and flag bits for an interior pointer and
 * for the interior offsets memcheck's heuristics look at. */
#define EDGE_INTERIOR 0x80000000u
#define EDGE_AT8 0x40000000u      /* interior pointer at +8 */
#define EDGE_AT24 0x20000000u     /* interior pointer at +24 */
#define EDGE_BLOCK(e) ((e) & 0x1fffffffu)

/* root_hit bits */
#define HIT_START 1u
#define HIT_INTERIOR 2u
#define HIT_AT8 4u
#define HIT_AT24 8u

/* heur bits: what a block's first words allow (see MEMSNAP_SCAN_HEUR_*) */
#define LOOKS_STDSTRING 1u
#define LOOKS_LENGTH64 2u
#define LOOKS_NEWARRAY 4u

/* block flags */
#define FED 1u

struct memsnap_scan {
    struct block_index ix;
    uint8_t *root_hit;      /* per block: HIT_* seen in root memory */
    uint8_t *flags;         /* per block: FED */
    uint8_t *heur;          /* per block: LOOKS_* from its first words */
    uint64_t *edge_begin;   /* per block + 1: first edge of the block */
    uint32_t *edge;         /* targets, grouped by source block in block order */
    uint64_t nedge, edge_cap;
    uint64_t opened;        /* blocks whose edge_begin is set */
    uint64_t cursor;        /* first block the next memsnap_scan_blocks call may touch */
    uint64_t fed_until;     /* end address of the last memsnap_scan_blocks call */
    int marked;
    unsigned options;
    struct memsnap_scan_stats stats;
    /* MEMSNAP_SCAN_HEUR_MULTIPLE_INHERITANCE only: */
    struct interior_candidates interior; /* word-aligned interior pointers */
    uint64_t *first_word;                /* per block: its first word, 0 if not fed */
    struct reach_paths paths;            /* MEMSNAP_SCAN_RECORD_PATHS only */
};

/* Offset from a block's start of the glibc chunk header that follows it:
 * chunk = start - 16, chunk size = max(32, round_up(size + 8, 16)). */
static inline uint64_t glibc_next_chunk_offset(uint64_t size)
{
    uint64_t chunk = (size + 8 + 15) & ~15ULL;
    return (chunk < 32 ? 32 : chunk) - 16;
}

/* Whether a word pointing into block b is the allocator's own (see
 * memsnap_scan_set_options). */
static inline int is_allocator_word(const struct memsnap_scan *scan, int64_t b, uint64_t value)
{
    const struct block_extent *e = &scan->ix.blk[b];
    return (scan->options & MEMSNAP_SCAN_GLIBC_CHUNK_HEADERS) &&
           value - e->start == glibc_next_chunk_offset(e->end - e->start);
}

/* The block `value` points into, or -1. */
static inline int64_t pointed_block(const struct memsnap_scan *scan, uint64_t value)
{
    int64_t b = block_index_find(&scan->ix, value);
    return b >= 0 && is_allocator_word(scan, b, value) ? -1 : b;
}

int memsnap_scan_set_options(struct memsnap_scan *scan, unsigned options)
{
    if (options & ~MEMSNAP_SCAN_OPTIONS_ALL)
        return -EINVAL;
    if ((options & MEMSNAP_SCAN_HEUR_MULTIPLE_INHERITANCE) && !scan->first_word) {
        scan->first_word = big_alloc((scan->ix.n + 1) * sizeof(uint64_t));
        if (!scan->first_word)
            return -ENOMEM;
    }
    if ((options & MEMSNAP_SCAN_RECORD_PATHS) && !scan->paths.from) {
        if (scan->nedge || scan->stats.root_hits || scan->marked)
            return -EINVAL; /* set before any memory is fed */
        if (reach_paths_init(&scan->paths, scan->ix.n, scan->edge_cap))
            return -ENOMEM;
    }
    scan->options = options;
    return 0;
}

int memsnap_scan_abi(void)
{
    return MEMSNAP_SCAN_ABI;
}

int memsnap_scan_new(const struct memsnap_scan_block *blocks, uint64_t n,
                     struct memsnap_scan **out, uint64_t *bad_index)
{
    struct memsnap_scan *scan = calloc(1, sizeof(*scan));
    if (!scan)
        return -ENOMEM;
    int rc = block_index_init(&scan->ix, blocks, n, bad_index);
    if (rc) {
        free(scan);
        return rc;
    }
    scan->root_hit = big_alloc(n + 1);
    scan->flags = big_alloc(n + 1);
    scan->heur = big_alloc(n + 1);
    scan->edge_begin = big_alloc((n + 1) * sizeof(uint64_t));
    scan->edge_cap = 1 << 20;
    scan->edge = big_alloc(scan->edge_cap * sizeof(uint32_t));
    if (!scan->root_hit || !scan->flags || !scan->heur || !scan->edge_begin || !scan->edge) {
        memsnap_scan_free(scan);
        return -ENOMEM;
    }
    *out = scan;
    return 0;
}

void memsnap_scan_free(struct memsnap_scan *scan)
{
    if (!scan)
        return;
    uint64_t n = scan->ix.n;
    block_index_destroy(&scan->ix);
    big_free(scan->root_hit, n + 1);
    big_free(scan->flags, n + 1);
    big_free(scan->heur, n + 1);
    big_free(scan->edge_begin, (n + 1) * sizeof(uint64_t));
    big_free(scan->edge, scan->edge_cap * sizeof(uint32_t));
    big_free(scan->first_word, (n + 1) * sizeof(uint64_t));
    interior_candidates_free(&scan->interior);
    reach_paths_free(&scan->paths);
    free(scan);
}

/* HIT_* bits for a pointer `value` into block b (start known or not). */
static inline uint8_t hit_bits(const struct memsnap_scan *scan, int64_t b, uint64_t value,
                               int is_start)
{
    if (is_start)
        return HIT_START;
    uint64_t offset = value - scan->ix.blk[b].start;
    return HIT_INTERIOR | (offset == 8 ? HIT_AT8 : 0) | (offset == 24 ? HIT_AT24 : 0);
}

/* Remember a word-aligned interior pointer found at `where` (an edge index
 * or CANDIDATE_FROM_ROOT) when the multipleinheritance heuristic is on. */
static inline int note_interior(struct memsnap_scan *scan, uint64_t value, uint8_t hit,
                                uint64_t where)
{
    if (!(scan->options & MEMSNAP_SCAN_HEUR_MULTIPLE_INHERITANCE) || !(hit & HIT_INTERIOR) ||
        (value & 7))
        return 0;
    return interior_candidates_add(&scan->interior, value, where);
}

static inline int note_root(struct memsnap_scan *scan, int64_t b, uint64_t value, int is_start,
                            uint64_t where)
{
    uint8_t hit = hit_bits(scan, b, value, is_start);
    if (where)
        reach_paths_root_word(&scan->paths, (uint64_t)b, where, is_start,
                              scan->root_hit[b] & HIT_START);
    scan->root_hit[b] |= hit;
    scan->stats.root_hits++;
    return note_interior(scan, value, hit, CANDIDATE_FROM_ROOT);
}

int memsnap_scan_root_value(struct memsnap_scan *scan, uint64_t value)
{
    if (scan->marked)
        return -EINVAL;
    int64_t b = pointed_block(scan, value);
    return b >= 0 ? note_root(scan, b, value, value == scan->ix.blk[b].start, 0) : 0;
}

/* The aligned words of [base, base + len) that lie in the buffer. */
static void word_range(uint64_t base, uint64_t len, uint64_t lo, uint64_t hi,
                       uint64_t *first, uint64_t *count)
{
    if (lo < base)
        lo = base;
    if (hi > base + len)
        hi = base + len;
    lo = (lo + 7) & ~7ULL;
    hi &= ~7ULL;
    *first = lo;
    *count = hi > lo ? (hi - lo) / 8 : 0;
}

static int note_root_batch(struct memsnap_scan *scan, const uint64_t *value,
                           const uint64_t *where, unsigned n)
{
    int64_t found[BLOCK_INDEX_BATCH];
    uint8_t is_start[BLOCK_INDEX_BATCH];
    if (!n)
        return 0;
    block_index_find_batch(&scan->ix, value, found, is_start, n);
    for (unsigned k = 0; k < n; k++) {
        int64_t b = found[k];
        if (b < 0 || (!is_start[k] && is_allocator_word(scan, b, value[k])))
            continue;
        if (note_root(scan, b, value[k], is_start[k], where[k]))
            return -ENOMEM;
    }
    return 0;
}

int memsnap_scan_roots(struct memsnap_scan *scan, uint64_t base, const void *buf, uint64_t len)
{
    if (scan->marked || base + len < base)
        return -EINVAL;
    uint64_t first, count;
    word_range(base, len, base, base + len, &first, &count);
    const unsigned char *p = (const unsigned char *)buf + (first - base);
    const uint64_t lo = scan->ix.lo, span = scan->ix.span;
    uint64_t batch[BLOCK_INDEX_BATCH], where[BLOCK_INDEX_BATCH];
    unsigned n = 0;
    for (uint64_t k = 0; k < count; k++) {
        uint64_t w;
        memcpy(&w, p + 8 * k, 8);
        if (w - lo >= span)
            continue;
        where[n] = first + 8 * k;
        batch[n++] = w;
        if (n == BLOCK_INDEX_BATCH) {
            if (note_root_batch(scan, batch, where, n))
                return -ENOMEM;
            n = 0;
        }
    }
    scan->stats.root_bytes += len;
    return note_root_batch(scan, batch, where, n);
}

static int grow_edges(struct memsnap_scan *scan)
{
    uint64_t cap = scan->edge_cap * 2;
    if (reach_paths_grow_edges(&scan->paths, cap))
        return -ENOMEM;
    uint32_t *e = big_realloc(scan->edge, scan->edge_cap * sizeof(uint32_t), cap * sizeof(uint32_t));
    if (!e)
        return -ENOMEM;
    scan->edge = e;
    scan->edge_cap = cap;
    return 0;
}

/* Start the edge lists of blocks [opened, upto). */
static void open_blocks(struct memsnap_scan *scan, uint64_t upto)
{
    for (uint64_t j = scan->opened; j < upto; j++)
        scan->edge_begin[j] = scan->nedge;
    if (upto > scan->opened)
        scan->opened = upto;
}

/* First block whose extent ends above `address`. */
static uint64_t first_block_ending_above(const struct block_index *ix, uint64_t from,
                                         uint64_t address)
{
    uint64_t a = from, b = ix->n;
    while (a < b) {
        uint64_t m = a + (b - a) / 2;
        if (ix->blk[m].end <= address)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

/* Resolve a batch of candidate words found in blocks source[k] and append
 * the edges, in order (so each block's edges stay together). */
static int add_edges(struct memsnap_scan *scan, const uint64_t *value, const uint32_t *source,
                     const uint64_t *where, unsigned n)
{
    int64_t found[BLOCK_INDEX_BATCH];
    uint8_t is_start[BLOCK_INDEX_BATCH];
    if (!n)
        return 0;
    block_index_find_batch(&scan->ix, value, found, is_start, n);
    for (unsigned k = 0; k < n; k++) {
        int64_t b = found[k];
        if (b < 0 || (!is_start[k] && is_allocator_word(scan, b, value[k])))
            continue;
        if (scan->nedge == scan->edge_cap && grow_edges(scan))
            return -ENOMEM;
        open_blocks(scan, (uint64_t)source[k] + 1);
        uint8_t hit = hit_bits(scan, b, value[k], is_start[k]);
        if (note_interior(scan, value[k], hit, scan->nedge))
            return -ENOMEM;
        reach_paths_edge(&scan->paths, scan->nedge, where[k] - scan->ix.blk[source[k]].start);
        scan->edge[scan->nedge++] = (uint32_t)b | (hit & HIT_INTERIOR ? EDGE_INTERIOR : 0) |
                                    (hit & HIT_AT8 ? EDGE_AT8 : 0) | (hit & HIT_AT24 ? EDGE_AT24 : 0);
    }
    return 0;
}

/* LOOKS_* of a block from its first two words (word1 = UINT64_MAX when not
 * available: no LOOKS_STDSTRING then). */
static uint8_t block_looks(uint64_t size, uint64_t word0, uint64_t word1, int have_word1)
{
    uint8_t looks = 0;
    if (size >= 8 && word0 > 0) {
        if (size - 8 == word0)
            looks |= LOOKS_LENGTH64;
        if ((size - 8) % word0 == 0)
            looks |= LOOKS_NEWARRAY;
    }
    if (have_word1 && size >= 25 && word1 == size - 25 && word0 <= word1)
        looks |= LOOKS_STDSTRING;
    return looks;
}

int memsnap_scan_blocks(struct memsnap_scan *scan, uint64_t base, const void *buf, uint64_t len)
{
    if (scan->marked || base < scan->fed_until || base + len < base)
        return -EINVAL;
    scan->fed_until = base + len;
    const struct block_index *ix = &scan->ix;
    uint64_t i = first_block_ending_above(ix, scan->cursor, base);
    const uint64_t lo = ix->lo, span = ix->span;
    uint64_t batch[BLOCK_INDEX_BATCH];
    uint32_t source[BLOCK_INDEX_BATCH];
    uint64_t where[BLOCK_INDEX_BATCH];
    unsigned n = 0;
    for (; i < ix->n && ix->blk[i].start < base + len; i++) {
        scan->flags[i] |= FED;
        scan->cursor = i;
        uint64_t start = ix->blk[i].start;
        if (start >= base && start + 8 <= base + len && ix->size[i] >= 8 && !(start & 7)) {
            uint64_t w0, w1 = 0;
            const unsigned char *q = (const unsigned char *)buf + (start - base);
            memcpy(&w0, q, 8);
            int have1 = start + 16 <= base + len && ix->size[i] >= 16;
            if (have1)
                memcpy(&w1, q + 8, 8);
            scan->heur[i] = block_looks(ix->size[i], w0, w1, have1);
            if (scan->first_word)
                scan->first_word[i] = w0;
        }
        uint64_t first, count;
        word_range(base, len, ix->blk[i].start, ix->blk[i].start + ix->size[i], &first, &count);
        const unsigned char *p = (const unsigned char *)buf + (first - base);
        for (uint64_t k = 0; k < count; k++) {
            uint64_t w;
            memcpy(&w, p + 8 * k, 8);
            if (w - lo >= span)
                continue;
            batch[n] = w;
            where[n] = first + 8 * k;
            source[n++] = (uint32_t)i;
            if (n == BLOCK_INDEX_BATCH) {
                if (add_edges(scan, batch, source, where, n))
                    return -ENOMEM;
                n = 0;
            }
        }
        scan->stats.block_bytes += count * 8;
    }
    return add_edges(scan, batch, source, where, n);
}

/* Marking states (stored in category[] while marking). */
#define UNREACHED 0
#define PENDING 5 /* reached by an interior pointer in phase 1a: possible unless upgraded */

/* Phases 1a and 1b take items in the order they were pushed (breadth
 * first: head..top); phase 2 pops the newest (depth first: top only). */
struct worklist {
    uint32_t *item;
    uint64_t head, top;
};

/* How many blocks the marking loop takes off the worklist at once: their
 * edge lists and their targets' states are prefetched as a group. */
#define MARK_BATCH 32

/*
 * Pop up to MARK_BATCH blocks into batch[] and prefetch their edge_begin
 * entries and the start of their edge lists. Returns how many were taken.
 */
static unsigned take_batch(const struct memsnap_scan *scan, struct worklist *wl,
                           uint32_t *batch, unsigned *nbatch)
{
    unsigned n = 0;
    while (wl->head < wl->top && n < MARK_BATCH)
        batch[n++] = wl->item[wl->head++];
    for (unsigned k = 0; k < n; k++)
        __builtin_prefetch(&scan->edge_begin[batch[k]]);
    for (unsigned k = 0; k < n; k++)
        __builtin_prefetch(&scan->edge[scan->edge_begin[batch[k]]]);
    *nbatch = n;
    return n;
}

/* LOOKS_* bits that the enabled heuristics accept at +8 and at +24. */
static void heuristic_masks(const struct memsnap_scan *scan, uint8_t *at8, uint8_t *at24)
{
    *at8 = (uint8_t)((scan->options & MEMSNAP_SCAN_HEUR_LENGTH64 ? LOOKS_LENGTH64 : 0) |
                     (scan->options & MEMSNAP_SCAN_HEUR_NEWARRAY ? LOOKS_NEWARRAY : 0));
    *at24 = scan->options & MEMSNAP_SCAN_HEUR_STDSTRING ? LOOKS_STDSTRING : 0;
}

/* Whether an interior pointer (edge or root hit flags) counts as a start
 * pointer under the enabled heuristics. */
static inline int heuristic_start(const struct memsnap_scan *scan, uint32_t t, int at8, int at24,
                                  uint8_t mask8, uint8_t mask24)
{
    return (at8 && (scan->heur[t] & mask8)) || (at24 && (scan->heur[t] & mask24));
}

/* Phase 1a: reachable = a chain of start pointers from a root through
 * reachable blocks (an interior pointer a heuristic accepts counts as a
 * start pointer). Targets of other interior pointers from roots or
 * reachable blocks become PENDING (possibly lost unless a start pointer
 * comes). */
static void mark_reachable(struct memsnap_scan *scan, uint8_t *state, struct worklist *wl)
{
    const uint64_t n = scan->ix.n;
    uint8_t mask8, mask24;
    heuristic_masks(scan, &mask8, &mask24);
    wl->head = wl->top = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t hit = scan->root_hit[i];
        if (hit)
            reach_paths_seed(&scan->paths, i);
        if ((hit & HIT_START) ||
            heuristic_start(scan, (uint32_t)i, hit & HIT_AT8, hit & HIT_AT24, mask8, mask24)) {
            state[i] = MEMSNAP_SCAN_REACHABLE;
            wl->item[wl->top++] = (uint32_t)i;
        } else if (scan->root_hit[i] & HIT_INTERIOR) {
            state[i] = PENDING;
        }
    }
    uint32_t batch[MARK_BATCH];
    unsigned nbatch;
    while (take_batch(scan, wl, batch, &nbatch)) {
        for (unsigned k = 0; k < nbatch; k++) {
            uint32_t b = batch[k];
            uint64_t e1 = scan->edge_begin[b + 1];
            for (uint64_t e = scan->edge_begin[b]; e < e1; e++)
                __builtin_prefetch(&state[EDGE_BLOCK(scan->edge[e])]);
        }
        for (unsigned k = 0; k < nbatch; k++) {
            uint32_t b = batch[k];
            uint64_t e1 = scan->edge_begin[b + 1];
            for (uint64_t e = scan->edge_begin[b]; e < e1; e++) {
                uint32_t edge = scan->edge[e], t = EDGE_BLOCK(edge);
                uint8_t st = state[t];
                if (st == MEMSNAP_SCAN_REACHABLE)
                    continue;
                if (!(edge & EDGE_INTERIOR) ||
                    ((edge & (EDGE_AT8 | EDGE_AT24)) &&
                     heuristic_start(scan, t, edge & EDGE_AT8, edge & EDGE_AT24, mask8, mask24))) {
                    state[t] = MEMSNAP_SCAN_REACHABLE;
                    wl->item[wl->top++] = t;
                    reach_paths_reached(&scan->paths, t, b, scan->ix.blk[b].start, e);
                } else if (st == UNREACHED) {
                    state[t] = PENDING;
                    reach_paths_reached(&scan->paths, t, b, scan->ix.blk[b].start, e);
                }
            }
        }
    }
}

/* Phase 1b: every block reached by any pointer from a possibly lost block
 * is possibly lost too (memcheck's rule: nothing below an interior pointer
 * is definite). */
static void mark_possible(struct memsnap_scan *scan, uint8_t *state, struct worklist *wl)
{
    const uint64_t n = scan->ix.n;
    wl->head = wl->top = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (state[i] == PENDING) {
            state[i] = MEMSNAP_SCAN_POSSIBLE;
            wl->item[wl->top++] = (uint32_t)i;
        }
    }
    uint32_t batch[MARK_BATCH];
    unsigned nbatch;
    while (take_batch(scan, wl, batch, &nbatch)) {
        for (unsigned k = 0; k < nbatch; k++) {
            uint32_t b = batch[k];
            uint64_t e1 = scan->edge_begin[b + 1];
            for (uint64_t e = scan->edge_begin[b]; e < e1; e++) {
                uint32_t t = EDGE_BLOCK(scan->edge[e]);
                if (state[t] == UNREACHED) {
                    state[t] = MEMSNAP_SCAN_POSSIBLE;
                    wl->item[wl->top++] = t;
                    reach_paths_reached(&scan->paths, t, b, scan->ix.blk[b].start, e);
                }
            }
        }
    }
}

static void find_cliques(struct memsnap_scan *scan, uint8_t *state, uint64_t *leader,
                         struct worklist *wl)
{
    const uint64_t n = scan->ix.n;
    wl->head = wl->top = 0;
    for (uint64_t l = 0; l < n; l++) {
        if (state[l] != UNREACHED)
            continue;
        wl->item[wl->top++] = (uint32_t)l;
        while (wl->top) {
            uint32_t b = wl->item[--wl->top];
            for (uint64_t e = scan->edge_begin[b]; e < scan->edge_begin[b + 1]; e++) {
                uint32_t t = EDGE_BLOCK(scan->edge[e]);
                if (state[t] != UNREACHED || t == l)
                    continue;
                state[t] = MEMSNAP_SCAN_INDIRECT;
                leader[t] = l;
                wl->item[wl->top++] = t;
            }
        }
    }
    /* A leader absorbed by a later clique hands its members over. */
    for (uint64_t i = 0; i < n; i++) {
        if (state[i] == UNREACHED) {
            state[i] = MEMSNAP_SCAN_DEFINITE;
            continue;
        }
        if (state[i] != MEMSNAP_SCAN_INDIRECT)
            continue;
        uint64_t l = leader[i];
        while (state[l] == MEMSNAP_SCAN_INDIRECT && leader[l] != l)
            l = leader[l];
        leader[i] = l;
    }
}

int memsnap_scan_mark(struct memsnap_scan *scan, uint8_t *category, uint64_t *leader)
{
    if (scan->marked)
        return -EINVAL;
    const uint64_t n = scan->ix.n;
    open_blocks(scan, n);
    scan->edge_begin[n] = scan->nedge;
    scan->marked = 1;
    /* Marking works on its own huge-page arrays, copied out at the end.
     * Each block is pushed at most once in each phase. */
    uint8_t *state = big_alloc(n + 1);
    uint64_t *own_leader = big_alloc((n + 1) * sizeof(uint64_t));
    struct worklist wl = {big_alloc((2 * n + 1) * sizeof(uint32_t)), 0, 0};
    int rc = -ENOMEM;
    if (!state || !own_leader || !wl.item)
        goto out;
    for (uint64_t i = 0; i < n; i++)
        own_leader[i] = i;
    mark_reachable(scan, state, &wl);
    mark_possible(scan, state, &wl);
    find_cliques(scan, state, own_leader, &wl);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t c = state[i];
        if (!(scan->flags[i] & FED) && scan->ix.size[i] >= 8)
            c |= MEMSNAP_SCAN_UNSCANNED;
        if (category)
            category[i] = c;
    }
    if (leader && n)
        memcpy(leader, own_leader, n * sizeof(uint64_t));
    scan->stats.edges = scan->nedge;
    rc = 0;
out:
    big_free(state, n + 1);
    big_free(own_leader, (n + 1) * sizeof(uint64_t));
    big_free(wl.item, (2 * n + 1) * sizeof(uint32_t));
    return rc;
}

/* Whether `word` lies in one of the sorted [start, end) pairs of `ranges`. */
static int in_ranges(const uint64_t *ranges, uint64_t nranges, uint64_t word)
{
    uint64_t a = 0, b = nranges;
    while (a < b) {
        uint64_t m = a + (b - a) / 2;
        if (ranges[2 * m + 1] <= word)
            a = m + 1;
        else
            b = m;
    }
    return a < nranges && ranges[2 * a] <= word;
}

/* Drop the candidates whose block's first word is not a word-aligned
 * address above page 0 inside `ranges` (memcheck's cheap filters before its
 * vtable test), then sort the rest by value. */
static void select_candidates(struct memsnap_scan *scan, const uint64_t *ranges, uint64_t nranges)
{
    struct interior_candidates *c = &scan->interior;
    uint64_t kept = 0;
    for (uint64_t k = 0; k < c->n; k++) {
        uint64_t word = scan->first_word[block_index_find(&scan->ix, c->item[k].value)];
        if (word >= 4096 && !(word & 7) && in_ranges(ranges, nranges, word))
            c->item[kept++] = c->item[k];
    }
    c->n = kept;
    interior_candidates_sort(c);
}

int64_t memsnap_scan_interior_candidates(struct memsnap_scan *scan, const uint64_t *ranges,
                                         uint64_t nranges, uint64_t *value, uint64_t *first_word,
                                         uint64_t cap)
{
    if (scan->marked || !scan->first_word)
        return -EINVAL;
    for (uint64_t r = 0; r < nranges; r++)
        if (ranges[2 * r] >= ranges[2 * r + 1] || (r && ranges[2 * r] < ranges[2 * r - 1]))
            return -EINVAL;
    select_candidates(scan, ranges, nranges);
    const struct interior_candidates *c = &scan->interior;
    uint64_t found = 0;
    for (uint64_t k = 0; k < c->n; k++) {
        uint64_t v = c->item[k].value;
        if (k && c->item[k - 1].value == v)
            continue;
        if (found < cap) {
            value[found] = v;
            first_word[found] = scan->first_word[block_index_find(&scan->ix, v)];
        }
        found++;
    }
    return (int64_t)found;
}

int memsnap_scan_accept_interior(struct memsnap_scan *scan, const uint64_t *value, uint64_t n)
{
    if (scan->marked || !scan->first_word)
        return -EINVAL;
    for (uint64_t k = 1; k < n; k++)
        if (value[k] <= value[k - 1])
            return -EINVAL;
    interior_candidates_sort(&scan->interior);
    const struct interior_candidates *c = &scan->interior;
    for (uint64_t k = 0; k < n; k++) {
        for (uint64_t j = interior_candidates_lower_bound(c, value[k]);
             j < c->n && c->item[j].value == value[k]; j++) {
            uint64_t where = c->item[j].where;
            if (where == CANDIDATE_FROM_ROOT)
                scan->root_hit[block_index_find(&scan->ix, value[k])] |= HIT_START;
            else
                scan->edge[where] = EDGE_BLOCK(scan->edge[where]);
        }
    }
    return 0;
}

int memsnap_scan_first_edges(const struct memsnap_scan *scan, uint64_t *parent, uint64_t *where)
{
    if (!scan->marked || !scan->paths.from)
        return -EINVAL;
    if (scan->ix.n) {
        memcpy(parent, scan->paths.from, scan->ix.n * sizeof(uint64_t));
        memcpy(where, scan->paths.from_word, scan->ix.n * sizeof(uint64_t));
    }
    return 0;
}

void memsnap_scan_get_stats(const struct memsnap_scan *scan, struct memsnap_scan_stats *stats)
{
    *stats = scan->stats;
    stats->edges = scan->nedge;
}

int64_t memsnap_scan_find_block(const struct memsnap_scan *scan, uint64_t address)
{
    return block_index_find(&scan->ix, address);
}

uint64_t memsnap_scan_find_refs(uint64_t lo, uint64_t hi, uint64_t base, const void *buf,
                                uint64_t len, uint64_t *out, uint64_t cap)
{
    uint64_t first, count, found = 0;
    if (base + len < base || hi <= lo)
        return 0;
    word_range(base, len, base, base + len, &first, &count);
    const unsigned char *p = (const unsigned char *)buf + (first - base);
    const uint64_t span = hi - lo;
    for (uint64_t k = 0; k < count; k++) {
        uint64_t w;
        memcpy(&w, p + 8 * k, 8);
        if (w - lo < span) {
            if (found < cap)
                out[found] = first + 8 * k;
            found++;
        }
    }
    return found;
}
