/*
 * The peer benchmark's workload: an allocation churn. Each thread keeps
 * ~10k live blocks and replaces a random one per step (free + malloc of a
 * random size up to 512 bytes), each malloc made at the end of a call chain
 * at least 12 frames deep whose path varies with the step (so there are a
 * few dozen distinct stacks, as in a real program). Built -O2 without frame
 * pointers. Usage: churn STEPS_PER_THREAD THREADS. Frees everything at the
 * end (no leak reports from the leak checkers).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define LIVE 10000

struct worker {
    long steps;
    uint64_t rng;
    void *live[LIVE];
    uint64_t checksum;
};

static inline uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

__attribute__((noinline)) static void *alloc_leaf(uint64_t r)
{
    void *p = malloc(16 + (r & 511));
    __asm__ volatile("" ::: "memory");
    return p;
}

/* Twelve distinct levels; each level calls the next through one of two
 * call sites chosen by a bit of r. */
#define LEVEL(name, next, bit)                                                \
    __attribute__((noinline)) static void *name(uint64_t r)                   \
    {                                                                         \
        void *p;                                                              \
        if (r & (1ULL << bit))                                                  \
            p = next(r);                                                      \
        else                                                                  \
            p = next(r ^ 1);                                                  \
        __asm__ volatile("" ::: "memory");                                    \
        return p;                                                             \
    }
LEVEL(level1, alloc_leaf, 9)
LEVEL(level2, level1, 10)
LEVEL(level3, level2, 11)
LEVEL(level4, level3, 12)
LEVEL(level5, level4, 13)
LEVEL(level6, level5, 40)
LEVEL(level7, level6, 41)
LEVEL(level8, level7, 42)
LEVEL(level9, level8, 43)
LEVEL(level10, level9, 44)
LEVEL(level11, level10, 45)

static void *run(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < LIVE; i++)
        w->live[i] = level11(next_random(&w->rng));
    for (long step = 0; step < w->steps; step++) {
        uint64_t r = next_random(&w->rng);
        unsigned slot = (unsigned)((r >> 20) % LIVE);
        free(w->live[slot]);
        w->live[slot] = level11(r);
        w->checksum += (uintptr_t)w->live[slot] & 0xff;
    }
    for (int i = 0; i < LIVE; i++)
        free(w->live[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s STEPS_PER_THREAD THREADS\n", argv[0]);
        return 2;
    }
    long steps = atol(argv[1]);
    int nthreads = atoi(argv[2]);
    if (steps <= 0 || nthreads <= 0 || nthreads > 64) {
        fprintf(stderr, "churn: bad arguments\n");
        return 2;
    }
    struct worker *w = calloc((size_t)nthreads, sizeof *w);
    pthread_t t[64];
    for (int i = 0; i < nthreads; i++) {
        w[i].steps = steps;
        w[i].rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
        pthread_create(&t[i], NULL, run, &w[i]);
    }
    uint64_t sum = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        sum += w[i].checksum;
    }
    free(w);
    printf("%llu\n", (unsigned long long)(sum & 0xffff));
    return 0;
}
