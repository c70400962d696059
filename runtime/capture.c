/*
 * Capturing the site of the allocation being traced (tracer.h): the stack
 * of the hook's caller, walked by the selected unwinder (unwind.h) and
 * interned in the depot — or, for heap blocks under the DWARF unwinder,
 * answered by the calling thread's verified walk memo (walk_memo.h) when
 * the walk would repeat one already made, which saves both the walk and
 * the depot lookup. Not inlined: the walk starts here, and skips this frame
 * and the hook's, which lie in the runtime.
 */
#include "tracer.h"
#include "walk_memo.h"

#ifdef MEMSNAP_HAVE_DWARF
/* The DWARF walk from here, through the memo when it can be used. */
static struct memsnap_site *dwarf_site(struct thread_state *self, uint32_t domain, unsigned limit,
                                       const struct walk_start *start)
{
    uint64_t pcs[MEMSNAP_MAX_FRAMES];
    uint32_t total = 0;
    struct walk_state *ws = self ? walk_state_of(self) : NULL;
    int use_log = 0;
    uint64_t tag = memo_tag(unwind_dwarf_generation(), limit);
    if (ws && domain == MEMSNAP_DOMAIN_HEAP) {
        struct memsnap_site *site = memo_find(ws, start, tag, &use_log);
        if (site && MEMSNAP_UNLIKELY(flags.test_stats > 1)) {
            /* MEMSNAP_TEST_STATS=2: the walk the hit saved, to compare */
            unsigned n = unwind_dwarf_walk(start, ws, pcs, limit, &total, NULL);
            ws->stats.wrong += depot_intern(domain, pcs, n, total) != site;
        }
        if (site)
            return site;
    }
    if (!use_log) {
        unsigned n = unwind_dwarf_walk(start, ws, pcs, limit, &total, NULL);
        return depot_intern(domain, pcs, n, total);
    }
    struct walk_log log; /* its arrays are written as it fills (not cleared: 1 KiB) */
    log.n = 0;
    log.usable = 1;
    log.uses_bp = log.uses_bx = 0;
    log.decides = 0;
    unsigned n = unwind_dwarf_walk(start, ws, pcs, limit, &total, &log);
    struct memsnap_site *site = depot_intern(domain, pcs, n, total);
    memo_store(ws, start, tag, &log, site);
    return site;
}
#endif

__attribute__((noinline)) struct memsnap_site *capture_site(struct thread_state *self,
                                                           uint32_t domain)
{
    unsigned limit = __atomic_load_n(&hot.limit, __ATOMIC_RELAXED);
#ifdef MEMSNAP_HAVE_DWARF
    if (hot.unwinder == MEMSNAP_UNWINDER_DWARF) {
        struct walk_start start;
        memsnap_unwind_capture(&start);
        return dwarf_site(self, domain, limit, &start);
    }
#endif
    uint64_t pcs[MEMSNAP_MAX_FRAMES];
    uint32_t total = 0;
    unsigned n = unwind_fp(pcs, limit, &total);
    return depot_intern(domain, pcs, n, total);
}
