/*
 * What a hook does once the real allocator has answered, inline: capture
 * the stack with the selected unwinder, intern it in the depot, record the
 * block in the table (trace_alloc); forget a block before the real free
 * (trace_free). They are forced inline into the hooks so that the walk
 * starts one frame from the program's code: every runtime frame between
 * the unwinder and the hook's caller would cost a step of the walk. The
 * rest of the tracer (restore, track/untrack, the out-of-memory stop) is in
 * tracer.c. Callers hold the reentrancy guard.
 */
#ifndef MEMSNAP_RUNTIME_TRACER_H
#define MEMSNAP_RUNTIME_TRACER_H

#include <errno.h>

#include "internal.h"
#include "unwind.h"

#define TRACER_INLINE static inline __attribute__((always_inline))

/* Stack capture with the selected unwinder (root.unwinder). */
TRACER_INLINE unsigned capture_stack(uint64_t *pcs, unsigned max, uint32_t *total)
{
#ifdef MEMSNAP_HAVE_DWARF
    if (hot.unwinder == MEMSNAP_UNWINDER_DWARF)
        return unwind_dwarf(pcs, max, total);
#endif
    return unwind_fp(pcs, max, total);
}

/* Records (domain, addr, size) with the caller's stack: 0 or -errno. */
TRACER_INLINE int trace_record(uint32_t domain, uint64_t addr, uint64_t size)
{
    uint64_t pcs[MEMSNAP_MAX_FRAMES];
    uint32_t total = 0;
    unsigned limit = __atomic_load_n(&hot.limit, __ATOMIC_RELAXED);
    table_prefetch(addr); /* the walk hides the miss */
    unsigned n = capture_stack(pcs, limit, &total);
    struct memsnap_site *site = depot_intern(domain, pcs, n, total);
    if (MEMSNAP_UNLIKELY(!site || table_insert(addr, size, site, 1) != 0)) {
        trace_out_of_memory();
        return -ENOMEM;
    }
    return 0;
}

/* Called by the hooks with the real result (ptr != NULL). */
TRACER_INLINE void trace_alloc(void *ptr, size_t size)
{
    if (MEMSNAP_UNLIKELY(size > MEMSNAP_BLOCK_SIZE_MAX) ||
        MEMSNAP_UNLIKELY(trace_record(MEMSNAP_DOMAIN_HEAP, (uint64_t)(uintptr_t)ptr, size) != 0))
        __atomic_fetch_add(&memsnap_root.untraced, 1, __ATOMIC_RELAXED);
}

/* Called before the real free: forgets the heap block at ptr. Returns its
 * slot meta (MEMSNAP_SLOT_META) or 0 when the block was not traced. */
TRACER_INLINE uint64_t trace_free(void *ptr)
{
    uint64_t meta = 0;
    if (table_remove((uint64_t)(uintptr_t)ptr, MEMSNAP_DOMAIN_HEAP, &meta) != 0)
        return 0;
    return meta;
}

#endif /* MEMSNAP_RUNTIME_TRACER_H */
