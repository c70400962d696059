/*
 * deep_alloc.c: the workload of frame_cost.py. Recurses to DEPTH frames
 * (argv[1]), then does STEPS (argv[2]) malloc/free pairs of 64 bytes with
 * 256 blocks live, so that every traced allocation unwinds at least DEPTH
 * frames and the runtime's cost per recorded frame shows as MEMSNAP=N
 * grows. Built with frame pointers, like the programs of tests/programs.
 */
#include <stdio.h>
#include <stdlib.h>

static void *live[256];

__attribute__((noinline)) static void churn(long steps)
{
    for (long i = 0; i < steps; i++) {
        unsigned slot = (unsigned)i & 255u;
        free(live[slot]);
        live[slot] = malloc(64);
    }
}

__attribute__((noinline)) static int descend(int depth, long steps)
{
    if (depth <= 1) {
        churn(steps);
        return 0;
    }
    int r = descend(depth - 1, steps);
    __asm__ volatile("" : : "r"(r) : "memory");   /* not a tail call */
    return r;
}

int main(int argc, char **argv)
{
    int depth = argc > 1 ? atoi(argv[1]) : 64;
    long steps = argc > 2 ? atol(argv[2]) : 1000000;
    int r = descend(depth, steps);
    for (int i = 0; i < 256; i++)
        free(live[i]);
    printf("%d\n", r);
    return 0;
}
