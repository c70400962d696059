/*
 * The runtime's own work never shows in the program's errno: a successful
 * malloc or free leaves errno as the program set it (glibc's do), even
 * when the DWARF unwinder misses its cache and works through libdw (new
 * call paths; after a dlopen and a dlclose; code of a plugin whose file
 * was deleted after it was loaded, which libdw cannot open), and on a
 * thread's first allocation (its stack bounds). Tracing with the default
 * unwinder. tests/c/test_address_space.c checks the same when the
 * runtime's own mmaps fail.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

extern struct memsnap_root memsnap_root;

#define SENTINEL 4242

static void *__attribute__((noinline)) allocate_at(int depth, size_t size)
{
    void *p = depth > 0 ? allocate_at(depth - 1, size) : malloc(size);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return p;
}

/* malloc then free through `allocate`, errno set before each: must stay. */
static void expect_errno_kept(void *(*allocate)(size_t), const char *what)
{
    errno = SENTINEL;
    void *p = allocate(48);
    if (errno != SENTINEL)
        fail_msg("%s: malloc changed errno to %d", what, errno);
    assert_non_null(p);
    errno = SENTINEL;
    free(p);
    if (errno != SENTINEL)
        fail_msg("%s: free changed errno to %d", what, errno);
}

static void test_new_call_paths(void **state)
{
    (void)state;
    for (int depth = 0; depth < 40; depth++) {
        errno = SENTINEL;
        void *p = allocate_at(depth, 32);
        if (errno != SENTINEL)
            fail_msg("depth %d: malloc changed errno to %d", depth, errno);
        free(p);
    }
}

static void test_plugins_loaded_unloaded_deleted(void **state)
{
    (void)state;
    const char *plugin_path = getenv("MEMSNAP_TEST_DESCRIPTOR_PLUGIN");
    assert_non_null(plugin_path);
    void *plugin = dlopen(plugin_path, RTLD_NOW);
    assert_non_null(plugin);
    expect_errno_kept((void *(*)(size_t))dlsym(plugin, "plugin_allocate"), "after dlopen");
    dlclose(plugin);
    expect_errno_kept(malloc, "after dlclose");

    char dir[] = "/tmp/memsnap-errno-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char copy[sizeof dir + 16];
    snprintf(copy, sizeof copy, "%s/plugin.so", dir);
    assert_int_equal(copy_file(plugin_path, copy, 0700), 0);
    plugin = dlopen(copy, RTLD_NOW);
    assert_non_null(plugin);
    unlink(copy); /* "(deleted)" in /proc/self/maps: libdw cannot read it */
    rmdir(dir);
    expect_errno_kept((void *(*)(size_t))dlsym(plugin, "plugin_allocate"), "deleted plugin");
    dlclose(plugin);
}

static void *first_allocation(void *arg)
{
    (void)arg;
    errno = SENTINEL;
    void *p = malloc(16);
    int seen = errno;
    free(p);
    return (void *)(intptr_t)seen;
}

static void test_thread_first_allocation(void **state)
{
    (void)state;
    for (int i = 0; i < 20; i++) {
        pthread_t thread;
        void *seen;
        assert_int_equal(pthread_create(&thread, NULL, first_allocation, NULL), 0);
        assert_int_equal(pthread_join(thread, &seen), 0);
        assert_int_equal((intptr_t)seen, SENTINEL);
    }
}

static int start(void **state)
{
    (void)state;
    return memsnap_start(16) != 0 || memsnap_root.unwinder != MEMSNAP_UNWINDER_DWARF;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_call_paths, start, stop_tracing),
        cmocka_unit_test_setup_teardown(test_plugins_loaded_unloaded_deleted, start,
                                        stop_tracing),
        cmocka_unit_test_setup_teardown(test_thread_first_allocation, start, stop_tracing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
