/*
 * Drawing sampling intervals and computing a sampled block's weights
 * (sampling.h). Intervals are exponential with mean root.sample_bytes,
 * from a per-thread xorshift generator seeded from the thread's TLS
 * block's address and the clock (or, for tests, MEMSNAP_TEST_SEED); weights follow
 * docs/layout.md ("sampling") exactly, so a reader can recompute them.
 */
#include <math.h>
#include <time.h>

#include "sampling.h"

static uint64_t next_random(struct thread_tls *tls)
{
    uint64_t x = tls->rng;
    if (MEMSNAP_UNLIKELY(x == 0)) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        x = flags.test_seed > 0 ? (uint64_t)flags.test_seed * 0x9E3779B97F4A7C15ULL
                                : ((uint64_t)(uintptr_t)tls * 0x9E3779B97F4A7C15ULL) ^
                                      ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)now.tv_sec;
        x |= 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    tls->rng = x;
    return x;
}

/* A countdown: floor(X) + 1 for X exponentially distributed with mean
 * `interval`. An allocation of s bytes passes it when more than s bytes
 * are left, i.e. when X >= s: with probability exp(-s/R) exactly
 * (floor(X) alone, the sampled blocks were those with X < s + 1, which
 * made a 16-byte block 6% likelier to be sampled than the weights say). */
static int64_t draw_interval(struct thread_tls *tls, uint64_t interval)
{
    double u = (double)((next_random(tls) >> 11) + 1) * 0x1p-53; /* (0, 1] */
    double bytes = -log(u) * (double)interval;
    if (bytes > 0x1p62)
        return INT64_C(1) << 62;
    return (int64_t)bytes + 1;
}

int sample_crossed(struct thread_tls *tls, uint64_t size, int64_t left)
{
    uint64_t interval = __atomic_load_n(&hot.sample_bytes, __ATOMIC_RELAXED);
    if (interval == 0)
        return 1;
    if (left <= 0) {
        /* none drawn for this allocation: its own interval */
        int64_t own = draw_interval(tls, interval) - (int64_t)size;
        if (own > 0) {
            tls->countup = -own;
            return 0;
        }
    }
    tls->countup = -draw_interval(tls, interval);
    return 1;
}

/* The dither of the block at addr: uniform in [0, 1) over addresses. */
static double dither(uint64_t addr)
{
    addr ^= addr >> 33;
    addr *= 0xff51afd7ed558ccdULL;
    addr ^= addr >> 33;
    addr *= 0xc4ceb9fe1a85ec53ULL;
    addr ^= addr >> 33;
    return (double)(addr >> 11) * 0x1p-53;
}

struct weights sample_weights(uint64_t addr, uint64_t size, uint64_t interval)
{
    if (size == 0)
        return (struct weights){1, 0};
    double p = -expm1(-(double)size / (double)interval);
    double u = dither(addr);
    return (struct weights){(uint64_t)(1.0 / p + u), (uint64_t)((double)size / p + u)};
}
