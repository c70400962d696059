/*
 * Unit tests of libmemsnap_scan (scan/) over synthetic memory: the interval
 * index against a brute-force search, and the marking rules (reachable,
 * possibly/indirectly/definitely lost, cliques, cycles, unscanned blocks)
 * on small hand-built heaps whose memcheck verdict is known.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memsnap_scan.h"

/* A scan over blocks given as two columns. */
static int new_scan(const uint64_t *starts, const uint64_t *sizes, uint64_t n,
                    struct memsnap_scan **scan, uint64_t *bad)
{
    struct memsnap_scan_block *b = calloc(n + 1, sizeof(*b));
    assert_non_null(b);
    for (uint64_t i = 0; i < n; i++) {
        b[i].addr = starts[i];
        b[i].size = sizes[i];
    }
    int rc = memsnap_scan_new(b, n, scan, bad);
    free(b);
    return rc;
}

/* A synthetic heap: NB blocks of 64 bytes at 0x10000 + 0x100 * i. */
#define NB 8
#define HEAP_BASE 0x10000ULL
#define STRIDE 0x100ULL
#define BSIZE 64ULL

static uint64_t heap_mem[(NB * STRIDE) / 8];

static uint64_t blk(unsigned i)
{
    return HEAP_BASE + STRIDE * i;
}

/* Store `value` in word `word` of block i. */
static void put(unsigned i, unsigned word, uint64_t value)
{
    heap_mem[(STRIDE * i) / 8 + word] = value;
}

/* Build the scan, feed the roots and the heap, mark. */
static void run(const uint64_t *roots, size_t nroots, uint8_t *cat, uint64_t *leader)
{
    uint64_t starts[NB], sizes[NB];
    for (unsigned i = 0; i < NB; i++) {
        starts[i] = blk(i);
        sizes[i] = BSIZE;
    }
    struct memsnap_scan *scan = NULL;
    assert_int_equal(new_scan(starts, sizes, NB, &scan, NULL), 0);
    assert_int_equal(memsnap_scan_roots(scan, 0x7000, roots, nroots * 8), 0);
    assert_int_equal(memsnap_scan_blocks(scan, HEAP_BASE, heap_mem, sizeof(heap_mem)), 0);
    assert_int_equal(memsnap_scan_mark(scan, cat, leader), 0);
    memsnap_scan_free(scan);
}

static int reset(void **state)
{
    (void)state;
    memset(heap_mem, 0, sizeof(heap_mem));
    return 0;
}

static void test_abi(void **state)
{
    (void)state;
    assert_int_equal(memsnap_scan_abi(), MEMSNAP_SCAN_ABI);
}

static void test_rejects_unsorted_and_overlapping(void **state)
{
    (void)state;
    struct memsnap_scan *scan = NULL;
    uint64_t bad = 0;
    uint64_t s1[] = {0x2000, 0x1000}, z1[] = {16, 16};
    assert_int_equal(new_scan(s1, z1, 2, &scan, &bad), -EINVAL);
    assert_int_equal(bad, 1);
    uint64_t s2[] = {0x1000, 0x1008}, z2[] = {16, 16};
    assert_int_equal(new_scan(s2, z2, 2, &scan, &bad), -EINVAL);
    assert_int_equal(bad, 1);
}

static void test_find_block_matches_brute_force(void **state)
{
    (void)state;
    enum { N = 3000 };
    static uint64_t starts[N], sizes[N];
    uint64_t a = 0x555555550000ULL;
    srand(7);
    for (unsigned i = 0; i < N; i++) {
        /* mostly small blocks, some huge ones, some far gaps (new clusters), some size 0 */
        a += 16 * (1 + rand() % 4);
        if (rand() % 200 == 0)
            a += (uint64_t)(rand() % 64) << 22;
        starts[i] = a;
        sizes[i] = rand() % 50 == 0 ? (uint64_t)(rand() % 100000) : (uint64_t)(rand() % 300);
        if (rand() % 100 == 0)
            sizes[i] = 0;
        a += sizes[i] ? sizes[i] : 1;
    }
    struct memsnap_scan *scan = NULL;
    assert_int_equal(new_scan(starts, sizes, N, &scan, NULL), 0);
    for (unsigned t = 0; t < 200000; t++) {
        unsigned i = rand() % N;
        uint64_t p = starts[i] + (uint64_t)(rand() % 400) - 100;
        int64_t want = -1;
        for (unsigned j = 0; j < N; j++) {
            uint64_t end = starts[j] + (sizes[j] ? sizes[j] : 1);
            if (p >= starts[j] && p < end) {
                want = j;
                break;
            }
        }
        assert_int_equal(memsnap_scan_find_block(scan, p), want);
    }
    assert_int_equal(memsnap_scan_find_block(scan, 0), -1);
    assert_int_equal(memsnap_scan_find_block(scan, UINT64_MAX), -1);
    memsnap_scan_free(scan);
}

