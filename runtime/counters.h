/*
 * Per-thread counters (counters.c): each thread record has its own
 * memsnap_counter per site (live and total pairs, include/memsnap/layout.h)
 * in pages found through a directory, and its own `current`; only the
 * owning thread writes them, each pair with one 16-byte store (movdqa), so
 * no cache line is shared between threads and a reader, which stops a
 * thread between two instructions, never sees a pair torn. Readers sum the
 * threads.
 *
 * root.current_bytes and root.peak_bytes are folded from the threads: while
 * the process has a single thread (glibc's __libc_single_threaded) every
 * change is folded at once with plain stores, so they are exact; after
 * that, each thread folds its drift under the fold lock once it reaches
 * root.fold_bytes, so each is within threads * fold_bytes of the exact
 * value (every record may hold up to fold_bytes unfolded; docs/layout.md). A thread's first change with several
 * threads folds at once (its fold_limit is 0 until then), which sets
 * root.state DRIFT: a reader without it knows both are exact. Raising
 * the peak marks a new peak snapshot (peak.h).
 */
#ifndef MEMSNAP_RUNTIME_COUNTERS_H
#define MEMSNAP_RUNTIME_COUNTERS_H

#include <sys/single_threaded.h>

#include "peak.h"
#include "threads.h"

#if !defined(__x86_64__)
#error "memsnap's runtime supports x86-64 only (16-byte stores of counter pairs)"
#endif

/* The calling thread's counter of site `id`, or NULL when out of memory. */
struct memsnap_counter *counter_slow(struct thread_state *self, uint32_t id);
static inline struct memsnap_counter *counter_of(struct thread_state *self, uint32_t id)
{
    const struct memsnap_counters *dir = self->dir;
    uint32_t page = id / MEMSNAP_COUNTERS_PER_PAGE;
    if (MEMSNAP_LIKELY(dir != NULL && page < dir->npages && dir->page[page] != 0))
        return (struct memsnap_counter *)(uintptr_t)dir->page[page] +
               id % MEMSNAP_COUNTERS_PER_PAGE;
    return counter_slow(self, id);
}

typedef uint64_t pair_vector __attribute__((vector_size(16)));

/* {pair[0], pair[1]} += {count, bytes}: one 16-byte load, one 16-byte
 * store. Only the owner of the pair calls it. */
static inline void pair_add(uint64_t *pair, uint64_t count, uint64_t bytes)
{
    pair_vector delta = {count, bytes}, sum;
    __asm__ __volatile__("movdqa %[mem], %[sum]\n\t"
                         "paddq %[delta], %[sum]\n\t"
                         "movdqa %[sum], %[mem]"
                         : [mem] "+m"(*(volatile pair_vector *)pair), [sum] "=&x"(sum)
                         : [delta] "x"(delta)
                         : "memory");
}

/* True while the process has never had a second thread. */
static inline int process_single_threaded(void)
{
    return __atomic_load_n(&__libc_single_threaded, __ATOMIC_RELAXED) != 0;
}

/* Folds the drift into root.current/peak under the fold lock. */
void fold_drift(struct thread_state *self);

/* Single-threaded: fold everything now, with plain stores. */
static inline void fold_now(struct thread_state *self, int64_t delta)
{
    delta += self->unfolded;
    self->unfolded = 0;
    uint64_t now = memsnap_root.current_bytes + (uint64_t)delta;
    __atomic_store_n(&memsnap_root.current_bytes, now, __ATOMIC_RELAXED);
    if ((int64_t)now > (int64_t)memsnap_root.peak_bytes)
        peak_mark(now);
}

/* The record's `current` changes by delta (a plain store: its owner is the
 * only writer), and so, eventually, does root.current_bytes. */
static inline void current_change(struct thread_state *self, int64_t delta)
{
    __atomic_store_n(&self->rec.current, self->rec.current + delta, __ATOMIC_RELAXED);
    if (process_single_threaded()) {
        fold_now(self, delta);
        return;
    }
    self->unfolded += delta;
    int64_t limit = self->fold_limit;
    if (MEMSNAP_UNLIKELY(self->unfolded >= limit || self->unfolded <= -limit))
        fold_drift(self);
}

/* Zeroes the caller's counters and current (a clear). Owner. */
void counters_wipe(struct thread_state *self);

/* The fold lock guards root.current_bytes, root.peak_bytes and
 * root.clear_gen. */
void fold_lock(void);
void fold_unlock(void);
void fold_reset_lock(void);

#endif /* MEMSNAP_RUNTIME_COUNTERS_H */
