/*
 * A library the traceback test loads with dlopen: it allocates at the end
 * of a short call chain of its own, built -O2 without frame pointers. The
 * test loads it, allocates, unloads it and loads a second build of it
 * (PLUGIN_VARIANT=2, different code at the same offsets) that usually lands
 * at the same address, so a stale unwind rule would show.
 */
#include <stdlib.h>
#include <string.h>

#ifndef PLUGIN_VARIANT
#define PLUGIN_VARIANT 1
#endif

__attribute__((noinline)) static char *plugin_leaf(size_t n)
{
    char *p = malloc(n); /* CASE plugin */
    if (p)
        memset(p, PLUGIN_VARIANT, n);
    return p;
}

__attribute__((noinline)) static char *plugin_middle(size_t n)
{
#if PLUGIN_VARIANT == 2
    volatile char pad[4096]; /* a different frame: a different rule */
    pad[n % 4096] = 1;
    __asm__ volatile("" : : "r"(pad) : "memory");
#endif
    char *p = plugin_leaf(n + 1);
    __asm__ volatile("" ::: "memory");
    return p;
}

char *plugin_make(size_t n)
{
    char *p = plugin_middle(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
