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
 * is freed. An unsampled block costs one addition on malloc and has no
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
 * The countdown lives in the thread's TLS block (internal.h) as its
 * negation, `countup`: minus the bytes left before the next sampled block.
 * An allocation adds its size in one instruction (xadd, whose flags say
 * whether the sum stayed below zero), so that an unsampled block costs the
 * hook that instruction and a branch, and no guard, record or header. That
 * instruction is the only change made outside the guard: a signal
 * handler's allocation comes before or after it, and sample_crossed
 * (under the guard) tells from the bytes that were left before it whether
 * the allocation crossed the countdown or found none drawn (see there).
 */

/* Adds `size` to the count-up `place` (an lvalue: the thread's
 * tls->countup, or its STATIC_TLS_FIELD) in one instruction. `passes`
 * becomes 1 when the block is not sampled (the sum, taken exactly, is
 * below 0: more than `size` bytes were left), else 0; `before` becomes
 * the count-up before the addition. */
#if defined(__x86_64__)
/* xadd without lock: not atomic between cores (nothing else writes this
 * thread's TLS), but one instruction on this thread */
#define COUNT_UP(place, size, before, passes)                                   \
    do {                                                                        \
        (before) = (int64_t)(size);                                             \
        __asm__ volatile("xaddq %0, %1" : "+r"(before), "+m"(place), "=@ccl"(passes)); \
    } while (0)
#else
/* elsewhere a plain addition: a signal handler's allocation between the
 * load and the store is not counted, which leaves the distribution of the
 * next interval unchanged (it is memoryless) */
#define COUNT_UP(place, size, before, passes)                                   \
    do {                                                                        \
        int64_t sum_;                                                           \
        (before) = (place);                                                     \
        int overflow_ = __builtin_add_overflow((before), (int64_t)(size), &sum_); \
        (place) = (int64_t)((uint64_t)(before) + (uint64_t)(size));             \
        (passes) = overflow_ ? (before) < 0 : sum_ < 0;                         \
    } while (0)
#endif

/* The bytes that were left before an allocation, from the count-up
 * before it (COUNT_UP's `before`): > 0 when an interval was running. */
static inline int64_t bytes_left(int64_t countup_before)
{
    return (int64_t)(0 - (uint64_t)countup_before);
}

/* Under the guard, after an allocation of `size` did not pass the
 * count-up, with `left` = bytes_left(before): 1 when the allocation is to
 * be recorded, 0 when not. A positive `left` means it crossed the
 * countdown: recorded, and the next interval drawn. Otherwise no interval
 * was drawn for it — the thread's first allocation, or a signal handler's
 * that interrupted one of the thread's hooks between its crossing and its
 * draw: it draws one of its own. */
int sample_crossed(struct thread_tls *tls, uint64_t size, int64_t left);

/* 1 when an allocation of `size` bytes is to be recorded in a sampled
 * table (under the guard). */
static inline int sample_take(struct thread_tls *tls, uint64_t size)
{
    int64_t before;
    int passes;
    COUNT_UP(tls->countup, size, before, passes);
    if (MEMSNAP_LIKELY(passes))
        return 0;
    return sample_crossed(tls, size, bytes_left(before));
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
