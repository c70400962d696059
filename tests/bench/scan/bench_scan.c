/*
 * The C scan alone, on synthetic memory shaped like leak_heap's (a report,
 * not a test): BLOCKS blocks of SIZE bytes laid out like glibc's heap, 4
 * random pointers each, filler words otherwise. Prints the time of each
 * phase and the scan rate; with "paths", the scan also records each
 * block's first reaching edge (MEMSNAP_SCAN_RECORD_PATHS, for retention
 * paths) and they are fetched after marking. Usage: bench_scan [BLOCKS]
 * [SIZE] [paths]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memsnap_scan.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* CPU time of this thread: the machine may be shared, wall time inflated. */
static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : (8u << 20);
    uint64_t size = argc > 2 ? strtoull(argv[2], NULL, 0) : 128;
    int paths = argc > 3 && !strcmp(argv[3], "paths");
    const uint64_t base = 0x555555560000ULL, stride = size + 16;
    uint64_t words = n * stride / 8;
    uint64_t *heap = malloc(words * 8);
    struct memsnap_scan_block *blocks = malloc(n * sizeof(*blocks));
    if (!heap || !blocks)
        return 1;
    uint64_t state = 88172645463325252ULL;
    for (uint64_t i = 0; i < n; i++) {
        blocks[i].addr = base + i * stride + 16;
        blocks[i].size = size;
        blocks[i].site = 1;
        uint64_t *b = heap + (i * stride + 16) / 8;
        for (uint64_t w = 0; w < size / 8; w++)
            b[w] = 0x1000 + w * 7919 + i;
        for (int k = 0; k < 4; k++) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b[2 * k] = base + (state % n) * stride + 16 + (k == 3 ? 8 : 0);
        }
    }
    uint64_t root = blocks[0].addr;
    double t0 = now(), c0 = cpu();
    struct memsnap_scan *scan;
    if (memsnap_scan_new(blocks, n, &scan, NULL))
        return 1;
    memsnap_scan_set_options(scan, MEMSNAP_SCAN_GLIBC_CHUNK_HEADERS |
                                       (paths ? MEMSNAP_SCAN_RECORD_PATHS : 0));
    double t1 = now(), c1 = cpu();
    memsnap_scan_roots(scan, 0x1000, &root, 8);
    const uint64_t chunk = 64 << 20;
    for (uint64_t off = 0; off < words * 8; off += chunk) {
        uint64_t len = words * 8 - off < chunk ? words * 8 - off : chunk;
        if (memsnap_scan_blocks(scan, base + off, (char *)heap + off, len))
            return 1;
    }
    double t2 = now(), c2 = cpu();
    uint8_t *cat = malloc(n);
    if (memsnap_scan_mark(scan, cat, NULL))
        return 1;
    if (paths) {
        uint64_t *parent = malloc(n * 8), *where = malloc(n * 8);
        if (!parent || !where || memsnap_scan_first_edges(scan, parent, where))
            return 1;
        free(parent);
        free(where);
    }
    double t3 = now(), c3 = cpu();
    struct memsnap_scan_stats st;
    memsnap_scan_get_stats(scan, &st);
    double mib = (double)(words * 8) / (1 << 20);
    printf("%llu blocks of %llu B (%.0f MiB), %llu edges%s\n", (unsigned long long)n,
           (unsigned long long)size, mib, (unsigned long long)st.edges,
           paths ? ", recording paths" : "");
    printf("wall: index %.3f s, scan %.3f s (%.0f MiB/s), mark %.3f s; scan+mark %.0f MiB/s\n",
           t1 - t0, t2 - t1, mib / (t2 - t1), t3 - t2, mib / (t3 - t1));
    printf("cpu:  index %.3f s, scan %.3f s (%.0f MiB/s), mark %.3f s; scan+mark %.0f MiB/s\n",
           c1 - c0, c2 - c1, mib / (c2 - c1), c3 - c2, mib / (c3 - c1));
    memsnap_scan_free(scan);
    return 0;
}