/* Root words into dense 16-aligned blocks (the rank map's case) and into
 * sparse ones (the bucket case): every block's verdict matches a brute
 * force reading of the same words. */
static void test_batched_lookup_matches_brute_force(void **state)
{
    (void)state;
    enum { N = 5000, WORDS = 20000 };
    static uint64_t starts[N], sizes[N], words[WORDS];
    uint64_t a = 0x7f0000001000ULL;
    srand(11);
    for (unsigned i = 0; i < N; i++) {
        if (i == N / 2)
            a += 1ULL << 30; /* a second, sparse cluster */
        starts[i] = a;
        sizes[i] = i < N / 2 ? 16 * (uint64_t)(rand() % 8) + (uint64_t)(rand() % 16)
                             : 4096 * (uint64_t)(1 + rand() % 64);
        uint64_t extent = sizes[i] ? sizes[i] : 1;
        a += (extent + 15) & ~15ULL;
        if (i >= N / 2)
            a += 4096 * (uint64_t)(rand() % 8) + 16;
    }
    for (unsigned k = 0; k < WORDS; k++) {
        unsigned i = rand() % N;
        switch (rand() % 4) {
        case 0: words[k] = starts[i]; break;
        case 1: words[k] = starts[i] + (uint64_t)(rand() % 64); break;
        case 2: words[k] = starts[i] - 1 - (uint64_t)(rand() % 32); break;
        default: words[k] = (uint64_t)rand() << 20; break;
        }
    }
    struct memsnap_scan *scan = NULL;
    uint8_t *cat = malloc(N);
    assert_int_equal(new_scan(starts, sizes, N, &scan, NULL), 0);
    assert_int_equal(memsnap_scan_roots(scan, 0x1000, words, sizeof(words)), 0);
    assert_int_equal(memsnap_scan_mark(scan, cat, NULL), 0);
    memsnap_scan_free(scan);
    for (unsigned i = 0; i < N; i++) {
        int start = 0, interior = 0;
        uint64_t end = starts[i] + (sizes[i] ? sizes[i] : 1);
        for (unsigned k = 0; k < WORDS; k++) {
            if (words[k] == starts[i])
                start = 1;
            else if (words[k] > starts[i] && words[k] < end)
                interior = 1;
        }
        int want = start ? MEMSNAP_SCAN_REACHABLE
                         : interior ? MEMSNAP_SCAN_POSSIBLE : MEMSNAP_SCAN_DEFINITE;
        if ((cat[i] & 0x7f) != want)
            fail_msg("block %u at 0x%llx size %llu: got %d, want %d", i,
                     (unsigned long long)starts[i], (unsigned long long)sizes[i], cat[i] & 0x7f, want);
    }
    free(cat);
}

static void test_reachable_chain_and_lost_list(void **state)
{
    (void)state;
    uint8_t cat[NB];
    uint64_t leader[NB];
    /* root -> 0 -> 1 -> 2 (start pointers): reachable */
    put(0, 0, blk(1));
    put(1, 3, blk(2));
    /* lost list 4 -> 5 -> 6 */
    put(4, 0, blk(5));
    put(5, 0, blk(6));
    uint64_t roots[] = {42, blk(0), 0};
    run(roots, 3, cat, leader);
    assert_int_equal(cat[0], MEMSNAP_SCAN_REACHABLE);
    assert_int_equal(cat[1], MEMSNAP_SCAN_REACHABLE);
    assert_int_equal(cat[2], MEMSNAP_SCAN_REACHABLE);
    assert_int_equal(cat[3], MEMSNAP_SCAN_DEFINITE);
    assert_int_equal(cat[4], MEMSNAP_SCAN_DEFINITE);
    assert_int_equal(cat[5], MEMSNAP_SCAN_INDIRECT);
    assert_int_equal(cat[6], MEMSNAP_SCAN_INDIRECT);
    assert_int_equal(leader[5], 4);
    assert_int_equal(leader[6], 4);
    assert_int_equal(cat[7], MEMSNAP_SCAN_DEFINITE);
}

