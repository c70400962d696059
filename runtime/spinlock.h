/*
 * The runtime's spin lock: a 32-bit word holding 0 (free) or the owner's
 * kernel tid, so a reader of a stopped process or a core sees who holds it.
 * Acquire tries one compare-and-swap, then spins with `pause` (test, then
 * test-and-set), then yields. The
 * block table's locks skip the atomic instruction while the process is
 * single-threaded (spin_lock_any). Callers hold the reentrancy guard,
 * so a signal handler on the same thread can never try to take it again.
 */
#ifndef MEMSNAP_RUNTIME_SPINLOCK_H
#define MEMSNAP_RUNTIME_SPINLOCK_H

#include <sched.h>
#include <stdint.h>

#include "internal.h"

static inline void spin_lock(uint32_t *word)
{
    uint32_t tid = current_tid();
    uint32_t expected = 0;
    /* First a plain compare-and-swap: testing first would fetch the line
     * shared, then again exclusive (two transfers when another core wrote
     * it last). Only a waiter tests before it tries again. */
    if (MEMSNAP_LIKELY(__atomic_compare_exchange_n(word, &expected, tid, 0, __ATOMIC_ACQUIRE,
                                                   __ATOMIC_RELAXED)))
        return;
    for (unsigned spins = 0;; spins++) {
        expected = 0;
        if (__atomic_load_n(word, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(word, &expected, tid, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return;
        if (spins < 64)
            __builtin_ia32_pause();
        else
            sched_yield();
    }
}

/* spin_lock, or (solo: the process has a single thread, counters.h) a
 * plain store of the owner's tid, which readers see the same way. */
static inline void spin_lock_any(int solo, uint32_t *word)
{
    if (solo) {
        __atomic_store_n(word, current_tid(), __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    } else {
        spin_lock(word);
    }
}

static inline void spin_unlock(uint32_t *word)
{
    __atomic_store_n(word, 0, __ATOMIC_RELEASE);
}

#endif /* MEMSNAP_RUNTIME_SPINLOCK_H */
