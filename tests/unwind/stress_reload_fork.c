/*
 * Stress for the DWARF unwinder's shared state, run with libmemsnap.so
 * preloaded: two threads allocate without pause while the main thread
 * loads a library, allocates through it, forks a child that allocates
 * through it too, and unloads it, alternating two builds of the library
 * that land at the same address, 300 times. It passes when nothing
 * deadlocks (the test's timeout), crashes, or fails in a child.
 * Usage: stress_reload_fork PLUGIN1 PLUGIN2
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;

static void *worker(void *arg)
{
    (void)arg;
    for (long n = 0; !stop; n++) {
        free(malloc(16 + (n & 255)));
        free(strdup("allocating while libraries come and go"));
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PLUGIN1 PLUGIN2\n", argv[0]);
        return 2;
    }
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    int failed = 0;
    for (int i = 0; i < 300 && !failed; i++) {
        void *lib = dlopen(argv[1 + (i & 1)], RTLD_NOW | RTLD_LOCAL);
        char *(*make)(size_t) = lib ? (char *(*)(size_t))dlsym(lib, "plugin_make") : NULL;
        if (make == NULL) {
            fprintf(stderr, "cannot load %s\n", argv[1 + (i & 1)]);
            failed = 1;
            break;
        }
        for (int k = 0; k < 50; k++)
            free(make((size_t)k));
        pid_t child = fork();
        if (child == 0) {
            free(make(3));
            _exit(0);
        }
        int status = 0;
        if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            fprintf(stderr, "child %d failed\n", i);
            failed = 1;
        }
        dlclose(lib);
    }
    stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    if (!failed)
        puts("ok   300 load/fork/unload rounds with 2 threads allocating");
    return failed;
}
