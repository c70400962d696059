/*
 * Leak test: a block reachable only from another thread's stack. A worker
 * allocates a 2-block chain, keeps the head in a local variable and blocks
 * on a pipe while the main thread reaches the checkpoint. The main thread
 * also loses a block. The thread is created in leak_thread_start.c, so the
 * blocks glibc allocates for it (its DTV, whose size depends on the loaded
 * libraries) are charged to that file, not to this one.
 */
#include <stdlib.h>
#include <unistd.h>

#include "checkpoint.h"

static int ready_pipe[2], release_pipe[2];

struct chain {
    struct chain *next;
    long value[5];
};

int start_worker(void *(*worker)(void *));

static void *worker(void *arg)
{
    (void)arg;
    struct chain *volatile head = calloc(1, sizeof(struct chain));
    head->next = calloc(1, sizeof(struct chain));
    leak_scrub();
    char c = 1;
    if (write(ready_pipe[1], &c, 1) != 1)
        abort();
    if (read(release_pipe[0], &c, 1) != 1)
        abort();
    return (void *)head->next->value;
}

__attribute__((noinline)) static void lose_one(void)
{
    char *lost = calloc(1, 300);
    lost[0] = 1;
}

int main(void)
{
    if (pipe(ready_pipe) || pipe(release_pipe))
        return 1;
    if (start_worker(worker))
        return 1;
    char c;
    if (read(ready_pipe[0], &c, 1) != 1)
        return 1;
    lose_one();
    leak_scrub_and_checkpoint();
    c = 0;
    if (write(release_pipe[1], &c, 1) != 1)
        return 1;
    return 0;
}
