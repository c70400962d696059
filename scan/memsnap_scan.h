/*
 * libmemsnap_scan: the heavy loop of memsnap's leak check (memleaks), kept in
 * C so a debugger's Python can scan gigabytes of target memory quickly. The
 * caller (python/memsnap/leaks.py, through ctypes) gives the sorted live
 * blocks, then feeds memory buffers it read from the target: root memory
 * (stacks, registers, module data) and block contents in address order.
 * Each aligned 8-byte word whose value points at a block's start or interior
 * becomes a root hit or an edge of a compact graph; memsnap_scan_mark() then
 * classifies every block the way valgrind's memcheck does (reachable,
 * possibly lost, indirectly lost, definitely lost). The library never reads
 * target memory itself and never allocates per word: it is a pure function
 * of the buffers it is given. Functions return 0 or -errno.
 */
#ifndef MEMSNAP_SCAN_H
#define MEMSNAP_SCAN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a signature below changes; the Python side checks it. */
#define MEMSNAP_SCAN_ABI 7

/* Block categories written by memsnap_scan_mark(). */
#define MEMSNAP_SCAN_REACHABLE 1 /* a chain of start pointers from a root */
#define MEMSNAP_SCAN_POSSIBLE 2  /* reached, but only through some interior pointer */
#define MEMSNAP_SCAN_INDIRECT 3  /* unreached, pointed to by a lost block */
#define MEMSNAP_SCAN_DEFINITE 4  /* unreached, and no lost block points to it */
/* Or-ed into a category: no byte of the block's contents was fed. */
#define MEMSNAP_SCAN_UNSCANNED 0x80

/* One live block as the Python side hands it over (24 bytes). */
struct memsnap_scan_block {
    uint64_t addr;
    uint64_t size;
    uint32_t site;     /* trace table site id (0 = none) */
    uint32_t reserved;
};

/* Columns of memsnap_scan_summarize()'s per-site tables. */
#define MEMSNAP_SCAN_COLUMNS 8
#define MEMSNAP_SCAN_COL_UNSCANNED 5 /* blocks whose contents were not fed */
#define MEMSNAP_SCAN_COL_CLIQUE 6    /* bytes: indirectly lost blocks led by this site's blocks */

/* What was scanned, for reports and benchmarks. */
struct memsnap_scan_stats {
    uint64_t root_bytes;  /* bytes fed through memsnap_scan_roots */
    uint64_t block_bytes; /* bytes of block contents scanned */
    uint64_t root_hits;   /* root words pointing into a block */
    uint64_t edges;       /* block words pointing into a block */
};

struct memsnap_scan;

/* The ABI version of the loaded library (MEMSNAP_SCAN_ABI). */
int memsnap_scan_abi(void);

/*
 * Gather the live blocks of one chunk's raw slot array (`nslots` records of
 * `slot_size` bytes, addr and meta at the given offsets, meta = size <<
 * site_bits | site; docs/layout.md): skip free slots (addr 0: the caller
 * blanks the slots of operations in flight the same way), and blocks whose
 * site id s has s >= nsite_ok or site_ok[s] == 0 (other domains). Writes up
 * to `cap` blocks to out[]; returns how many there are (may exceed cap).
 */
uint64_t memsnap_scan_gather_slots(const void *raw, uint64_t nslots, uint32_t slot_size,
                                   uint32_t addr_offset, uint32_t meta_offset,
                                   uint32_t site_bits, const uint8_t *site_ok,
                                   uint64_t nsite_ok, struct memsnap_scan_block *out,
                                   uint64_t cap);

/* Sort blocks by address (a radix sort: fast for millions). -ENOMEM or 0. */
int memsnap_scan_sort_blocks(struct memsnap_scan_block *blocks, uint64_t n);

/*
 * A scan over `n` blocks sorted by strictly ascending address (size 0
 * allowed: then only a pointer equal to the start points into it), no two
 * blocks overlapping. The addresses and sizes are copied. -EINVAL if they
 * are not sorted or overlap (*bad_index, if not NULL, gets the first
 * offending index), -ENOMEM if memory runs out.
 */
int memsnap_scan_new(const struct memsnap_scan_block *blocks, uint64_t n,
                     struct memsnap_scan **out, uint64_t *bad_index);

void memsnap_scan_free(struct memsnap_scan *scan);

/*
 * Options (memsnap_scan_set_options), all off by default:
 * GLIBC_CHUNK_HEADERS: ignore a word that points exactly at the glibc malloc
 * chunk header following a block when that header overlaps the block's last
 * bytes (requested size % 16 in 1..8): such words are the allocator's own
 * (main_arena.top, bins), not the program's interior pointers.
 */
#define MEMSNAP_SCAN_GLIBC_CHUNK_HEADERS 1u
/*
 * memcheck's leak heuristics (--leak-check-heuristics): an interior pointer
 * that matches one counts as a pointer to the block's start.
 * STDSTRING: at +24 into a block laid out as length, capacity, refcount,
 *   chars (size == 24 + capacity + 1, length <= capacity);
 * LENGTH64: at +8 into a block whose first word is its size - 8;
 * NEWARRAY: at +8 into a block whose first word n > 0 divides size - 8
 *   (new[] of objects with a destructor stores the count first);
 * MULTIPLE_INHERITANCE: at a word-aligned offset where the word pointed at
 *   and the block's first word are both vtable pointers (an object's
 *   second base). Telling a vtable needs target memory the scan never sees:
 *   with this option the scan records word-aligned interior pointers, the
 *   caller gets them from memsnap_scan_interior_candidates() and hands the
 *   accepted ones back to memsnap_scan_accept_interior() before marking.
 */
