/*
 * The target of the attach benchmark (attach_bench.py): started without
 * the runtime, allocates N blocks of 32 bytes and keeps them, prints
 * "ready" and waits for signals; a debugger attaches and times
 * `memtrace start`. Usage: hold_blocks N
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    void **blocks = malloc((size_t)n * sizeof *blocks);
    if (!blocks)
        return 1;
    for (long i = 0; i < n; i++)
        blocks[i] = malloc(32);
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}
