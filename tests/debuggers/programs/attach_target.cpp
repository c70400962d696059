/*
 * attach_target.cpp: a multi-threaded C++ program started without the
 * runtime, for tests/debuggers/shared/test_attach.py (a debugger attaches,
 * loads libmemsnap.so with `memtrace start` and snapshots). It allocates
 * four blocks in main, prints "ready", and its WORKERS threads churn
 * (malloc/free, new/delete) until `go` is set — by the debugger through
 * memory, or at once with the argument `now`. Then each worker keeps KEEP
 * blocks from each site marked `site:` below, main frees, reallocates and
 * measures the blocks it allocated before (those of an attach, unknown to
 * the runtime), every thread meets at checkpoint(), and at the end
 * everything is freed, a summary printed, and the exit status is 7. After
 * `go`, main also dlopens libattach_plugin.so by name (found beside it
 * through its RUNPATH $ORIGIN; attach_plugin.c) and keeps PLUGIN_KEEP
 * blocks of its allocation, and frees a block allocated after the attach
 * through a pointer to free the loader stored at start-up (saved_free, as
 * libxml2's xmlFree), and the other way round with saved_malloc. Any
 * process of the user may attach (PR_SET_PTRACER), as under Yama's
 * ptrace_scope 0.
 * Usage: attach_target [now]
 */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define WORKERS 3
#define KEEP 100
#define PLUGIN_KEEP 40

struct Node {
    char bytes[56];
};

volatile int go;
static pthread_barrier_t kept;
static pthread_barrier_t finished;

struct kept_blocks {
    void *malloced[KEEP], *calloced[KEEP], *reallocated[KEEP], *aligned[KEEP];
    char *array[KEEP];
    Node *node[KEEP];
};
static kept_blocks blocks[WORKERS];

/* Pointers to malloc and free stored by the loader at start-up (an
 * R_X86_64_64 relocation in writable data), used after the attach. */
void *(*saved_malloc)(size_t) = malloc;
void (*saved_free)(void *) = free;

extern "C" __attribute__((noinline)) void checkpoint(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void keep_blocks(kept_blocks *k)
{
    for (int i = 0; i < KEEP; i++) {
        k->malloced[i] = malloc(48);                     // site: malloc 48
        k->calloced[i] = calloc(5, 16);                  // site: calloc 80
        k->array[i] = new char[300];                     // site: new[] 300
        k->node[i] = new Node;                           // site: new 56
        void *small = malloc(10);
        k->reallocated[i] = realloc(small, 120);         // site: realloc 120
        if (posix_memalign(&k->aligned[i], 64, 192))     // site: posix_memalign 192
            abort();
        memset(k->array[i], i, 300);
    }
}

__attribute__((noinline)) static void churn_once(unsigned *seed)
{
    void *p = malloc(16 + rand_r(seed) % 200);
    Node *n = new Node;
    memset(p, 1, 16);
    delete n;
    free(p);
}

static void *worker(void *arg)
{
    kept_blocks *k = (kept_blocks *)arg;
    unsigned seed = (unsigned)(k - blocks) + 1;
    while (!go)
        churn_once(&seed);
    keep_blocks(k);
    pthread_barrier_wait(&kept);
    pthread_barrier_wait(&finished);
    return NULL;
}

static void free_blocks(kept_blocks *k)
{
    for (int i = 0; i < KEEP; i++) {
        free(k->malloced[i]);
        free(k->calloced[i]);
        delete[] k->array[i];
        delete k->node[i];
        free(k->reallocated[i]);
        free(k->aligned[i]);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "now") == 0)
        go = 1;
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY); /* Yama ptrace_scope 1: any debugger may attach */
    char *before_free = (char *)malloc(1000);
    char *before_realloc = (char *)malloc(2000);
    char *before_usable = (char *)malloc(500);
    char *before_new = new char[700];
    memset(before_realloc, 'r', 2000);
    pthread_barrier_init(&kept, NULL, WORKERS + 1);
    pthread_barrier_init(&finished, NULL, WORKERS + 1);
    pthread_t threads[WORKERS];
    for (int t = 0; t < WORKERS; t++)
        pthread_create(&threads[t], NULL, worker, &blocks[t]);
    printf("ready\n");
    fflush(stdout);
    while (!go)
        usleep(1000);
    pthread_barrier_wait(&kept);
    void *plugin = dlopen("libattach_plugin.so", RTLD_NOW); /* found through RUNPATH $ORIGIN */
    if (!plugin) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    void **(*plugin_keep)(int) = (void **(*)(int))dlsym(plugin, "plugin_keep");
    void (*plugin_free)(void **, int) = (void (*)(void **, int))dlsym(plugin, "plugin_free");
    void **plugin_blocks = plugin_keep(PLUGIN_KEEP);
    free(before_free);
    before_realloc = (char *)realloc(before_realloc, 3000);  // site: realloc before 3000
    size_t usable = malloc_usable_size(before_usable);
    memset(before_usable, 'u', usable);
    delete[] before_new;
    void *mixed = malloc(77);  /* through the rewritten import */
    memset(mixed, 'm', 77);
    saved_free(mixed);         /* through the pointer stored before the attach */
    void *saved = saved_malloc(33);
    memset(saved, 's', 33);
    free(saved);
    int realloc_kept = before_realloc[1999] == 'r';
    checkpoint();
    pthread_barrier_wait(&finished);
    for (int t = 0; t < WORKERS; t++) {
        pthread_join(threads[t], NULL);
        free_blocks(&blocks[t]);
    }
    free(before_realloc);
    free(before_usable);
    plugin_free(plugin_blocks, PLUGIN_KEEP);
    printf("usable >= 500: %d, realloc kept the contents: %d\n", usable >= 500, realloc_kept);
    printf("done\n");
    return 7;
}
