/*
 * Memory per live block, for the runtime benchmark (run_bench.py): keeps
 * N blocks of 32 bytes live, allocated from 4 stacks, then prints the
 * runtime's memory by mapping kind and per live block (its mappings,
 * stacks excluded, plus the 16-byte header in front of every traced
 * block). Usage: live_blocks N (LD_PRELOAD=libmemsnap.so, MEMSNAP=16).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "memsnap/layout.h"

#define LEAF(n)                                                     \
    __attribute__((noinline)) static void *leaf##n(size_t size)     \
    {                                                               \
        void *p = malloc(size);                                     \
        __asm__ volatile("" : : "r"(p) : "memory");                 \
        return p;                                                   \
    }
LEAF(0) LEAF(1) LEAF(2) LEAF(3)

static void *(*const leaves[4])(size_t) = {leaf0, leaf1, leaf2, leaf3};

static int live_blocks(long n)
{
    void **blocks = malloc((size_t)n * sizeof *blocks);
    if (!blocks)
        return 1;
    for (long i = 0; i < n; i++)
        blocks[i] = leaves[i & 3](32);
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
    if (argc != 2) {
        fprintf(stderr, "usage: live_blocks N\n");
        return 2;
    }
    return live_blocks(atol(argv[1]));
}
