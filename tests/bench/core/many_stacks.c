/*
 * many_stacks.c: the benchmark program for `memsnap` + `memstat` on a large
 * live heap: 1M blocks allocated from 10k distinct call stacks (a 14-level
 * recursion that takes one of two call sites per level, so each path is its
 * own stack), then a call to checkpoint() to put a breakpoint on.
 * Usage: many_stacks [stacks [blocks-per-stack]] (default 10000 100).
 */
#include <stdio.h>
#include <stdlib.h>

static void **blocks;
static size_t nblocks;

__attribute__((noinline)) void checkpoint(void)
{
    __asm__ volatile("" : : : "memory");
}

__attribute__((noinline)) static void leaf(unsigned per)
{
    for (unsigned i = 0; i < per; i++, nblocks++)
        blocks[nblocks] = malloc(16 + (nblocks % 7) * 8);
}

__attribute__((noinline)) static void walk(unsigned depth, unsigned path, unsigned per)
{
    if (depth == 0) {
        leaf(per);
        return;
    }
    if (path & 1)
        walk(depth - 1, path >> 1, per);
    else
        walk(depth - 1, path >> 1, per);
    __asm__ volatile("" : : : "memory");  /* keep the calls from becoming tail calls */
}

int main(int argc, char **argv)
{
    unsigned stacks = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
    unsigned per = argc > 2 ? (unsigned)atoi(argv[2]) : 100;
    blocks = calloc((size_t)stacks * per, sizeof *blocks);
    for (unsigned path = 0; path < stacks; path++)
        walk(14, path, per);
    checkpoint();
    printf("%zu blocks\n", nblocks);
    return 0;
}
