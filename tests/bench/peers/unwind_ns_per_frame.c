/*
 * Microbenchmark of the unwinders alone: from the bottom of a recursion of
 * a given depth (built -O2, with frame pointers so that both unwinders walk
 * the whole stack), calls unwind_dwarf (warm cache) or unwind_fp in a loop
 * and prints nanoseconds per frame. Linked with runtime/unwind_dwarf.c,
 * runtime/unwind_fp.c and the test harness that stands in for the rest of
 * the runtime (tests/unwind/unwind_harness.c).
 * Usage: unwind_ns_per_frame DEPTH CALLS
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "unwind.h"

int harness_init(void);

static long calls;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double measure(unwind_fn fn, uint32_t *frames)
{
    uint64_t pcs[256];
    uint32_t total = 0;
    for (int i = 0; i < 1000; i++)
        fn(pcs, 256, &total);
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        double t0 = now();
        for (long i = 0; i < calls; i++) {
            fn(pcs, 256, &total);
            __asm__ volatile("" ::: "memory");
        }
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    *frames = total;
    return best * 1e9 / ((double)calls * total);
}

__attribute__((noinline)) static int bottom(int depth)
{
    volatile int pad = depth;
    if (depth > 0) {
        int r = bottom(depth - 1);
        return r + pad;
    }
    uint32_t nd, nf;
    double dwarf = measure(unwind_dwarf, &nd);
    double fp = measure(unwind_fp, &nf);
    printf("dwarf %.2f ns/frame (%u frames)\nfp %.2f ns/frame (%u frames)\n", dwarf, nd, fp, nf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DEPTH CALLS\n", argv[0]);
        return 2;
    }
    calls = atol(argv[2]);
    if (harness_init() != 0) {
        fprintf(stderr, "unwind_dwarf_init failed\n");
        return 1;
    }
    bottom(atoi(argv[1]));
    return 0;
}
