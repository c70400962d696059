/*
 * Recording and forgetting blocks, inline because the hooks (override.c)
 * call them on every traced allocation and free: capture the caller's site
 * (capture.c: the unwinder, the walk memo, the depot), take a slot of the
 * calling thread's record (chunks.h), then write the slot and the thread's
 * counters (counters.h), announced in the record's `pend_*` words with the
 * counters' values before (docs/layout.md, "order of writes") so that a
 * reader of a stopped process, a fork child or a thread adopting the record
 * can tell exactly what was done. The rest of the tracer (track/untrack, frees deferred by signal handlers,
 * the out-of-memory stop) is in tracer.c. Callers hold the reentrancy
 * guard and have caught up with the last clear (thread_check_clear).
 */
#ifndef MEMSNAP_RUNTIME_TRACER_H
#define MEMSNAP_RUNTIME_TRACER_H

#include <errno.h>

#include "chunks.h"
#include "counters.h"
#include "sampling.h"
#include "unwind.h"

#define TRACER_INLINE static inline __attribute__((always_inline))

/* capture.c: the site of the hook's caller's stack in `domain`, or NULL
 * when out of memory. */
struct memsnap_site *capture_site(struct thread_state *self, uint32_t domain);

/*
 * The operation in flight, announced before it starts (docs/layout.md,
 * "order of writes"): what it is, and the values its counters had before,
 * so that whoever reads the record while the operation is half done (a
 * debugger, a fork child, a thread adopting the record) can tell each
 * update done from not done by comparing.
 */
TRACER_INLINE void pend_begin(struct thread_state *self, uint32_t op, const void *slot,
                              uint64_t addr, uint64_t meta, struct weights w,
                              const struct memsnap_counter *counter)
{
    struct memsnap_thread *rec = &self->rec;
    rec->pend_slot = (uint64_t)(uintptr_t)slot;
    rec->pend_addr = addr;
    rec->pend_meta = meta;
    rec->pend_count = w.count;
    rec->pend_bytes = w.bytes;
    rec->pend_current = rec->current;
    rec->pend_live = counter->live_count;
    rec->pend_total = counter->total_count;
    __atomic_store_n(&rec->pend_op, op, __ATOMIC_RELEASE);
}

TRACER_INLINE void pend_end(struct thread_state *self)
{
    __atomic_store_n(&self->rec.pend_op, MEMSNAP_OP_NONE, __ATOMIC_RELEASE);
}

/* Records the block (addr, meta) in `slot` of the caller's record with
 * weights w: 0, or -ENOMEM (no counter page; nothing written). */
TRACER_INLINE int record_alloc(struct thread_state *self, struct memsnap_slot *slot, uint64_t addr,
                               uint64_t meta, struct weights w)
{
    struct memsnap_counter *counter = counter_of(self, MEMSNAP_SLOT_SITE(meta));
    if (MEMSNAP_UNLIKELY(!counter))
        return -ENOMEM;
    pend_begin(self, MEMSNAP_OP_ALLOC, slot, addr, meta, w, counter);
    *birth_of(slot) = __atomic_load_n(&memsnap_root.epoch, __ATOMIC_RELAXED);
    slot->meta = meta;
    __atomic_store_n(&slot->addr, addr, __ATOMIC_RELEASE);
    peak_keep(counter);
    pair_add(&counter->live_count, w.count, w.bytes);
    pair_add(&counter->total_count, w.count, w.bytes);
    current_change(self, (int64_t)w.bytes);
    pend_end(self);
    return 0;
}

/* Forgets the block at addr recorded in `slot` (of any record), counting
 * the free in the caller's record: 1 done, 0 when the slot no longer holds
 * this block (forgotten by a clear: nothing to do), -ENOMEM. */
