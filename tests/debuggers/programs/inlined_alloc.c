/*
 * inlined_alloc.c: an allocation inside an always-inlined helper, built
 * with -O2, so the malloc's return address belongs to two source levels
 * (make_buffer inlined into build). The debugger must show both as frames:
 * build's call line, then make_buffer's malloc line. checkpoint() is where
 * the test stops.
 */
#include <stdlib.h>

void *volatile kept[3];

static inline __attribute__((always_inline)) void *make_buffer(size_t size)
{
    void *buffer = malloc(size); /* inlined malloc line */
    kept[2] = buffer;
    return buffer;
}

__attribute__((noinline)) void build(void)
{
    kept[0] = make_buffer(333); /* inlined call line */
    kept[1] = malloc(1);
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
