/*
 * The tracer's slow and rare paths: the frees a signal handler deferred
 * (internal.h), putting back a block a failed realloc had forgotten, track/untrack for other domains, and the out-of-memory
 * stop (after which allocations are counted in root.untraced, until
 * memsnap_stop). The hot path (trace_alloc, trace_free) is inline in
 * tracer.h.
 * Callers hold the reentrancy guard.
 */
#include <errno.h>

#include "internal.h"
#include "tracer.h"

void run_deferred_frees(void)
{
    for (;;) {
        memsnap_in_runtime = 1; /* a handler's frees meanwhile are queued too */
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        unsigned n;
        while ((n = __atomic_load_n(&memsnap_deferred.count, __ATOMIC_RELAXED)) != 0) {
            void *ptr = memsnap_deferred.ptr[n - 1];
            /* a handler may have queued one more since n was read: retry */
            if (!__atomic_compare_exchange_n(&memsnap_deferred.count, &n, n - 1, 0,
                                             __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                continue;
            trace_free(ptr);
            real.free(ptr);
        }
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        memsnap_in_runtime = 0;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(&memsnap_deferred.count, __ATOMIC_RELAXED) == 0)
            return; /* else a handler queued one after the loop */
    }
}

void trace_out_of_memory(void)
{
    __atomic_store_n(&hot.skipping, 1, __ATOMIC_SEQ_CST); /* before tracing stops */
    uint32_t before = __atomic_fetch_or(&memsnap_root.state, MEMSNAP_STATE_TRUNCATED,
                                        __ATOMIC_ACQ_REL);
    __atomic_fetch_and(&memsnap_root.state, ~MEMSNAP_STATE_TRACING, __ATOMIC_ACQ_REL);
    publish_state();
    if (!(before & MEMSNAP_STATE_TRUNCATED))
        say("out of memory for the trace table; tracing stopped, traces truncated", "", "", "");
}

void trace_restore(void *ptr, uint64_t meta)
{
    struct memsnap_site *site = depot_site(MEMSNAP_SLOT_SITE(meta));
    if (site && table_insert((uint64_t)(uintptr_t)ptr, MEMSNAP_SLOT_SIZE(meta), site, 0) != 0) {
        trace_out_of_memory();
        __atomic_fetch_add(&memsnap_root.untraced, 1, __ATOMIC_RELAXED); /* the block it lost */
    }
}

int tracer_track(uint32_t domain, uint64_t addr, uint64_t size)
{
    if (addr == MEMSNAP_SLOT_EMPTY || addr == MEMSNAP_SLOT_TOMBSTONE)
        return -EINVAL;
    if (size > MEMSNAP_BLOCK_SIZE_MAX)
        return -EOVERFLOW;
    if (!tracing_enabled())
        return -EAGAIN;
    return trace_record(domain, addr, size);
}

int tracer_untrack(uint32_t domain, uint64_t addr)
{
    return table_remove(addr, domain, NULL);
}
