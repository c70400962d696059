/*
 * The runtime's spin lock: a 32-bit word holding 0 (free) or the owner's
 * kernel tid, so a reader of a stopped process or a core sees who holds it.
 * Acquire tries one compare-and-swap, then spins with `pause` (test, then
 * test-and-set), then yields. The runtime's locks guard rare paths only
 * (init.c lists them and their order). Callers hold the reentrancy guard,
 * so a signal handler on the same thread can never try to take one again.
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

static inline void spin_unlock(uint32_t *word)
{
    __atomic_store_n(word, 0, __ATOMIC_RELEASE);
}

#endif /* MEMSNAP_RUNTIME_SPINLOCK_H */
