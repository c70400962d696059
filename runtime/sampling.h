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
 * header, so freeing it costs only the header check.
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

/* 1 when an allocation of `size` bytes is to be recorded (the countdown
 * reached it), else 0. Only called when sampling. */
int sample_draw(struct thread_state *self, uint64_t size);
static inline int sample_take(struct thread_state *self, uint64_t size)
{
    int64_t left = self->countdown - (int64_t)size;
    if (MEMSNAP_LIKELY(left > 0 && self->countdown > 0)) {
        self->countdown = left;
        return 0;
    }
    return sample_draw(self, size);
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
