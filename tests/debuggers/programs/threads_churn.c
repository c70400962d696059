/*
 * threads_churn.c: worker threads that keep allocating and freeing blocks of
 * a fixed size per call site, while a ticker thread calls sample_point()
 * after random short delays. A debugger breaking on sample_point stops the
 * workers at random places (also inside malloc/free and the runtime's
 * table updates): every stop must show, per site, bytes == count x the
 * site's size. Usage: threads_churn [SAMPLES [SEED]] (default 60, 1).
 * Each worker holds up to RING live blocks.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define WORKERS 4
#define RING 64

static atomic_int stopping;

__attribute__((noinline)) void sample_point(int sample)
{
    __asm__ volatile("" : : "r"(sample) : "memory");
}

/* One allocation site per size; the test knows these sizes. */
__attribute__((noinline)) static void *site_small(void) { return malloc(24); }
__attribute__((noinline)) static void *site_medium(void) { return malloc(200); }
__attribute__((noinline)) static void *site_large(void) { return malloc(4000); }
__attribute__((noinline)) static void *site_zeroed(void) { return calloc(10, 7); }

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    void *ring[RING] = {0};
    while (!atomic_load(&stopping)) {
        int i = rand_r(&seed) % RING;
        free(ring[i]);
        switch (rand_r(&seed) % 4) {
        case 0: ring[i] = site_small(); break;
        case 1: ring[i] = site_medium(); break;
        case 2: ring[i] = site_large(); break;
        default: ring[i] = site_zeroed(); break;
        }
    }
    for (int i = 0; i < RING; i++)
        free(ring[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    int samples = argc > 1 ? atoi(argv[1]) : 60;
    unsigned seed = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
    pthread_t threads[WORKERS];
    for (int t = 0; t < WORKERS; t++)
        pthread_create(&threads[t], NULL, worker, (void *)(size_t)(seed * 100 + t));
    for (int s = 0; s < samples; s++) {
        usleep(200 + rand_r(&seed) % 3000);
        sample_point(s);
    }
    atomic_store(&stopping, 1);
    for (int t = 0; t < WORKERS; t++)
        pthread_join(threads[t], NULL);
    printf("threads_churn: %d samples\n", samples);
    return 0;
}
