/*
 * churn_threads.c: a program that never stops changing its heap, for the
 * tests that stop a traced process at random moments and read its trace
 * table (tests/unit/c/test_stopped_reads.c). THREADS threads (argv[1], default 3;
 * 0: the main thread alone, a process that never has a second thread)
 * each keep 512 blocks live and replace them forever: malloc of 1..999
 * bytes, sometimes realloc, and, when libmemsnap.so is loaded, sometimes
 * memsnap_track/untrack of fake ranges in domain 3 (found with dlsym, so
 * the program itself does not link the runtime). Runs until killed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef int (*track_fn)(unsigned, uintptr_t, size_t);
typedef int (*untrack_fn)(unsigned, uintptr_t);

static track_fn track;
static untrack_fn untrack;

static void *churn(void *arg)
{
    uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)((uintptr_t)arg + 1);
    void *live[512] = {0};
    uintptr_t fake_base = 0x10000000u + 0x1000000u * (uintptr_t)arg;
    unsigned char tracked[256] = {0};
    for (;;) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        unsigned k = (unsigned)(rng % 512);
        size_t size = 1 + (size_t)((rng >> 20) % 999);
        if ((rng >> 40) % 8 == 0 && live[k]) {
            void *grown = realloc(live[k], size);
            if (grown)
                live[k] = grown;
        } else {
            free(live[k]);
            live[k] = malloc(size);
        }
        if (track && (rng >> 50) % 16 == 0) {
            unsigned t = (unsigned)((rng >> 8) % 256);
            if (tracked[t])
                untrack(3, fake_base + 64u * t);
            else
                track(3, fake_base + 64u * t, 64);
            tracked[t] = !tracked[t];
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 3;
    track = (track_fn)dlsym(RTLD_DEFAULT, "memsnap_track");
    untrack = (untrack_fn)dlsym(RTLD_DEFAULT, "memsnap_untrack");
    if (threads < 1) {
        printf("churning\n");
        fflush(stdout);
        churn((void *)0);
    }
    pthread_t ids[64];
    for (int t = 0; t < threads && t < 64; t++)
        pthread_create(&ids[t], NULL, churn, (void *)(intptr_t)t);
    printf("churning\n");
    fflush(stdout);
    pthread_join(ids[0], NULL);
    return 0;
}
