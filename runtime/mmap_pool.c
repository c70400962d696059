/*
 * The runtime's memory: every byte it uses for itself comes from anonymous
 * mmap (so it is in core dumps and never disturbs the program's heap). Each
 * mapping starts with struct memsnap_mapping and is linked from
 * root.mappings; root.runtime_bytes is the exact sum of their sizes.
 * Tests can inject an mmap failure (MEMSNAP_TEST_MMAP_FAIL_AFTER).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "spinlock.h"

static uint32_t pool_lock_word;
static long fail_after = -1;

void pool_fail_after(long n)
{
    __atomic_store_n(&fail_after, n, __ATOMIC_RELAXED);
}

static uint64_t page_round(uint64_t size)
{
    return (size + 4095) & ~(uint64_t)4095;
}

#define RESERVE_FIRST (1ull << 20)     /* the first step of a region */
#define RESERVE_STEP_MAX (64ull << 20) /* steps stop doubling here */

void *pool_reserve(unsigned nth, uint64_t need, uint64_t *bytes)
{
    uint64_t step = nth < 6 ? RESERVE_FIRST << nth : RESERVE_STEP_MAX;
    *bytes = page_round(need) > step ? page_round(need) : step;
    int saved_errno = errno; /* a failure is the runtime's, not the program's */
    void *range = mmap(NULL, *bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    errno = saved_errno;
    return range == MAP_FAILED ? NULL : range;
}

int pool_take_budget(void)
{
    long budget = __atomic_load_n(&fail_after, __ATOMIC_RELAXED);
    if (budget == 0)
        return 0;
    if (budget > 0)
        __atomic_fetch_sub(&fail_after, 1, __ATOMIC_RELAXED);
    return 1;
}

void pool_link(struct memsnap_mapping *mapping, uint32_t kind, uint64_t size)
{
    mapping->size = size;
    mapping->kind = kind;
    mapping->used = sizeof *mapping;
    spin_lock(&pool_lock_word);
    mapping->next = memsnap_root.mappings;
    __atomic_store_n(&memsnap_root.mappings, (uint64_t)(uintptr_t)mapping, __ATOMIC_RELEASE);
    __atomic_fetch_add(&memsnap_root.runtime_bytes, size, __ATOMIC_RELAXED);
    spin_unlock(&pool_lock_word);
}

struct memsnap_mapping *pool_map(uint32_t kind, uint64_t size)
{
    size = page_round(size);
    if (!pool_take_budget())
        return NULL;
    int saved_errno = errno; /* a failure is the runtime's, not the program's */
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = saved_errno;
    if (mem == MAP_FAILED)
        return NULL;
    struct memsnap_mapping *mapping = mem;
    pool_link(mapping, kind, size);
    return mapping;
}

void pool_unmap(struct memsnap_mapping *mapping)
{
    uint64_t target = (uint64_t)(uintptr_t)mapping;
    spin_lock(&pool_lock_word);
    uint64_t *link = &memsnap_root.mappings;
    while (*link && *link != target)
        link = &((struct memsnap_mapping *)(uintptr_t)*link)->next;
    if (*link == target)
        __atomic_store_n(link, mapping->next, __ATOMIC_RELEASE);
    __atomic_fetch_sub(&memsnap_root.runtime_bytes, mapping->size, __ATOMIC_RELAXED);
    spin_unlock(&pool_lock_word);
    int saved_errno = errno;
    munmap(mapping, mapping->size);
    errno = saved_errno;
}

void pool_lock_all(void)
{
    spin_lock(&pool_lock_word);
}

void pool_unlock_all(void)
{
    spin_unlock(&pool_lock_word);
}

void pool_reset_lock(void)
{
    pool_lock_word = 0;
}