TRACER_INLINE int record_free(struct thread_state *self, struct memsnap_slot *slot, uint64_t addr,
                              struct weights (*weights_of)(uint64_t, uint64_t))
{
    uint64_t meta = __atomic_load_n(&slot->meta, __ATOMIC_RELAXED);
    if (__atomic_load_n(&slot->addr, __ATOMIC_ACQUIRE) != addr)
        return 0;
    struct memsnap_chunk *chunk = chunk_of(slot);
    const struct memsnap_thread *owner = (const struct memsnap_thread *)(uintptr_t)chunk->owner;
    int mine = owner == &self->rec;
    if (!mine && !record_is_current(owner))
        return 0; /* allocated before a clear its owner has not caught up with */
    struct memsnap_counter *counter = counter_of(self, MEMSNAP_SLOT_SITE(meta));
    if (MEMSNAP_UNLIKELY(!counter))
        return -ENOMEM;
    struct weights w = weights_of(addr, MEMSNAP_SLOT_SIZE(meta));
    pend_begin(self, MEMSNAP_OP_FREE, slot, addr, meta, w, counter);
    if (mine) {
        __atomic_store_n(&slot->addr, MEMSNAP_SLOT_FREE, __ATOMIC_RELEASE);
    } else if (!slot_clear_remote(slot, addr)) {
        pend_end(self); /* its owner's wipe cleared it first */
        return 0;
    }
    peak_keep(counter);
    pair_add(&counter->live_count, -w.count, -w.bytes);
    current_change(self, -(int64_t)w.bytes);
    pend_end(self);
    if (mine)
        slot_give_back(self, slot);
    else
        slot_give_back_remote(slot);
    return 1;
}

/* Records a new heap block at `user` of `size` bytes with the caller's
 * site: its slot, or NULL when it could not be recorded (too large, out of
 * memory: counted in root.untraced, tracing stopped on out of memory). */
TRACER_INLINE struct memsnap_slot *trace_heap_block(struct thread_state *self, void *user,
                                                     uint64_t size)
{
    if (MEMSNAP_UNLIKELY(size > MEMSNAP_BLOCK_SIZE_MAX)) {
        __atomic_fetch_add(&memsnap_root.untraced, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    struct memsnap_slot *slot = slot_take(self);
    struct memsnap_site *site = capture_site(self, MEMSNAP_DOMAIN_HEAP);
    uint64_t addr = (uint64_t)(uintptr_t)user;
    if (MEMSNAP_LIKELY(slot && site) &&
        MEMSNAP_LIKELY(record_alloc(self, slot, addr, MEMSNAP_SLOT_META(size, site->id),
                                    heap_weights(addr, size)) == 0))
        return slot;
    if (slot)
        slot_give_back(self, slot);
    __atomic_fetch_add(&memsnap_root.untraced, 1, __ATOMIC_RELAXED);
    trace_out_of_memory();
    return NULL;
}

/* Forgets the heap block at `user` whose header links `slot`. */
TRACER_INLINE void forget_heap_block(struct thread_state *self, void *user,
                                     struct memsnap_slot *slot)
{
    if (MEMSNAP_UNLIKELY(record_free(self, slot, (uint64_t)(uintptr_t)user, heap_weights) < 0))
        trace_out_of_memory();
}

/* ---- tracer.c ---- */

/* A free made while this thread's hook runs (a signal handler): the block
 * is forgotten and freed when the hook leaves (trace_drain_deferred). */
void trace_defer_free(struct thread_state *self, void *user);
void trace_drain_deferred(struct thread_state *self);
/* A hook or an API call leaves the runtime: the guard in the calling
 * thread's TLS block back to 0, after the frees a signal handler deferred
 * meanwhile (self: the caller's record, or NULL when it has none). */
TRACER_INLINE void guard_leave(struct thread_tls *tls, struct thread_state *self)
{
    for (;;) {
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        tls->in_runtime = 0;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (MEMSNAP_LIKELY(!self || !__atomic_load_n(&self->deferred, __ATOMIC_RELAXED)))
            return;
        tls->in_runtime = 1;
        trace_drain_deferred(self);
    }
}
/* track/untrack of other domains (memsnap_track/untrack). */
int tracer_track(uint32_t domain, uint64_t addr, uint64_t size);
int tracer_untrack(uint32_t domain, uint64_t addr);
/* Forgets every tracked range (a clear). Track lock held by the caller. */
void track_forget_all(void);
void track_lock(void);
void track_unlock(void);
void track_reset_lock(void);

#endif /* MEMSNAP_RUNTIME_TRACER_H */
