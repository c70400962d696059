/*
 * alloc_wrappers.c: allocations made through two wrappers, as real programs
 * do: xmalloc (GNU's name, on memsnap's built-in list of allocator
 * wrappers, model/keyframe.py) and pool_alloc (the program's own, which a
 * user names with --alloc-fn). The statistics should charge the callers'
 * lines, not the wrappers'. checkpoint() is where the test stops.
 */
#include <stdio.h>
#include <stdlib.h>

void *volatile kept[30];

__attribute__((noinline)) void *xmalloc(size_t size)
{
    void *block = malloc(size); /* xmalloc malloc line */
    if (block == NULL) {
        fputs("out of memory\n", stderr);
        exit(1);
    }
    return block;
}

__attribute__((noinline)) void *pool_alloc(size_t size)
{
    return xmalloc(size); /* pool_alloc line */
}

__attribute__((noinline)) void build(void)
{
    for (int i = 0; i < 10; i++)
        kept[i] = xmalloc(100); /* xmalloc call line */
    for (int i = 10; i < 30; i++)
        kept[i] = pool_alloc(40); /* pool_alloc call line */
}

__attribute__((noinline)) void checkpoint(void)
{
    __asm__ volatile("" : : : "memory");
}

int main(void)
{
    build();
    checkpoint();
    return 0;
}
