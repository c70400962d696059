/*
 * big_alloc.h's mappings: mmap, madvise(MADV_HUGEPAGE) when at least one
 * huge page fits, mremap to grow.
 */
#define _GNU_SOURCE
#include "big_alloc.h"

#include <sys/mman.h>

#define HUGE_PAGE (2UL << 20)

static size_t page_round(size_t size)
{
    return (size + 4095) & ~(size_t)4095;
}

static void advise(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
    if (size >= HUGE_PAGE)
        madvise(p, size, MADV_HUGEPAGE);
#endif
}

void *big_alloc(size_t size)
{
    size = page_round(size ? size : 1);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    advise(p, size);
    return p;
}

void *big_realloc(void *p, size_t old_size, size_t new_size)
{
    if (!p)
        return big_alloc(new_size);
    old_size = page_round(old_size ? old_size : 1);
    new_size = page_round(new_size ? new_size : 1);
    void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE);
    if (q == MAP_FAILED)
        return NULL;
    advise(q, new_size);
    return q;
}

void big_free(void *p, size_t size)
{
    if (p)
        munmap(p, page_round(size ? size : 1));
}
