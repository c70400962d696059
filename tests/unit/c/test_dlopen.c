/*
 * The runtime loaded into a running program with dlopen, as attaching to a
 * process does (issue 11): a program that does not link the runtime runs
 * three threads that keep allocating, then loads libmemsnap.so. The load
 * succeeds (the runtime needs no more static TLS than glibc keeps for
 * dlopen), the runtime starts untraced, and memsnap_start works. Calls made
 * through the runtime's own malloc family (what rewriting the program's
 * GOT entries will route there) are traced, from several threads at once;
 * a block allocated before the load — by glibc, without a header — is
 * measured, reallocated and freed through the runtime without a crash and
 * without touching any counter; the table read through the layout agrees
 * with the runtime's totals.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "layout_reader.h"
#include "memsnap/layout.h"

struct runtime {
    void *handle;
    int (*start)(unsigned);
    int (*stop)(void);
    int (*traced_memory)(size_t *, size_t *);
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*realloc)(void *, size_t);
    size_t (*usable_size)(void *);
    struct layout_reader reader;
};

static struct runtime rt;
static volatile int stop_threads;

/* The program's own threads: glibc's malloc, all along. */
static void *program_thread(void *arg)
{
    (void)arg;
    void *ring[64] = {0};
    for (unsigned i = 0; !stop_threads; i++) {
        free(ring[i % 64]);
        ring[i % 64] = malloc(16 + i % 200);
    }
    for (int i = 0; i < 64; i++)
        free(ring[i]);
    return NULL;
}

#define LOOKUP(field, name)                          \
    do {                                             \
        void *sym = dlsym(rt.handle, name);          \
        assert_non_null(sym);                        \
        memcpy(&rt.field, &sym, sizeof sym);         \
    } while (0)

static void load_runtime(void)
{
    const char *lib = getenv("MEMSNAP_TEST_LIB");
    assert_non_null(lib);
    rt.handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!rt.handle)
        fail_msg("dlopen: %s", dlerror());
    LOOKUP(start, "memsnap_start");
    LOOKUP(stop, "memsnap_stop");
    LOOKUP(traced_memory, "memsnap_get_traced_memory");
    LOOKUP(malloc, "malloc");
    LOOKUP(free, "free");
    LOOKUP(realloc, "realloc");
    LOOKUP(usable_size, "malloc_usable_size");
    void *root = dlsym(rt.handle, MEMSNAP_ROOT_SYMBOL);
    assert_non_null(root);
    assert_int_equal(reader_open(&rt.reader, read_own_memory, NULL, (uint64_t)(uintptr_t)root), 0);
}

static size_t traced_now(void)
{
    size_t current, peak;
    rt.traced_memory(&current, &peak);
    return current;
}

/* Threads allocating through the runtime's malloc (as patched GOT entries
 * would make them). */
static void *runtime_thread(void *arg)
{
    void **out = arg;
    for (int i = 0; i < 100; i++)
        out[i] = rt.malloc(32);
    return NULL;
}

static void test_load_into_a_running_program(void **state)
{
    (void)state;
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, program_thread, NULL), 0);
    char *before = malloc(100); /* glibc's, before the runtime exists */
    strcpy(before, "allocated before the load");

    load_runtime();
    assert_int_equal(traced_now(), 0);
    assert_int_equal(rt.start(8), 0);

    /* a foreign block: measured and freed untouched, nothing counted */
    assert_true(rt.usable_size(before) >= 100);
    char *other = malloc(50);
    rt.free(other);
    assert_int_equal(traced_now(), 0);

    char *mine = rt.malloc(1000);
    memset(mine, 1, 1000);
    assert_true(rt.usable_size(mine) >= 1000);
    assert_int_equal(traced_now(), 1000);

    /* realloc of the foreign block through the runtime: a traced copy */
    char *moved = rt.realloc(before, 4000);
    assert_string_equal(moved, "allocated before the load");
    assert_int_equal(traced_now(), 5000);

    static void *from_threads[3][100];
    pthread_t workers[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&workers[i], NULL, runtime_thread, from_threads[i]), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_join(workers[i], NULL), 0);
    assert_int_equal(traced_now(), 5000 + 3 * 100 * 32);

    struct table_walk walk;
    assert_int_equal(reader_blocks(&rt.reader, NULL, NULL, &walk), 0);
    assert_int_equal(walk.blocks, 2 + 300);
    assert_int_equal(walk.bytes, traced_now());

    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 100; k++)
            rt.free(from_threads[i][k]);
    rt.free(mine);
    rt.free(moved);
    assert_int_equal(traced_now(), 0);
    stop_threads = 1;
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    rt.stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_into_a_running_program),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