static void test_tree_with_root_at_high_address(void **state)
{
    (void)state;
    uint8_t cat[NB];
    uint64_t leader[NB];
    /* lost tree: 7 -> {2, 5}, 2 -> {0, 1}; leaders 0..2 are absorbed by 7 */
    put(7, 0, blk(2));
    put(7, 1, blk(5));
    put(2, 0, blk(0));
    put(2, 1, blk(1));
    uint64_t roots[] = {0};
    run(roots, 1, cat, leader);
    assert_int_equal(cat[7], MEMSNAP_SCAN_DEFINITE);
    unsigned inner[] = {0, 1, 2, 5};
    for (unsigned k = 0; k < 4; k++) {
        assert_int_equal(cat[inner[k]], MEMSNAP_SCAN_INDIRECT);
        assert_int_equal(leader[inner[k]], 7);
    }
}

static void test_cycle_lowest_address_leads(void **state)
{
    (void)state;
    uint8_t cat[NB];
    /* cycle 3 -> 6 -> 1 -> 3 */
    put(3, 2, blk(6));
    put(6, 2, blk(1));
    put(1, 2, blk(3));
    uint64_t roots[] = {0};
    run(roots, 1, cat, NULL);
    assert_int_equal(cat[1], MEMSNAP_SCAN_DEFINITE);
    assert_int_equal(cat[3], MEMSNAP_SCAN_INDIRECT);
    assert_int_equal(cat[6], MEMSNAP_SCAN_INDIRECT);
}

static void test_interior_pointers_give_possibly_lost(void **state)
{
    (void)state;
    uint8_t cat[NB];
    /* root holds an interior pointer to 0; 0 points at 1's start: both possible.
     * 2 is reached by start pointer from root and by interior from 0: reachable.
     * The word at the block end (one past) is not a pointer into it. */
    put(0, 0, blk(1));
    put(0, 1, blk(2) + 8);
    uint64_t roots[] = {blk(0) + 24, blk(2), blk(3) + BSIZE};
    run(roots, 3, cat, NULL);
    assert_int_equal(cat[0], MEMSNAP_SCAN_POSSIBLE);
    assert_int_equal(cat[1], MEMSNAP_SCAN_POSSIBLE);
    assert_int_equal(cat[2], MEMSNAP_SCAN_REACHABLE);
    assert_int_equal(cat[3], MEMSNAP_SCAN_DEFINITE);
}

static void test_possible_upgraded_to_reachable_rescans(void **state)
{
    (void)state;
    uint8_t cat[NB];
    /* 0 reachable via root start ptr, 0 -> interior of 4 ... and 1 (reachable) -> 4 start.
     * 4 -> 5 start: must end reachable after 4's upgrade. */
    put(0, 0, blk(4) + 16);
    put(0, 1, blk(1));
    put(1, 0, blk(4));
    put(4, 0, blk(5));
    uint64_t roots[] = {blk(0)};
    run(roots, 1, cat, NULL);
    assert_int_equal(cat[4], MEMSNAP_SCAN_REACHABLE);
    assert_int_equal(cat[5], MEMSNAP_SCAN_REACHABLE);
}

