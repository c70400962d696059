/*
 * Thread creation for leak_thread.c, in its own file so that glibc's
 * per-thread blocks (DTV) have their key frame here (see leak_thread.c).
 * The thread is detached: the program exits without joining it.
 */
#include <pthread.h>

int start_worker(void *(*worker)(void *))
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL))
        return 1;
    return pthread_detach(thread);
}
