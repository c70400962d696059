/*
 * The allocation churn of the runtime benchmarks (tests/bench/run_bench.py,
 * docs/benchmarks.md): each worker thread (a pthread, even when there is
 * one) keeps a ring of 10,000 live blocks and, per step, frees the block of
 * a random slot and allocates 16 + (random % 497) bytes in its place
 * through a chain of noinline calls, each level touching the result.
 * Built -O2 without frame pointers.
 *   churn STEPS THREADS         the chain is 3..11 levels deep (9 call paths)
 *   churn STEPS THREADS diverse 2 allocation sites, each reached through
 *                               256 call paths (8 levels choosing one of two
 *                               call sites each): the worst case for any
 *                               cache of stacks
 * Prints a checksum of the work so that nothing is optimised away; frees
 * everything at the end.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING 10000
#define MAX_THREADS 16

struct worker {
    long steps;
    int diverse;
    uint64_t rng;
    uint64_t checksum;
    void *ring[RING];
};

static inline uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- the plain churn: chains 3..11 deep ---- */

typedef void *(*level_fn)(unsigned depth, size_t size);
static level_fn levels[12];

#define TOUCH(p) (*(volatile unsigned char *)(p) = 1)

__attribute__((noinline)) static void *leaf(unsigned depth, size_t size)
{
    (void)depth;
    void *p = malloc(size);
    TOUCH(p);
    return p;
}

/* Level k calls level k-1 until level 1 calls the leaf. */
#define LEVEL(k)                                                          \
    __attribute__((noinline)) static void *level##k(unsigned depth, size_t size) \
    {                                                                     \
        void *p = depth > 1 ? levels[depth - 1](depth - 1, size) : leaf(0, size); \
        TOUCH(p);                                                         \
        return p;                                                         \
    }
LEVEL(1)
LEVEL(2)
LEVEL(3)
LEVEL(4)
LEVEL(5)
LEVEL(6)
LEVEL(7)
LEVEL(8)
LEVEL(9)
LEVEL(10)
LEVEL(11)

/* ---- the diverse churn: 2 sites x 256 paths ---- */

__attribute__((noinline)) static void *site_a(size_t size)
{
    void *p = malloc(size);
    TOUCH(p);
    return p;
}

__attribute__((noinline)) static void *site_b(size_t size)
{
    void *p = malloc(size);
    TOUCH(p);
    return p;
}

/* Path bit k picks one of two call sites of the next level. */
#define PATH(k, next)                                                     \
    __attribute__((noinline)) static void *path##k(unsigned bits, size_t size) \
    {                                                                     \
        void *p;                                                          \
        if (bits & (1u << k)) {                                           \
            __asm__ volatile("# one call site" ::: "memory");             \
            p = next(bits, size);                                         \
        } else {                                                          \
            __asm__ volatile("# the other" ::: "memory");                 \
            p = next(bits, size);                                         \
        }                                                                 \
        TOUCH(p);                                                         \
        return p;                                                         \
    }
__attribute__((noinline)) static void *path_leaf(unsigned bits, size_t size)
{
    void *p = bits & 256 ? site_a(size) : site_b(size);
    TOUCH(p);
    return p;
}
PATH(0, path_leaf)
PATH(1, path0)
PATH(2, path1)
PATH(3, path2)
PATH(4, path3)
PATH(5, path4)
PATH(6, path5)
PATH(7, path6)

static void *allocate(struct worker *w)
{
    uint64_t r = next_random(&w->rng);
    size_t size = 16 + (size_t)((r >> 8) % 497);
    if (w->diverse)
        return path7((unsigned)(r >> 32) & 511, size);
    unsigned depth = 3 + (unsigned)((r >> 40) % 9);
    return levels[depth](depth, size);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < RING; i++)
        w->ring[i] = allocate(w);
    for (long step = 0; step < w->steps; step++) {
        unsigned slot = (unsigned)(next_random(&w->rng) % RING);
        free(w->ring[slot]);
        w->ring[slot] = allocate(w);
        w->checksum += (uintptr_t)w->ring[slot] >> 4 & 0xff;
    }
    for (int i = 0; i < RING; i++)
        free(w->ring[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: churn STEPS THREADS [diverse]\n");
        return 2;
    }
    level_fn table[12] = {leaf,    level1, level2, level3, level4, level5,
                          level6,  level7, level8, level9, level10, level11};
    memcpy(levels, table, sizeof table);
    long steps = atol(argv[1]);
    int threads = atoi(argv[2]);
    int diverse = argc > 3 && strcmp(argv[3], "diverse") == 0;
    if (threads < 1 || threads > MAX_THREADS)
        return 2;
    static struct worker workers[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    for (int t = 0; t < threads; t++) {
        workers[t].steps = steps;
        workers[t].diverse = diverse;
        workers[t].rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(t + 1);
        pthread_create(&ids[t], NULL, run, &workers[t]);
    }
    uint64_t checksum = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        checksum += workers[t].checksum;
    }
    printf("churn%s steps=%ld threads=%d checksum=%llu\n", diverse ? " diverse" : "", steps,
           threads, (unsigned long long)checksum);
    return 0;
}
