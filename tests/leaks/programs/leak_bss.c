/*
 * Leak test: blocks reachable only through module data: one from .bss (a
 * zero-initialized global), one from .data (an initialized global) and one
 * from a static in a function; a lost block next to them.
 */
#include <stdlib.h>

#include "checkpoint.h"

static char *in_bss;
static long marker = 42;
char *in_data = (char *)&marker;

static char **function_static(void)
{
    static char *kept;
    return &kept;
}

__attribute__((noinline)) static void make_blocks(void)
{
    in_bss = calloc(1, 64);
    in_data = calloc(1, 128);
    *function_static() = calloc(1, 256);
    char *lost = calloc(1, 512);
    lost[0] = 1;
}

int main(void)
{
    make_blocks();
    leak_scrub_and_checkpoint();
    return 0;
}