static void test_register_root_and_unaligned_words(void **state)
{
    (void)state;
    uint64_t starts[] = {0x1000, 0x2000}, sizes[] = {32, 32};
    unsigned char buf[40];
    memset(buf, 0, sizeof(buf));
    uint64_t v = 0x2000;
    memcpy(buf + 4, &v, 8); /* unaligned: not a pointer */
    struct memsnap_scan *scan = NULL;
    uint8_t cat[2];
    assert_int_equal(new_scan(starts, sizes, 2, &scan, NULL), 0);
    assert_int_equal(memsnap_scan_root_value(scan, 0x1000), 0);
    assert_int_equal(memsnap_scan_roots(scan, 0x500, buf, sizeof(buf)), 0);
    assert_int_equal(memsnap_scan_mark(scan, cat, NULL), 0);
    assert_int_equal(cat[0], MEMSNAP_SCAN_REACHABLE | MEMSNAP_SCAN_UNSCANNED);
    assert_int_equal(cat[1], MEMSNAP_SCAN_DEFINITE | MEMSNAP_SCAN_UNSCANNED);
    struct memsnap_scan_stats st;
    memsnap_scan_get_stats(scan, &st);
    assert_int_equal(st.root_hits, 1);
    assert_int_equal(st.root_bytes, 40);
    assert_int_equal(memsnap_scan_roots(scan, 0, buf, 8), -EINVAL); /* after mark */
    memsnap_scan_free(scan);
}

static void test_blocks_fed_in_pieces_and_order_enforced(void **state)
{
    (void)state;
    uint64_t starts[] = {0x1000, 0x1040, 0x3000}, sizes[] = {64, 64, 16};
    uint64_t mem[16] = {0};
    mem[7] = 0x1040;  /* last word of block 0 -> block 1 */
    mem[8] = 0x3000;  /* first word of block 1 -> block 2 */
    struct memsnap_scan *scan = NULL;
    uint8_t cat[3];
    assert_int_equal(new_scan(starts, sizes, 3, &scan, NULL), 0);
    /* two pieces split inside block 0 */
    assert_int_equal(memsnap_scan_blocks(scan, 0x1000, mem, 32), 0);
    assert_int_equal(memsnap_scan_blocks(scan, 0x1010, mem + 2, 8), -EINVAL);
    assert_int_equal(memsnap_scan_blocks(scan, 0x1020, mem + 4, 96), 0);
    uint64_t root = 0x1000;
    assert_int_equal(memsnap_scan_root_value(scan, root), 0);
    assert_int_equal(memsnap_scan_mark(scan, cat, NULL), 0);
    assert_int_equal(cat[0], MEMSNAP_SCAN_REACHABLE);
    assert_int_equal(cat[1], MEMSNAP_SCAN_REACHABLE);
    assert_int_equal(cat[2], MEMSNAP_SCAN_REACHABLE | MEMSNAP_SCAN_UNSCANNED);
    memsnap_scan_free(scan);
}

static void test_glibc_chunk_header_words_ignored(void **state)
{
    (void)state;
    /* 24-byte block: the next chunk header is at +16, inside it */
    uint64_t starts[] = {0x1010, 0x2010}, sizes[] = {24, 24};
    struct memsnap_scan *scan = NULL;
    uint8_t cat[2];
    assert_int_equal(new_scan(starts, sizes, 2, &scan, NULL), 0);
    assert_int_equal(memsnap_scan_set_options(scan, MEMSNAP_SCAN_GLIBC_CHUNK_HEADERS), 0);
    assert_int_equal(memsnap_scan_set_options(scan, 0x100), -EINVAL);
    assert_int_equal(memsnap_scan_set_options(scan, MEMSNAP_SCAN_GLIBC_CHUNK_HEADERS), 0);
    assert_int_equal(memsnap_scan_root_value(scan, 0x1020), 0); /* main_arena.top-like */
    assert_int_equal(memsnap_scan_root_value(scan, 0x2018), 0); /* a real interior pointer */
    assert_int_equal(memsnap_scan_mark(scan, cat, NULL), 0);
    assert_int_equal(cat[0] & 0x7f, MEMSNAP_SCAN_DEFINITE);
    assert_int_equal(cat[1] & 0x7f, MEMSNAP_SCAN_POSSIBLE);
    memsnap_scan_free(scan);
}

