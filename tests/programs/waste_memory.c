/*
 * waste_memory.c: the C port of the tracemalloc tutorial's waste_memory.py,
 * the reference program of memsnap's tests and tutorials. run() builds 100
 * arrays of 100 MyObject, each object holding a 100-byte buffer of random
 * bytes, and keeps them all alive. checkpoint() is an empty, never-inlined
 * function to put breakpoints on ("before" and "after" the work). Each
 * allocation sits on its own source line; expected live blocks after run():
 * the data line 10000 x 100 B, the object line 10000 x 48 B, the array line
 * 100 x 800 B, and run()'s own array 100 x 8 B.
 */
#include <stdio.h>
#include <stdlib.h>

struct MyObject {
    unsigned char *data;
    size_t length;
    unsigned serial;
    unsigned flags;
    double created;
    void *owner;
    void *reserved;
};
_Static_assert(sizeof(struct MyObject) == 48, "MyObject is 48 bytes");

static unsigned objects_made;

__attribute__((noinline)) static struct MyObject *MyObject_new(void)
{
    struct MyObject *obj = malloc(sizeof *obj); /* object line */
    obj->data = malloc(100); /* data line */
    obj->length = 100;
    for (size_t i = 0; i < obj->length; i++)
        obj->data[i] = (unsigned char)rand();
    obj->serial = objects_made++;
    obj->flags = 0;
    obj->created = 0.0;
    obj->owner = NULL;
    obj->reserved = NULL;
    return obj;
}

__attribute__((noinline)) struct MyObject **get_data(void)
{
    struct MyObject **values = malloc(100 * sizeof *values); /* array line */
    for (int i = 0; i < 100; i++)
        values[i] = MyObject_new();
    return values;
}

__attribute__((noinline)) struct MyObject ***run(void)
{
    struct MyObject ***deep_values = malloc(100 * sizeof *deep_values); /* deep line */
    for (int i = 0; i < 100; i++)
        deep_values[i] = get_data();
    return deep_values;
}

__attribute__((noinline)) void checkpoint(const char *name)
{
    __asm__ volatile("" : : "r"(name) : "memory");
}

int main(void)
{
    checkpoint("before");
    struct MyObject ***x = run();
    checkpoint("after");
    printf("waste_memory: %u objects in %d arrays\n", objects_made, 100);
    (void)x; /* kept alive on purpose: these are the blocks to find */
    return 0;
}
