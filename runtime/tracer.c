/*
 * What a hook does once the real allocator has answered: capture the stack
 * with the selected unwinder, intern it in the depot, record the block in
 * the table (trace_alloc); forget a block before the real free
 * (trace_free). Also track/untrack for other domains, and the
 * out-of-memory stop. Callers hold the reentrancy guard.
 */
#include <errno.h>

#include "internal.h"
#include "unwind.h"

unsigned capture_stack(uint64_t *pcs, unsigned max, uint32_t *total)
{
#ifdef MEMSNAP_HAVE_DWARF
    if (memsnap_root.unwinder == MEMSNAP_UNWINDER_DWARF)
        return unwind_dwarf(pcs, max, total);
#endif
    return unwind_fp(pcs, max, total);
}

void trace_out_of_memory(void)
{
    uint32_t before = __atomic_fetch_or(&memsnap_root.state, MEMSNAP_STATE_TRUNCATED,
                                        __ATOMIC_ACQ_REL);
    __atomic_fetch_and(&memsnap_root.state, ~MEMSNAP_STATE_TRACING, __ATOMIC_ACQ_REL);
    if (!(before & MEMSNAP_STATE_TRUNCATED))
        say("out of memory for the trace table; tracing stopped, traces truncated", "", "", "");
}

static void count_untraced(void)
{
    __atomic_fetch_add(&memsnap_root.untraced, 1, __ATOMIC_RELAXED);
}

/* Records (domain, addr, size) with the caller's stack: 0 or -errno. */
static int record(uint32_t domain, uint64_t addr, uint64_t size)
{
    uint64_t pcs[MEMSNAP_MAX_FRAMES];
    uint32_t total = 0;
    unsigned limit = __atomic_load_n(&memsnap_root.traceback_limit, __ATOMIC_RELAXED);
    if (limit > MEMSNAP_MAX_FRAMES)
        limit = MEMSNAP_MAX_FRAMES;
    unsigned n = capture_stack(pcs, limit, &total);
    struct memsnap_site *site = depot_intern(domain, pcs, n, total);
    if (!site || table_insert(addr, size, site, 1) != 0) {
        trace_out_of_memory();
        return -ENOMEM;
    }
    return 0;
}

void trace_alloc(void *ptr, size_t size)
{
    if (MEMSNAP_UNLIKELY(size > MEMSNAP_BLOCK_SIZE_MAX) ||
        record(MEMSNAP_DOMAIN_HEAP, (uint64_t)(uintptr_t)ptr, size) != 0)
        count_untraced();
}

uint64_t trace_free(void *ptr)
{
    uint64_t meta = 0;
    if (table_remove((uint64_t)(uintptr_t)ptr, MEMSNAP_DOMAIN_HEAP, &meta) != 0)
        return 0;
    return meta;
}

void trace_restore(void *ptr, uint64_t meta)
{
    struct memsnap_site *site = depot_site(MEMSNAP_SLOT_SITE(meta));
    if (site && table_insert((uint64_t)(uintptr_t)ptr, MEMSNAP_SLOT_SIZE(meta), site, 0) != 0)
        trace_out_of_memory();
}

int tracer_track(uint32_t domain, uint64_t addr, uint64_t size)
{
    if (addr == MEMSNAP_SLOT_EMPTY || addr == MEMSNAP_SLOT_TOMBSTONE)
        return -EINVAL;
    if (size > MEMSNAP_BLOCK_SIZE_MAX)
        return -EOVERFLOW;
    if (!tracing_enabled())
        return -EAGAIN;
    return record(domain, addr, size);
}

int tracer_untrack(uint32_t domain, uint64_t addr)
{
    return table_remove(addr, domain, NULL);
}