static void test_leak_heuristics(void **state)
{
    (void)state;
    /* block 0: new[] of 4 x 8 bytes (count first); block 1: length64;
     * block 2: COW string (length 3, capacity 10); block 3 held at +8 by
     * block 2 (reachable) but its first word matches nothing. */
    uint64_t starts[] = {0x1000, 0x2000, 0x3000, 0x4000}, sizes[] = {40, 108, 35, 64};
    uint64_t mem[0x3020 / 8] = {0};
    mem[0] = 4;                      /* 0x1000: count 4, (40 - 8) % 4 == 0 */
    mem[0x1000 / 8] = 100;           /* 0x2000: length 100 == 108 - 8 */
    mem[0x2000 / 8] = 3;             /* 0x3000: length */
    mem[0x2000 / 8 + 1] = 10;        /* capacity: 24 + 10 + 1 == 35 */
    mem[0x2000 / 8 + 3] = 0x4008;    /* -> block 3 at +8 */
    mem[0x3000 / 8] = 7;             /* 0x4000: (64 - 8) % 7 == 0: looks like new[] of 7 */
    uint64_t roots[] = {0x1008, 0x2008, 0x3018};
    unsigned options[] = {0, MEMSNAP_SCAN_HEUR_NEWARRAY, MEMSNAP_SCAN_HEUR_LENGTH64,
                          MEMSNAP_SCAN_HEUR_STDSTRING,
                          MEMSNAP_SCAN_HEUR_NEWARRAY | MEMSNAP_SCAN_HEUR_STDSTRING};
    int want[][4] = {
        {MEMSNAP_SCAN_POSSIBLE, MEMSNAP_SCAN_POSSIBLE, MEMSNAP_SCAN_POSSIBLE, MEMSNAP_SCAN_POSSIBLE},
        /* a length64 block also matches newarray (memcheck says so too) */
        {MEMSNAP_SCAN_REACHABLE, MEMSNAP_SCAN_REACHABLE, MEMSNAP_SCAN_POSSIBLE, MEMSNAP_SCAN_POSSIBLE},
        {MEMSNAP_SCAN_POSSIBLE, MEMSNAP_SCAN_REACHABLE, MEMSNAP_SCAN_POSSIBLE, MEMSNAP_SCAN_POSSIBLE},
        {MEMSNAP_SCAN_POSSIBLE, MEMSNAP_SCAN_POSSIBLE, MEMSNAP_SCAN_REACHABLE, MEMSNAP_SCAN_POSSIBLE},
        {MEMSNAP_SCAN_REACHABLE, MEMSNAP_SCAN_REACHABLE, MEMSNAP_SCAN_REACHABLE, MEMSNAP_SCAN_REACHABLE},
    };
    for (unsigned t = 0; t < 5; t++) {
        struct memsnap_scan *scan = NULL;
        uint8_t cat[4];
        assert_int_equal(new_scan(starts, sizes, 4, &scan, NULL), 0);
        assert_int_equal(memsnap_scan_set_options(scan, options[t]), 0);
        assert_int_equal(memsnap_scan_roots(scan, 0x9000, roots, sizeof(roots)), 0);
        assert_int_equal(memsnap_scan_blocks(scan, 0x1000, mem, 0x3000), 0);
        assert_int_equal(memsnap_scan_blocks(scan, 0x4000, mem + 0x3000 / 8, 64), 0);
        assert_int_equal(memsnap_scan_mark(scan, cat, NULL), 0);
        for (unsigned i = 0; i < 4; i++) {
            if ((cat[i] & 0x7f) != want[t][i])
                fail_msg("options %u block %u: got %d want %d", options[t], i, cat[i], want[t][i]);
        }
        memsnap_scan_free(scan);
    }
}

/* multipleinheritance: the scan lists word-aligned interior pointers into
 * blocks whose first word could be a vtable pointer (aligned, in the given
 * ranges), once each, in order;
 * the accepted ones count as start pointers (from a root and from a
 * reachable block), the others leave their blocks possibly lost. */
