/*
 * The runtime's allocation benchmark program (run by bench_alloc.py, which
 * compares it untraced and under LD_PRELOAD=libmemsnap.so).
 *   bench_alloc churn STEPS LIVE  -- keeps LIVE blocks live and replaces a
 *       random one per step (free + malloc of 16..256 bytes, the new block
 *       written once), each malloc at the end of a call chain 14 frames deep
 *       whose leaf varies (8 distinct stacks). Prints a checksum.
 *   bench_alloc work STEPS LIVE   -- the same churn, but each new block
 *       is filled and read back in full, as a program would use it.
 *   bench_alloc live N            -- allocates N blocks of 32 bytes from 4
 *       stacks and keeps them, then (when the runtime is loaded) prints the
 *       runtime's memory by mapping kind and per live block.
 * Built -O2 with frame pointers so both unwinders see full stacks.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memsnap/layout.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static inline uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define LEAF(n)                                                     \
    __attribute__((noinline)) static void *leaf##n(size_t size)     \
    {                                                               \
        void *p = malloc(size);                                     \
        __asm__ volatile("" : : "r"(p) : "memory");                 \
        return p;                                                   \
    }
LEAF(0) LEAF(1) LEAF(2) LEAF(3) LEAF(4) LEAF(5) LEAF(6) LEAF(7)

static void *(*const leaves[8])(size_t) = {leaf0, leaf1, leaf2, leaf3,
                                          leaf4, leaf5, leaf6, leaf7};

__attribute__((noinline)) static void *chain(int depth, unsigned variant, size_t size)
{
    void *p = depth == 0 ? leaves[variant & 7](size) : chain(depth - 1, variant, size);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

/* How a new block is used: churn touches its two ends only; work fills it
 * and reads it back in full (a few ns per 16 bytes), as allocation-heavy
 * code that does something with its memory would. Returns a checksum. */
static uint64_t use_block(int fill, unsigned char *p, size_t size, uint64_t r)
{
    if (!fill) {
        p[0] = (unsigned char)r;
        p[size - 1] = (unsigned char)(r >> 8);
        return p[0] + p[size - 1];
    }
    uint64_t checksum = 0;
    memset(p, (int)(r & 0xff), size);
    for (size_t j = 0; j < size; j += 8)
        checksum += p[j] * (j + 1);
    return checksum;
}

/* `steps` times: free a random one of `live` blocks and allocate its
 * replacement 14 calls deep, then use it (see use_block). */
static int churn(const char *mode, int fill, long steps, long live)
{
    void **blocks = calloc((size_t)live, sizeof *blocks);
    if (!blocks)
        return 1;
    uint64_t checksum = 0;
    for (long i = 0; i < live; i++)
        blocks[i] = chain(12, (unsigned)i, 16);
    for (long step = 0; step < steps; step++) {
        uint64_t r = next_random();
        long k = (long)(r % (uint64_t)live);
        free(blocks[k]);
        size_t size = 16 + (size_t)((r >> 32) % 241);
        unsigned char *p = chain(12, (unsigned)(r >> 24), size);
        checksum += use_block(fill, p, size, r);
        blocks[k] = p;
    }
    for (long i = 0; i < live; i++)
        free(blocks[i]);
    free(blocks);
    printf("%s steps=%ld live=%ld checksum=%llu\n", mode, steps, live,
           (unsigned long long)checksum);
    return 0;
}

static int live_blocks(long n)
{
    void **blocks = malloc((size_t)n * sizeof *blocks);
    if (!blocks)
        return 1;
    for (long i = 0; i < n; i++)
        blocks[i] = chain(2, (unsigned)(i & 3), 32);
    const struct memsnap_root *root = dlsym(RTLD_DEFAULT, MEMSNAP_ROOT_SYMBOL);
    if (!root) {
        printf("live blocks=%ld runtime=not-loaded\n", n);
        return 0;
    }
    uint64_t by_kind[8] = {0};
    for (uint64_t m = root->mappings; m; m = ((const struct memsnap_mapping *)(uintptr_t)m)->next) {
        const struct memsnap_mapping *mapping = (const struct memsnap_mapping *)(uintptr_t)m;
        if (mapping->kind < 8)
            by_kind[mapping->kind] += mapping->size;
    }
    /* every traced block also has a 16-byte header in front of it, in the
     * program's heap: counted here with the runtime's own mappings */
    uint64_t headers = 16u * (uint64_t)n;
    uint64_t stacks = by_kind[MEMSNAP_MAP_DEPOT];
    printf("live blocks=%ld runtime=%llu chunks=%llu threads=%llu counters=%llu depot=%llu "
           "misc=%llu headers=%llu bytes_per_block_excl_stacks=%.1f tracing=%u\n",
           n, (unsigned long long)root->runtime_bytes, (unsigned long long)by_kind[MEMSNAP_MAP_CHUNK],
           (unsigned long long)by_kind[MEMSNAP_MAP_THREADS],
           (unsigned long long)by_kind[MEMSNAP_MAP_COUNTERS], (unsigned long long)stacks,
           (unsigned long long)by_kind[MEMSNAP_MAP_MISC], (unsigned long long)headers,
           (double)(root->runtime_bytes - stacks + headers) / (double)n,
           (root->state & MEMSNAP_STATE_TRACING) != 0);
    for (long i = 0; i < n; i++)
        free(blocks[i]);
    free(blocks);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "churn") == 0)
        return churn("churn", 0, atol(argv[2]), atol(argv[3]));
    if (argc == 4 && strcmp(argv[1], "work") == 0)
        return churn("work", 1, atol(argv[2]), atol(argv[3]));
    if (argc == 3 && strcmp(argv[1], "live") == 0)
        return live_blocks(atol(argv[2]));
    fprintf(stderr, "usage: bench_alloc churn|work STEPS LIVE | bench_alloc live N\n");
    return 2;
}
