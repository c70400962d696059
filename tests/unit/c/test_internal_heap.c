/*
 * The runtime's internal heap (runtime/internal_heap.c), built here with the
 * pool and the guard but without the hooks, against a root of its own: its
 * blocks lie in the one reserved range and on root.mappings (kind MISC,
 * counted in root.runtime_bytes), each with OWN_HEADER_MARK right before it
 * (free's first test); free, realloc, calloc, the aligned forms and usable
 * sizes behave like malloc's; out of memory (injected) and a
 * re-entered heap fall back to the real allocator, counted in root.untraced;
 * it survives threads and a fork in the middle of them.
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

#include "internal.h"

/* What the heap needs from the rest of the runtime. */
struct memsnap_root memsnap_root;
struct real_allocator real = {
    malloc, free, calloc, realloc, posix_memalign, aligned_alloc, memalign, valloc, pvalloc,
    malloc_usable_size,
};

/* Sum of mapping sizes on root.mappings, and of the MISC ones' `used`. */
static uint64_t mapped_bytes(uint64_t *misc_used)
{
    uint64_t total = 0, used = 0;
    for (uint64_t m = memsnap_root.mappings; m;) {
        const struct memsnap_mapping *mapping = (const void *)(uintptr_t)m;
        total += mapping->size;
        if (mapping->kind == MEMSNAP_MAP_MISC)
            used += mapping->used;
        m = mapping->next;
    }
    if (misc_used)
        *misc_used = used;
    return total;
}

static void test_blocks_are_runtime_memory(void **state)
{
    (void)state;
    assert_int_equal(internal_heap_init(), 0);
    uint64_t used_before = 0;
    mapped_bytes(&used_before);
    char *p = internal_malloc(100);
    assert_non_null(p);
    assert_true(internal_heap_owns(p));
    assert_int_equal((uintptr_t)p % 16, 0);
    memset(p, 0xab, 100);
    assert_true(internal_usable_size(p) >= 100);
    uint64_t used_after = 0;
    uint64_t mapped = mapped_bytes(&used_after);
    assert_true(mapped > 0);
    assert_int_equal(mapped, memsnap_root.runtime_bytes);
    assert_true(used_after >= used_before + 100);
    assert_int_equal(memsnap_root.untraced, 0);
    /* a program pointer is not the heap's */
    void *other = malloc(100);
    assert_false(internal_heap_owns(other));
    free(other);
    assert_false(internal_heap_owns(NULL));
    internal_free(p);
}

static void test_free_reuses_and_calloc_zeroes(void **state)
{
    (void)state;
    unsigned char *p = internal_malloc(200);
    assert_true(has_own_mark(p));
    memset(p, 0xff, 200);
    internal_free(p);
    unsigned char *q = internal_calloc(25, 8);
    assert_ptr_equal(p, q); /* same size class: the freed block */
    for (int i = 0; i < 200; i++)
        assert_int_equal(q[i], 0);
    internal_free(q);
    assert_null(internal_calloc(SIZE_MAX / 2, 4)); /* overflow */
}

static void test_aligned(void **state)
{
    (void)state;
    size_t aligns[] = {8, 16, 32, 64, 100, 4096, 1u << 16};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        char *p = internal_memalign(aligns[i], 300);
        assert_non_null(p);
        assert_true(internal_heap_owns(p));
        assert_true(has_own_mark(p));
        size_t want = aligns[i] < 16 ? 16 : aligns[i];
        if (want & (want - 1))
            want = 128; /* rounded up to a power of two */
        assert_int_equal((uintptr_t)p % want, 0);
        assert_true(internal_usable_size(p) >= 300);
        memset(p, 1, 300);
        internal_free(p);
    }
}

static void test_realloc_keeps_contents(void **state)
{
    (void)state;
    char *p = internal_realloc(NULL, 10);
    assert_true(internal_heap_owns(p));
    memcpy(p, "abcdefghij", 10);
    char *same = internal_realloc(p, 5); /* shrinking keeps the block */
    assert_ptr_equal(same, p);
    char *big = internal_realloc(p, 5000);
    assert_true(internal_heap_owns(big));
    assert_memory_equal(big, "abcde", 5);
    memset(big, 7, 5000);
    assert_null(internal_realloc(big, 0)); /* frees */
    /* a real-allocator pointer stays the real allocator's */
    char *outside = malloc(16);
    char *moved = internal_realloc(outside, 32);
    assert_false(internal_heap_owns(moved));
    free(moved);
}