static void test_interior_candidates_and_accept(void **state)
{
    (void)state;
    memset(heap_mem, 0, sizeof(heap_mem));
    uint64_t starts[NB], sizes[NB];
    for (unsigned i = 0; i < NB; i++) {
        starts[i] = blk(i);
        sizes[i] = BSIZE;
        put(i, 0, 0x400000 + 0x40 * i); /* "vtable" first words */
    }
    put(3, 0, 12);                       /* a small integer: never a candidate */
    put(6, 0, 0x400180);                 /* outside the vtable ranges */
    put(0, 7, blk(6) + 8);
    put(0, 2, blk(1) + 16);              /* reachable 0 -> into 1 (accepted) */
    put(0, 3, blk(2) + 16);              /* reachable 0 -> into 2 (refused) */
    put(0, 4, blk(2) + 16);              /* the same value twice: listed once */
    put(0, 5, blk(3) + 16);              /* into 3, whose first word is 12 */
    put(0, 6, blk(4) + 17);              /* unaligned: not a candidate */
    uint64_t roots[] = {blk(0), blk(5) + 8};  /* root into 5 (accepted) */
    struct memsnap_scan *scan = NULL;
    assert_int_equal(new_scan(starts, sizes, NB, &scan, NULL), 0);
    uint64_t ranges[] = {0x400000, 0x400100, 0x400100, 0x400180};
    assert_int_equal(memsnap_scan_interior_candidates(scan, ranges, 2, NULL, NULL, 0), -EINVAL);
    assert_int_equal(memsnap_scan_set_options(scan, MEMSNAP_SCAN_HEUR_MULTIPLE_INHERITANCE), 0);
    assert_int_equal(memsnap_scan_roots(scan, 0x7000, roots, sizeof(roots)), 0);
    assert_int_equal(memsnap_scan_blocks(scan, HEAP_BASE, heap_mem, sizeof(heap_mem)), 0);
    uint64_t value[8], first[8];
    uint64_t unsorted[] = {0x400100, 0x400180, 0x400000, 0x400100};
    assert_int_equal(memsnap_scan_interior_candidates(scan, unsorted, 2, value, first, 8), -EINVAL);
    assert_int_equal(memsnap_scan_interior_candidates(scan, ranges, 2, value, first, 1), 3);
    assert_int_equal(memsnap_scan_interior_candidates(scan, ranges, 2, value, first, 8), 3);
    assert_true(value[0] == blk(1) + 16 && first[0] == 0x400040);
    assert_true(value[1] == blk(2) + 16 && first[1] == 0x400080);
    assert_true(value[2] == blk(5) + 8 && first[2] == 0x400140);
    uint64_t unordered[] = {blk(5) + 8, blk(1) + 16};
    assert_int_equal(memsnap_scan_accept_interior(scan, unordered, 2), -EINVAL);
    uint64_t accepted[] = {blk(1) + 16, blk(5) + 8};
    assert_int_equal(memsnap_scan_accept_interior(scan, accepted, 2), 0);
    uint8_t cat[NB];
    assert_int_equal(memsnap_scan_mark(scan, cat, NULL), 0);
    assert_int_equal(memsnap_scan_accept_interior(scan, accepted, 2), -EINVAL);
    memsnap_scan_free(scan);
    assert_int_equal(cat[0], MEMSNAP_SCAN_REACHABLE);
    assert_int_equal(cat[1], MEMSNAP_SCAN_REACHABLE);
    assert_int_equal(cat[2], MEMSNAP_SCAN_POSSIBLE);
    assert_int_equal(cat[3], MEMSNAP_SCAN_POSSIBLE);
    assert_int_equal(cat[4], MEMSNAP_SCAN_POSSIBLE);
    assert_int_equal(cat[5], MEMSNAP_SCAN_REACHABLE);
    assert_int_equal(cat[6], MEMSNAP_SCAN_POSSIBLE);
    assert_int_equal(cat[7], MEMSNAP_SCAN_DEFINITE);
}

static void test_find_refs(void **state)
{
    (void)state;
    uint64_t mem[6] = {1, 0x1000, 0x1010, 0x1020, 0x0fff, 0x1018};
    uint64_t out[2];
    assert_int_equal(memsnap_scan_find_refs(0x1000, 0x1020, 0x8000, mem, sizeof(mem), out, 2), 3);
    assert_int_equal(out[0], 0x8008);
    assert_int_equal(out[1], 0x8010);
}

static void test_empty_scan(void **state)
{
    (void)state;
    struct memsnap_scan *scan = NULL;
    uint64_t w = 0x1000;
    assert_int_equal(memsnap_scan_new(NULL, 0, &scan, NULL), 0);
    assert_int_equal(memsnap_scan_roots(scan, 0, &w, 8), 0);
    assert_int_equal(memsnap_scan_blocks(scan, 0, &w, 8), 0);
    assert_int_equal(memsnap_scan_mark(scan, NULL, NULL), 0);
    memsnap_scan_free(scan);
}

