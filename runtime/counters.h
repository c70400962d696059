/*
 * The runtime's counters, inline because every hook updates them. A site's
 * (count, bytes) pairs are changed with one 16-byte compare-and-swap
 * (lock cmpxchg16b, inline asm: no libatomic), so a reader never sees a
 * count from one update and bytes from another. root.current_bytes is an
 * atomic add; root.peak_bytes an atomic maximum.
 *
 * While the process has only ever had one thread (glibc's
 * __libc_single_threaded, the flag its own malloc trusts to skip its
 * locks; pthread_create clears it before the second thread exists), no
 * other thread can race an update, and the *_solo forms do without the
 * locked instructions: a pair is still written by one 16-byte store
 * instruction (movdqa), so a debugger, which stops a thread between two
 * instructions, or a core dump still never shows it torn. A signal handler
 * that interrupts an update cannot make one itself: the hooks hold the
 * reentrancy guard, under which nothing is traced.
 */
#ifndef MEMSNAP_RUNTIME_COUNTERS_H
#define MEMSNAP_RUNTIME_COUNTERS_H

#include <stdint.h>
#include <sys/single_threaded.h>

#include "memsnap/layout.h"

extern struct memsnap_root memsnap_root;

#if !defined(__x86_64__)
#error "memsnap's runtime supports x86-64 only (16-byte CAS for the site counters)"
#endif

/* Replaces {*pair, *(pair+1)} == {*lo, *hi} with {new_lo, new_hi}; on
 * failure, stores the current value into *lo, *hi and returns 0. */
static inline int cas16(uint64_t *pair, uint64_t *lo, uint64_t *hi, uint64_t new_lo,
                        uint64_t new_hi)
{
    unsigned char ok;
    uint64_t a = *lo, d = *hi;
    __asm__ __volatile__("lock cmpxchg16b %[mem]\n\tsete %[ok]"
                         : [ok] "=q"(ok), [mem] "+m"(*(volatile uint64_t(*)[2])pair), "+a"(a),
                           "+d"(d)
                         : "b"(new_lo), "c"(new_hi)
                         : "memory", "cc");
    *lo = a;
    *hi = d;
    return ok;
}

/* Fetches a line for writing (prefetchw: a no-op on CPUs without it), so
 * that a read followed by a locked write costs one transfer of the line
 * from another core, not two (shared, then exclusive). */
static inline void prefetch_for_write(const void *p)
{
    __asm__ __volatile__("prefetchw %0" : : "m"(*(const char *)p));
}

static inline void pair_add(uint64_t *pair, uint64_t count, uint64_t bytes)
{
    prefetch_for_write(pair);
    uint64_t lo = __atomic_load_n(&pair[0], __ATOMIC_RELAXED);
    uint64_t hi = __atomic_load_n(&pair[1], __ATOMIC_RELAXED);
    while (!cas16(pair, &lo, &hi, lo + count, hi + bytes))
        ;
}

static inline void pair_sub(uint64_t *pair, uint64_t count, uint64_t bytes)
{
    prefetch_for_write(pair);
    uint64_t lo = __atomic_load_n(&pair[0], __ATOMIC_RELAXED);
    uint64_t hi = __atomic_load_n(&pair[1], __ATOMIC_RELAXED);
    while (!cas16(pair, &lo, &hi, lo - count, hi - bytes))
        ;
}

static inline void pair_zero(uint64_t *pair)
{
    uint64_t lo = __atomic_load_n(&pair[0], __ATOMIC_RELAXED);
    uint64_t hi = __atomic_load_n(&pair[1], __ATOMIC_RELAXED);
    while (!cas16(pair, &lo, &hi, 0, 0))
        ;
}

/* True while the process has never had a second thread. */
static inline int process_single_threaded(void)
{
    return __atomic_load_n(&__libc_single_threaded, __ATOMIC_RELAXED) != 0;
}

typedef uint64_t pair_vector __attribute__((vector_size(16)));

/* {*pair, *(pair+1)} += {count, bytes} with one 16-byte load and one
 * 16-byte store (no lock prefix): for the single-threaded case only. */
static inline void pair_add_solo(uint64_t *pair, uint64_t count, uint64_t bytes)
{
    pair_vector delta = {count, bytes}, sum;
    __asm__ __volatile__("movdqa %[mem], %[sum]\n\t"
                         "paddq %[delta], %[sum]\n\t"
                         "movdqa %[sum], %[mem]"
                         : [mem] "+m"(*(volatile pair_vector *)pair), [sum] "=&x"(sum)
                         : [delta] "x"(delta)
                         : "memory");
}

static inline void pair_add_any(int solo, uint64_t *pair, uint64_t count, uint64_t bytes)
{
    if (solo)
        pair_add_solo(pair, count, bytes);
    else
        pair_add(pair, count, bytes);
}

static inline void pair_sub_any(int solo, uint64_t *pair, uint64_t count, uint64_t bytes)
{
    if (solo)
        pair_add_solo(pair, -count, -bytes);
    else
        pair_sub(pair, count, bytes);
}

static inline void current_add(uint64_t bytes)
{
    uint64_t now = __atomic_add_fetch(&memsnap_root.current_bytes, bytes, __ATOMIC_RELAXED);
    uint64_t peak = __atomic_load_n(&memsnap_root.peak_bytes, __ATOMIC_RELAXED);
    while (now > peak &&
           !__atomic_compare_exchange_n(&memsnap_root.peak_bytes, &peak, now, 1,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static inline void current_sub(uint64_t bytes)
{
    __atomic_sub_fetch(&memsnap_root.current_bytes, bytes, __ATOMIC_RELAXED);
}

static inline void current_add_any(int solo, uint64_t bytes)
{
    if (!solo) {
        current_add(bytes);
        return;
    }
    uint64_t now = __atomic_load_n(&memsnap_root.current_bytes, __ATOMIC_RELAXED) + bytes;
    __atomic_store_n(&memsnap_root.current_bytes, now, __ATOMIC_RELAXED);
    if (now > __atomic_load_n(&memsnap_root.peak_bytes, __ATOMIC_RELAXED))
        __atomic_store_n(&memsnap_root.peak_bytes, now, __ATOMIC_RELAXED);
}

static inline void current_sub_any(int solo, uint64_t bytes)
{
    if (solo)
        __atomic_store_n(&memsnap_root.current_bytes,
                         __atomic_load_n(&memsnap_root.current_bytes, __ATOMIC_RELAXED) - bytes,
                         __ATOMIC_RELAXED);
    else
        current_sub(bytes);
}

#endif /* MEMSNAP_RUNTIME_COUNTERS_H */
