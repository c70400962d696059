/*
 * stop_after_waste.c: the Python core's live-process test program. Mode
 * "waste" (default) allocates like the tutorial's waste_memory (100 arrays
 * of 100 objects, each object with a 100-byte data buffer, all kept alive),
 * then stops itself with SIGSTOP so a test can read its trace table through
 * /proc without a debugger, and exits when continued. Mode "churn" runs
 * threads that malloc and free random sizes forever (the test stops it at
 * random moments to read a table that is being updated).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct object {
    unsigned char *data;
    size_t length;
};

__attribute__((noinline)) static struct object *object_new(void)
{
    struct object *obj = malloc(sizeof *obj);
    obj->data = malloc(100); /* data line */
    obj->length = 100;
    memset(obj->data, 0x5a, obj->length);
    return obj;
}

__attribute__((noinline)) static struct object **get_data(void)
{
    struct object **values = malloc(100 * sizeof *values);
    for (int i = 0; i < 100; i++)
        values[i] = object_new();
    return values;
}

__attribute__((noinline)) static struct object ***run(void)
{
    struct object ***deep = malloc(100 * sizeof *deep);
    for (int i = 0; i < 100; i++)
        deep[i] = get_data();
    return deep;
}

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    void *kept[512] = {0};
    for (;;) {
        unsigned i = (unsigned)rand_r(&seed) % 512;
        free(kept[i]);
        kept[i] = malloc(1 + (size_t)rand_r(&seed) % 300);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "churn") == 0) {
        pthread_t threads[3];
        for (int i = 0; i < 3; i++)
            pthread_create(&threads[i], NULL, churn, (void *)(size_t)(i + 1));
        churn((void *)(size_t)99);
        return 0;
    }
    struct object ***x = run();
    raise(SIGSTOP);
    printf("%p\n", (void *)x);
    return 0;
}