static void test_gather_sort_summarize(void **state)
{
    (void)state;
    /* 6 slots of 16 bytes: free, free (with a free slot's link in meta),
     * in flight (blanked by the caller), site 2 (domain skipped), two kept */
    uint64_t slots[12] = {
        0, 0,
        0, 0x7f0000001000ULL,
        0, (32ULL << 24) | 1,
        0x9000, (16ULL << 24) | 2,
        0x8000, (48ULL << 24) | 1,
        0x1000, (64ULL << 24) | 3,
    };
    uint8_t site_ok[4] = {0, 1, 0, 1};
    struct memsnap_scan_block out[4];
    uint64_t n = memsnap_scan_gather_slots(slots, 6, 16, 0, 8, 24, site_ok, 4, out, 1);
    assert_int_equal(n, 2); /* capped at 1 written */
    n = memsnap_scan_gather_slots(slots, 6, 16, 0, 8, 24, site_ok, 4, out, 4);
    assert_int_equal(n, 2);
    assert_int_equal(memsnap_scan_sort_blocks(out, n), 0);
    assert_int_equal(out[0].addr, 0x1000);
    assert_int_equal(out[0].size, 64);
    assert_int_equal(out[0].site, 3);
    assert_int_equal(out[1].addr, 0x8000);
    /* block 0x1000 points at 0x8000: one definite leader with one indirect */
    uint64_t mem[8] = {0x8000};
    struct memsnap_scan *scan = NULL;
    uint8_t cat[2];
    uint64_t leader[2];
    assert_int_equal(memsnap_scan_new(out, n, &scan, NULL), 0);
    assert_int_equal(memsnap_scan_blocks(scan, 0x1000, mem, sizeof(mem)), 0);
    assert_int_equal(memsnap_scan_mark(scan, cat, leader), 0);
    memsnap_scan_free(scan);
    uint64_t counts[5 * MEMSNAP_SCAN_COLUMNS], bytes[5 * MEMSNAP_SCAN_COLUMNS];
    assert_int_equal(memsnap_scan_summarize(out, n, cat, leader, 4, counts, bytes), 0);
    assert_int_equal(counts[3 * 8 + MEMSNAP_SCAN_DEFINITE], 1);
    assert_int_equal(bytes[3 * 8 + MEMSNAP_SCAN_DEFINITE], 64);
    assert_int_equal(bytes[3 * 8 + MEMSNAP_SCAN_COL_CLIQUE], 48);
    assert_int_equal(counts[1 * 8 + MEMSNAP_SCAN_INDIRECT], 1);
    assert_int_equal(counts[1 * 8 + MEMSNAP_SCAN_COL_UNSCANNED], 1);
    assert_int_equal(bytes[1 * 8 + MEMSNAP_SCAN_INDIRECT], 48);
}

/* MEMSNAP_SCAN_RECORD_PATHS: breadth first, so block 3 is reached by the
 * short way (root -> 0 -> 3), not the long one (root -> 0 -> 1 -> 2 -> 3)
 * though block 1's edge to 2 comes first in address order; each block's
 * reaching word (a root's start pointer rather than an earlier interior
 * one); an interior pointer for a possibly lost block; a
 * register seed; lost blocks have no parent; the option is refused once
 * memory was fed and the call before marking. */