#define MEMSNAP_SCAN_HEUR_STDSTRING 2u
#define MEMSNAP_SCAN_HEUR_LENGTH64 4u
#define MEMSNAP_SCAN_HEUR_NEWARRAY 8u
#define MEMSNAP_SCAN_HEUR_MULTIPLE_INHERITANCE 16u
/*
 * RECORD_PATHS (set before any memory is fed): keep, for every block, the
 * first edge that reached it while marking, for retention paths
 * (memsnap_scan_first_edges). Costs 4 bytes per edge and 24 per block.
 */
#define MEMSNAP_SCAN_RECORD_PATHS 32u
#define MEMSNAP_SCAN_OPTIONS_ALL 63u

int memsnap_scan_set_options(struct memsnap_scan *scan, unsigned options);

/* Scan `len` bytes that were at target address `base` as root memory. */
int memsnap_scan_roots(struct memsnap_scan *scan, uint64_t base, const void *buf,
                       uint64_t len);

/* Record one root value (a register). */
int memsnap_scan_root_value(struct memsnap_scan *scan, uint64_t value);

/*
 * Feed block contents: `len` bytes that were at target address `base`. Calls
 * must come in ascending address order without overlap (-EINVAL otherwise);
 * the bytes of blocks that are never fed count as unscanned. Bytes between
 * blocks are ignored. Call before memsnap_scan_mark().
 */
int memsnap_scan_blocks(struct memsnap_scan *scan, uint64_t base, const void *buf,
                        uint64_t len);

/*
 * With MEMSNAP_SCAN_HEUR_MULTIPLE_INHERITANCE set before any memory is fed,
 * after the blocks are fed: first drop for good the recorded word-aligned
 * interior pointers whose block's first word is not a word-aligned address
 * at or above 4096 inside one of the `nranges` [start, end) pairs of
 * `ranges` (sorted, not overlapping: where vtables can be, i.e. readable
 * file mappings); then list the distinct values left, in ascending order,
 * with their block's first word. Fills up to `cap` pairs and returns how
 * many there are (may exceed cap); -EINVAL without the option, after
 * marking, or for unsorted ranges.
 */
int64_t memsnap_scan_interior_candidates(struct memsnap_scan *scan, const uint64_t *ranges,
                                         uint64_t nranges, uint64_t *value, uint64_t *first_word,
                                         uint64_t cap);

/*
 * Make every interior pointer equal to one of the `n` accepted values
 * (strictly ascending) count as a pointer to its block's start. Call after
 * the blocks are fed and before memsnap_scan_mark(); -EINVAL otherwise or
 * when the values are not ascending.
 */
int memsnap_scan_accept_interior(struct memsnap_scan *scan, const uint64_t *value, uint64_t n);

/*
 * Classify every block: category[i] gets MEMSNAP_SCAN_* (| UNSCANNED), and
 * leader[i] (if not NULL) the index of the definitely lost block whose clique
 * an indirectly lost block belongs to (i itself for other blocks). After it,
 * no more memory may be fed (-EINVAL).
 */
int memsnap_scan_mark(struct memsnap_scan *scan, uint8_t *category, uint64_t *leader);

/*
 * Per-site totals of a marked scan: for block i of site s, counts[s * 8 + c]
 * and bytes[s * 8 + c] grow for its category c (1..4) and for
 * MEMSNAP_SCAN_COL_UNSCANNED if unscanned; bytes[s * 8 + COL_CLIQUE] gets
 * the sizes of the indirectly lost blocks whose clique leader has site s.
 * Both tables have (nsites + 1) * 8 entries and are zeroed first; blocks of
 * a site >= nsites + 1 are ignored.
 */
int memsnap_scan_summarize(const struct memsnap_scan_block *blocks, uint64_t n,
                           const uint8_t *category, const uint64_t *leader, uint64_t nsites,
                           uint64_t *counts, uint64_t *bytes);

/* memsnap_scan_first_edges()'s parent values that are not block indexes. */
#define MEMSNAP_SCAN_FROM_NONE UINT64_MAX             /* not reached from any root */
#define MEMSNAP_SCAN_FROM_ROOT (UINT64_MAX - 1)       /* a root word (its address in where[]) */
#define MEMSNAP_SCAN_FROM_REGISTER (UINT64_MAX - 2)   /* only a register value (where[] = 0) */

/*
 * The first reaching edge of every block of a scan marked with
 * MEMSNAP_SCAN_RECORD_PATHS. Marking is breadth first from the roots, so
 * following parent[] from a block back to a root gives a shortest chain:
 * parent[i] is the index of the block whose word reached block i first,
 * or MEMSNAP_SCAN_FROM_*; where[i] is that word's target address (a
 * root's or inside the parent block; UINT64_MAX for a word beyond 4 GiB
 * into its block). Reachable blocks chain through start pointers (or
 * accepted heuristics), possibly lost ones end with an interior pointer;
 * lost blocks have no parent. -EINVAL before marking or without the option.
 */
int memsnap_scan_first_edges(const struct memsnap_scan *scan, uint64_t *parent, uint64_t *where);

void memsnap_scan_get_stats(const struct memsnap_scan *scan, struct memsnap_scan_stats *stats);

/*
 * The index of the block containing `address` (start or interior), or -1.
 */
int64_t memsnap_scan_find_block(const struct memsnap_scan *scan, uint64_t address);

/*
 * Who points at [lo, hi): store in out[] (up to `cap`) the target address of
 * every aligned word of the buffer whose value is in [lo, hi). Returns how
 * many words matched (may exceed cap). No scan object needed.
 */
uint64_t memsnap_scan_find_refs(uint64_t lo, uint64_t hi, uint64_t base, const void *buf,
                                uint64_t len, uint64_t *out, uint64_t cap);

#ifdef __cplusplus
}
#endif

#endif /* MEMSNAP_SCAN_H */
