/*
 * A child program for the tests that need a fresh process environment
 * (MEMSNAP parsing, out-of-memory injection, default depth when
 * preloaded): linked with libmemsnap.so, it allocates `argv[1]` blocks
 * (default 100000) of 32 bytes, checks their contents, frees half, and
 * prints what the runtime's root says on one line:
 *   tracing=T truncated=T limit=N unwinder=N current=N work=ok untraced=N
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memsnap.h"
#include "memsnap/layout.h"

extern struct memsnap_root memsnap_root;

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    unsigned char **blocks = malloc((size_t)n * sizeof *blocks);
    if (!blocks)
        return 2;
    for (long i = 0; i < n; i++) {
        blocks[i] = malloc(32);
        memset(blocks[i], (int)(i & 0xff), 32);
    }
    int ok = 1;
    for (long i = 0; i < n; i++)
        ok &= blocks[i][31] == (unsigned char)(i & 0xff);
    for (long i = 0; i < n; i += 2)
        free(blocks[i]);
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    uint32_t state = memsnap_root.state;
    /* read before printf allocates stdout's buffer */
    unsigned long untraced = (unsigned long)memsnap_root.untraced;
    printf("tracing=%d truncated=%d limit=%u unwinder=%u current=%zu work=%s untraced=%lu\n",
           (state & MEMSNAP_STATE_TRACING) != 0, (state & MEMSNAP_STATE_TRUNCATED) != 0,
           memsnap_root.traceback_limit, memsnap_root.unwinder, current, ok ? "ok" : "corrupt",
           untraced);
    return ok ? 0 : 1;
}
