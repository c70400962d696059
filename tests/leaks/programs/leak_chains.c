/*
 * Leak test: the nine pointer chains of memcheck's manual ("Memory leak
 * detection"), from root RRR (a global) through block AAA to block BBB,
 * where --> is a pointer to a block's start and -?-> one into its middle:
 *   (1) RRR --> BBB            (2) RRR --> AAA --> BBB
 *   (3) RRR     BBB            (4) RRR     AAA --> BBB
 *   (5) RRR -?-> BBB           (6) RRR --> AAA -?-> BBB
 *   (7) RRR -?-> AAA --> BBB   (8) RRR -?-> AAA -?-> BBB
 *   (9) RRR     AAA -?-> BBB
 * Every block has its own power-of-two size (32 << n), so the bytes of a
 * category tell exactly which blocks it holds. Interior pointers point 16
 * bytes in, where none of memcheck's heuristics applies.
 */
#include <stdlib.h>

#include "checkpoint.h"

#define INSIDE 16

char *root[10];         /* RRR of each case (index = case number) */

static unsigned next_size = 32;

/* A zeroed block of the next size. */
static void **block(void)
{
    void **b = calloc(1, next_size);
    next_size *= 2;
    return b;
}

static char *inside(void **b)
{
    return (char *)b + INSIDE;
}

__attribute__((noinline)) static void make_chains(void)
{
    void **a, **b;
    root[1] = (char *)block();                          /* (1) */
    a = block(); a[0] = block(); root[2] = (char *)a;   /* (2) */
    block();                                            /* (3) */
    a = block(); a[0] = block();                        /* (4) */
    root[5] = inside(block());                          /* (5) */
    a = block(); a[0] = inside(block()); root[6] = (char *)a;   /* (6) */
    a = block(); a[0] = block(); root[7] = inside(a);   /* (7) */
    a = block(); a[0] = inside(block()); root[8] = inside(a);   /* (8) */
    a = block(); b = block(); a[0] = inside(b);         /* (9) */
}

int main(void)
{
    make_chains();
    leak_scrub_and_checkpoint();
    return 0;
}
