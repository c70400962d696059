/*
 * The runtime's own allocations, through the hooks of the linked runtime:
 * what libdw allocates on the DWARF unwinder's cache misses, and what
 * pthread_getattr_np allocates for a new thread's stack bounds, is the
 * runtime's memory (its internal heap, on root.mappings): the program's heap
 * (mallinfo2) does not grow by a byte, root.untraced stays 0, and
 * root.runtime_bytes stays the exact sum of root.mappings - also in a child
 * forked while another thread takes cache misses.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"

extern struct memsnap_root memsnap_root;

static uint64_t mapped_bytes(void)
{
    uint64_t total = 0;
    for (uint64_t m = __atomic_load_n(&memsnap_root.mappings, __ATOMIC_ACQUIRE); m;) {
        const struct memsnap_mapping *mapping = (const void *)(uintptr_t)m;
        total += mapping->size;
        m = mapping->next;
    }
    return total;
}

static int skip_unless_dwarf(void)
{
    if (memsnap_root.unwinder != MEMSNAP_UNWINDER_DWARF) {
        skip();
        return 1;
    }
    return 0;
}

/* Allocations from call chains the unwinder has not seen: through qsort and
 * bsearch (libc frames), and a new thread (its stack bounds). */
static void *kept[64];
static int nkept;

static int compare_and_allocate(const void *a, const void *b)
{
    if (nkept < 64)
        kept[nkept++] = malloc(24);
    return memcmp(a, b, sizeof(int));
}

static void *thread_allocates(void *arg)
{
    (void)arg;
    void *p = malloc(40);
    free(p);
    return NULL;
}

__attribute__((noinline)) static void allocate_through_new_frames(void)
{
    int values[16] = {9, 3, 7, 1, 5, 8, 2, 6, 4, 0, 15, 11, 13, 10, 14, 12};
    nkept = 0;
    qsort(values, 16, sizeof values[0], compare_and_allocate);
    int key = 7;
    bsearch(&key, values, 16, sizeof values[0], compare_and_allocate);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, thread_allocates, NULL), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    for (int i = 0; i < nkept; i++)
        free(kept[i]);
}

static void test_runtime_work_does_not_use_the_program_heap(void **state)
{
    (void)state;
    if (skip_unless_dwarf())
        return;
    assert_int_equal(memsnap_start(16), 0);
    /* a warm-up thread: pthread's own stack cache is the program's */
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, thread_allocates, NULL), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    uint64_t untraced = memsnap_root.untraced;
    size_t heap_before = mallinfo2().uordblks;
    allocate_through_new_frames();
    size_t heap_after = mallinfo2().uordblks;
    assert_true(nkept > 0);
    assert_int_equal(heap_after, heap_before);
    assert_int_equal(memsnap_root.untraced, untraced);
    assert_int_equal(mapped_bytes(), memsnap_get_runtime_memory());
    memsnap_stop();
}

static void *miss_loop(void *arg)
{
    volatile int *stop = arg;
    while (!*stop)
        allocate_through_new_frames();
    return NULL;
}

static void test_fork_while_taking_misses(void **state)
{
    (void)state;
    if (skip_unless_dwarf())
        return;
    assert_int_equal(memsnap_start(16), 0);
    volatile int stop = 0;
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, miss_loop, (void *)&stop), 0);
    for (int f = 0; f < 5; f++) {
        pid_t pid = fork();
        if (pid == 0) {
            nkept = 0; /* the other thread may have been filling kept[] */
            uint64_t untraced = memsnap_root.untraced;
            void *p = malloc(10);
            free(p);
            int values[4] = {3, 1, 2, 0};
            qsort(values, 4, sizeof values[0], compare_and_allocate);
            for (int i = 0; i < nkept; i++)
                free(kept[i]);
            int ok = memsnap_root.untraced == untraced &&
                     mapped_bytes() == memsnap_get_runtime_memory();
            _exit(ok ? 0 : 1);
        }
        assert_true(pid > 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    stop = 1;
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(memsnap_root.untraced, 0);
    memsnap_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_work_does_not_use_the_program_heap),
        cmocka_unit_test(test_fork_while_taking_misses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
