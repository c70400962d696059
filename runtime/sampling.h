/*
 * Sampling by bytes (sampling.c), when root.sample_bytes = R > 0
 * (MEMSNAP_SAMPLE): heap allocations are a Poisson process of rate 1/R over
 * the bytes allocated, as in tcmalloc, heapprofd and Go. Each thread counts
 * down an exponentially distributed number of bytes; the allocation that
 * reaches zero is recorded, and so a block of size s is recorded with
 * probability p = 1 - exp(-s/R). A recorded block adds unbiased estimates to
 * its counters: 1/p blocks and s/p bytes, rounded to integers with a dither
 * drawn from the block's address (docs/layout.md gives the formula), so
 * sums stay unbiased and the same block's weights are known again when it
 * is freed. An unsampled block costs one subtraction on malloc and has no
 * header, so freeing it costs only the header check (block_header.h: one
 * load and a test for a real allocator's block).
 */
#ifndef MEMSNAP_RUNTIME_SAMPLING_H
#define MEMSNAP_RUNTIME_SAMPLING_H

#include "threads.h"

/* What a recorded block adds to its counters: 1 and its size, or its
 * sampling weights. */
struct weights {
    uint64_t count;
    uint64_t bytes;
};

/*
 * The countdown lives in the thread's TLS block (internal.h), so that an
 * unsampled block costs the hook one instruction that subtracts its size
 * (countdown_sub) and no guard, record or header. That instruction is the
 * only change made outside the guard: a signal handler's allocation comes
 * before or after it, and sample_crossed (under the guard) tells from the
 * value before the subtraction whether the allocation crossed the
 * countdown or found none drawn (see there).
 */

/* Subtracts `size` from the calling thread's countdown in one instruction
 * and returns the value before. The allocation is not sampled when that
 * value is above `size` (countdown_passes). */
static inline __attribute__((always_inline)) int64_t countdown_sub(struct thread_tls *tls,
                                                                   uint64_t size)
{
    int64_t delta = -(int64_t)size;
#if defined(__x86_64__)
    /* xadd without lock: not atomic between cores (nothing else writes
     * this thread's TLS), but one instruction on this thread */
    __asm__ volatile("xaddq %0, %1" : "+r"(delta), "+m"(tls->countdown));
    return delta;
#else
    /* elsewhere a plain subtraction: a signal handler's allocation between
     * the load and the store is not counted down, which leaves the
     * distribution of the next interval unchanged (it is memoryless) */
    int64_t before = tls->countdown;
    tls->countdown = before + delta;
    return before;
#endif
}

static inline int countdown_passes(int64_t before, uint64_t size)
{
    return before > (int64_t)size;
}

/* Under the guard, after countdown_sub(tls, size) returned `before` that
 * does not pass: 1 when the allocation is to be recorded, 0 when not. A
 * positive `before` means it crossed the countdown: recorded, and the next
 * interval drawn. Otherwise no interval was drawn for it — the thread's
 * first allocation, or a signal handler's that interrupted one of the
 * thread's hooks between its crossing and its draw: it draws one of its
 * own. */
int sample_crossed(struct thread_tls *tls, uint64_t size, int64_t before);

/* 1 when an allocation of `size` bytes is to be recorded in a sampled
 * table (under the guard). */
static inline int sample_take(struct thread_tls *tls, uint64_t size)
{
    int64_t before = countdown_sub(tls, size);
    if (MEMSNAP_LIKELY(countdown_passes(before, size)))
        return 0;
    return sample_crossed(tls, size, before);
}

/* The weights of a heap block of `size` at `addr` in a table sampled with
 * mean interval `interval` (> 0). */
struct weights sample_weights(uint64_t addr, uint64_t size, uint64_t interval);

/* The weights of a heap block: exact unless the table is sampled. */
static inline struct weights heap_weights(uint64_t addr, uint64_t size)
{
    uint64_t interval = __atomic_load_n(&hot.sample_bytes, __ATOMIC_RELAXED);
    if (MEMSNAP_LIKELY(interval == 0))
        return (struct weights){1, size};
    return sample_weights(addr, size, interval);
}

#endif /* MEMSNAP_RUNTIME_SAMPLING_H */