static void test_large_blocks(void **state)
{
    (void)state;
    uint64_t before = memsnap_root.runtime_bytes;
    char *p = internal_malloc(3u << 20); /* above a chunk: a chunk of its own */
    assert_non_null(p);
    assert_true(internal_heap_owns(p));
    memset(p, 3, 3u << 20);
    assert_true(memsnap_root.runtime_bytes >= before + (3u << 20));
    assert_int_equal(mapped_bytes(NULL), memsnap_root.runtime_bytes);
    internal_free(p);
    char *again = internal_malloc(3u << 20);
    assert_ptr_equal(again, p); /* reused, no new commit */
    internal_free(again);
}

static void test_out_of_memory_falls_back(void **state)
{
    (void)state;
    uint64_t untraced = memsnap_root.untraced;
    pool_fail_after(0);
    void *kept[64];
    int outside = 0;
    /* 64 x 64 KiB: more than what is left of any chunk, so a commit is
     * needed and fails */
    for (int i = 0; i < 64; i++) {
        kept[i] = internal_malloc(60000);
        assert_non_null(kept[i]);
        memset(kept[i], 9, 60000);
        outside += !internal_heap_owns(kept[i]);
    }
    pool_fail_after(-1);
    assert_true(outside > 0);
    assert_int_equal(memsnap_root.untraced, untraced + (uint64_t)outside);
    for (int i = 0; i < 64; i++) {
        if (internal_heap_owns(kept[i]))
            internal_free(kept[i]);
        else
            free(kept[i]);
    }
}

static void test_reentered_heap_falls_back(void **state)
{
    (void)state;
    uint64_t untraced = memsnap_root.untraced;
    internal_heap_lock(); /* as if a signal handler interrupted the heap */
    void *p = internal_malloc(40);
    internal_heap_unlock();
    assert_non_null(p);
    assert_false(internal_heap_owns(p));
    assert_int_equal(memsnap_root.untraced, untraced + 1);
    free(p);
}

#define WORKERS 3
#define ROUNDS 20000

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    unsigned char *live[32] = {0};
    size_t sizes[32] = {0};
    for (int i = 0; i < ROUNDS; i++) {
        unsigned k = (unsigned)rand_r(&seed) % 32;
        if (live[k]) {
            if (internal_usable_size(live[k]) < sizes[k])
                return (void *)1;
            for (size_t j = 0; j < sizes[k]; j++)
                if (live[k][j] != (unsigned char)k)
                    return (void *)1;
            internal_free(live[k]);
            live[k] = NULL;
        } else {
            size_t size = 1 + (size_t)rand_r(&seed) % 2000;
            live[k] = (i & 1) ? internal_malloc(size) : internal_memalign(64, size);
            if (!live[k] || !internal_heap_owns(live[k]))
                return (void *)1;
            memset(live[k], (int)k, size);
            sizes[k] = size;
        }
    }
    for (int k = 0; k < 32; k++)
        if (live[k])
            internal_free(live[k]);
    return NULL;
}

static void test_threads_and_fork(void **state)
{
    (void)state;
    pthread_t threads[WORKERS];
    for (uintptr_t t = 0; t < WORKERS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, churn, (void *)(t + 1)), 0);
    /* forks while the workers run: the child must find the heap usable */
    for (int f = 0; f < 5; f++) {
        internal_heap_lock();
        pool_lock_all();
        pid_t pid = fork();
        if (pid == 0) {
            pool_reset_lock();
            internal_heap_reset_lock();
            _exit(churn((void *)99) == NULL ? 0 : 1);
        }
        pool_unlock_all();
        internal_heap_unlock();
        assert_true(pid > 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    for (int t = 0; t < WORKERS; t++) {
        void *rc;
        assert_int_equal(pthread_join(threads[t], &rc), 0);
        assert_null(rc);
    }
    assert_int_equal(mapped_bytes(NULL), memsnap_root.runtime_bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_are_runtime_memory),
        cmocka_unit_test(test_free_reuses_and_calloc_zeroes),
        cmocka_unit_test(test_aligned),
        cmocka_unit_test(test_realloc_keeps_contents),
        cmocka_unit_test(test_large_blocks),
        cmocka_unit_test(test_out_of_memory_falls_back),
        cmocka_unit_test(test_reentered_heap_falls_back),
        cmocka_unit_test(test_threads_and_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
