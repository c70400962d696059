/*
 * peak_rise_fall.c: a heap that rises to a peak and falls back, for the
 * peak snapshot tests (tests/debuggers/shared/test_peak.py). It keeps 10
 * blocks of 333 B, then allocates 2000 buffers of 1000 B and 500 nodes of
 * 64 B per worker (the peak), frees them all, allocates 50 blocks of 100 B
 * and calls checkpoint(); then 20 blocks of 2000 B, frees 10 of them, and
 * calls checkpoint() again. argv[1] is the number of worker threads, which
 * all reach the peak together (a barrier) before any frees; 0: the main
 * thread does the work alone, and the process never has a second thread.
 * Nothing else is allocated before the second checkpoint (no stdio).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_WORKERS 16
#define BUFFERS 2000
#define BUFFER_SIZE 1000
#define NODES 500
#define NODE_SIZE 64
#define KEPT 10
#define KEPT_SIZE 333
#define AFTER 50
#define AFTER_SIZE 100
#define SECOND 20
#define SECOND_SIZE 2000
#define SECOND_FREED 10

struct work {
    void *buffers[BUFFERS];
    void *nodes[NODES];
};

static struct work works[MAX_WORKERS];
static pthread_barrier_t peak_reached;

__attribute__((noinline)) void checkpoint(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void *buffer_new(void)
{
    return malloc(BUFFER_SIZE); /* buffer line */
}

__attribute__((noinline)) static void *node_new(void)
{
    return malloc(NODE_SIZE); /* node line */
}

static void rise(struct work *w)
{
    for (int i = 0; i < BUFFERS; i++) {
        w->buffers[i] = buffer_new();
        if (i < NODES)
            w->nodes[i] = node_new();
    }
}

static void fall(struct work *w)
{
    for (int i = 0; i < BUFFERS; i++)
        free(w->buffers[i]);
    for (int i = 0; i < NODES; i++)
        free(w->nodes[i]);
}

static void *worker(void *arg)
{
    struct work *w = arg;
    rise(w);
    pthread_barrier_wait(&peak_reached);
    fall(w);
    return NULL;
}

int main(int argc, char **argv)
{
    int workers = argc > 1 ? atoi(argv[1]) : 0;
    if (workers < 0 || workers > MAX_WORKERS)
        return 2;
    void *kept[KEPT], *after[AFTER], *second[SECOND];
    for (int i = 0; i < KEPT; i++)
        kept[i] = malloc(KEPT_SIZE); /* kept line */
    if (workers == 0) {
        rise(&works[0]);
        fall(&works[0]);
    } else {
        pthread_t ids[MAX_WORKERS];
        pthread_barrier_init(&peak_reached, NULL, (unsigned)workers);
        for (int t = 0; t < workers; t++)
            pthread_create(&ids[t], NULL, worker, &works[t]);
        for (int t = 0; t < workers; t++)
            pthread_join(ids[t], NULL);
    }
    for (int i = 0; i < AFTER; i++)
        after[i] = malloc(AFTER_SIZE); /* after line */
    checkpoint();
    for (int i = 0; i < SECOND; i++)
        second[i] = malloc(SECOND_SIZE); /* second line */
    for (int i = 0; i < SECOND_FREED; i++)
        free(second[i]);
    checkpoint();
    for (int i = SECOND_FREED; i < SECOND; i++)
        free(second[i]);
    for (int i = 0; i < AFTER; i++)
        free(after[i]);
    for (int i = 0; i < KEPT; i++)
        free(kept[i]);
    printf("peak_rise_fall: %d workers\n", workers);
    return 0;
}