static void test_first_edges_are_shortest(void **state)
{
    (void)state;
    put(0, 2, blk(1));
    put(0, 5, blk(3));
    put(1, 0, blk(2));
    put(2, 1, blk(3));
    put(3, 4, blk(4) + 16); /* interior: 4 possibly lost */
    put(6, 0, blk(7));      /* 6 and 7 lost */
    uint64_t starts[NB], sizes[NB];
    for (unsigned i = 0; i < NB; i++) {
        starts[i] = blk(i);
        sizes[i] = BSIZE;
    }
    uint64_t roots[] = {blk(0) + 8, blk(0)}; /* the start pointer is kept */
    struct memsnap_scan *scan = NULL;
    assert_int_equal(new_scan(starts, sizes, NB, &scan, NULL), 0);
    assert_int_equal(memsnap_scan_set_options(scan, MEMSNAP_SCAN_RECORD_PATHS), 0);
    assert_int_equal(memsnap_scan_root_value(scan, blk(5)), 0);
    assert_int_equal(memsnap_scan_roots(scan, 0x7000, roots, sizeof(roots)), 0);
    assert_int_equal(memsnap_scan_set_options(scan, 0), 0);
    assert_int_equal(memsnap_scan_set_options(scan, MEMSNAP_SCAN_RECORD_PATHS), 0);
    assert_int_equal(memsnap_scan_blocks(scan, HEAP_BASE, heap_mem, sizeof(heap_mem)), 0);
    uint64_t parent[NB], where[NB];
    assert_int_equal(memsnap_scan_first_edges(scan, parent, where), -EINVAL);
    uint8_t cat[NB];
    assert_int_equal(memsnap_scan_mark(scan, cat, NULL), 0);
    assert_int_equal(memsnap_scan_first_edges(scan, parent, where), 0);
    memsnap_scan_free(scan);
    assert_int_equal(parent[0], MEMSNAP_SCAN_FROM_ROOT);
    assert_int_equal(where[0], 0x7008);
    assert_int_equal(parent[1], 0);
    assert_int_equal(where[1], blk(0) + 16);
    assert_int_equal(parent[2], 1);
    assert_int_equal(where[2], blk(1));
    assert_int_equal(parent[3], 0);
    assert_int_equal(where[3], blk(0) + 40);
    assert_int_equal(cat[4], MEMSNAP_SCAN_POSSIBLE);
    assert_int_equal(parent[4], 3);
    assert_int_equal(where[4], blk(3) + 32);
    assert_int_equal(parent[5], MEMSNAP_SCAN_FROM_REGISTER);
    assert_int_equal(where[5], 0);
    assert_int_equal(parent[6], MEMSNAP_SCAN_FROM_NONE);
    assert_int_equal(parent[7], MEMSNAP_SCAN_FROM_NONE);

    assert_int_equal(new_scan(starts, sizes, NB, &scan, NULL), 0);
    assert_int_equal(memsnap_scan_roots(scan, 0x7000, roots, sizeof(roots)), 0);
    assert_int_equal(memsnap_scan_set_options(scan, MEMSNAP_SCAN_RECORD_PATHS), -EINVAL);
    assert_int_equal(memsnap_scan_mark(scan, cat, NULL), 0);
    assert_int_equal(memsnap_scan_first_edges(scan, parent, where), -EINVAL);
    memsnap_scan_free(scan);
}

static void test_radix_sort_random(void **state)
{
    (void)state;
    enum { N = 100000 };
    struct memsnap_scan_block *b = calloc(N, sizeof(*b));
    assert_non_null(b);
    srand(3);
    for (unsigned i = 0; i < N; i++) {
        b[i].addr = ((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 4);
        b[i].site = i;
    }
    assert_int_equal(memsnap_scan_sort_blocks(b, N), 0);
    for (unsigned i = 1; i < N; i++)
        assert_true(b[i - 1].addr <= b[i].addr);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi),
        cmocka_unit_test(test_rejects_unsorted_and_overlapping),
        cmocka_unit_test(test_find_block_matches_brute_force),
        cmocka_unit_test(test_batched_lookup_matches_brute_force),
        cmocka_unit_test_setup(test_reachable_chain_and_lost_list, reset),
        cmocka_unit_test_setup(test_tree_with_root_at_high_address, reset),
        cmocka_unit_test_setup(test_cycle_lowest_address_leads, reset),
        cmocka_unit_test_setup(test_interior_pointers_give_possibly_lost, reset),
        cmocka_unit_test_setup(test_possible_upgraded_to_reachable_rescans, reset),
        cmocka_unit_test(test_register_root_and_unaligned_words),
        cmocka_unit_test(test_blocks_fed_in_pieces_and_order_enforced),
        cmocka_unit_test(test_glibc_chunk_header_words_ignored),
        cmocka_unit_test(test_leak_heuristics),
        cmocka_unit_test(test_interior_candidates_and_accept),
        cmocka_unit_test(test_find_refs),
        cmocka_unit_test(test_empty_scan),
        cmocka_unit_test(test_gather_sort_summarize),
        cmocka_unit_test(test_radix_sort_random),
        cmocka_unit_test_setup(test_first_edges_are_shortest, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
