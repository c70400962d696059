/*
 * Every hooked allocation function records the requested size and the
 * result stays usable: calloc (zeroed, count * size), realloc (grow, shrink,
 * NULL pointer, size 0, the old block forgotten when it moves, failure keeps
 * the old block), reallocarray (overflow), aligned_alloc, memalign,
 * posix_memalign (alignment and EINVAL), valloc, pvalloc, and
 * malloc_usable_size passes through.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

/* Impossible sizes, hidden from the compiler's size warnings. */
static volatile size_t half_of_everything = SIZE_MAX / 2;
static volatile size_t almost_everything = SIZE_MAX - 4096;

static uint64_t traced_size(void *ptr)
{
    struct read_block block;
    if (!find_block((uintptr_t)ptr, MEMSNAP_DOMAIN_HEAP, &block))
        fail_msg("%p is not traced", ptr);
    return block.size;
}

static void expect_untraced(void *ptr)
{
    if (find_block((uintptr_t)ptr, MEMSNAP_DOMAIN_HEAP, NULL))
        fail_msg("%p is still traced", ptr);
}

static void test_calloc_zeroes_and_records(void **state)
{
    (void)state;
    unsigned char *p = calloc(17, 3);
    assert_non_null(p);
    for (int i = 0; i < 51; i++)
        assert_int_equal(p[i], 0);
    assert_int_equal(traced_size(p), 51);
    free(p);
    expect_untraced(p);
    errno = 0;
    assert_null(calloc(half_of_everything, 4));
    assert_int_equal(errno, ENOMEM);
}

static void test_realloc_moves_and_records(void **state)
{
    (void)state;
    char *p = realloc(NULL, 10); /* = malloc */
    assert_non_null(p);
    assert_int_equal(traced_size(p), 10);
    memcpy(p, "123456789", 10);
    char *q = realloc(p, 100000); /* moves */
    assert_non_null(q);
    assert_string_equal(q, "123456789");
    assert_int_equal(traced_size(q), 100000);
    if (q != p)
        expect_untraced(p);
    char *r = realloc(q, 5); /* shrinks */
    assert_int_equal(traced_size(r), 5);
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 5);
    /* peak never counted the old and the new block together */
    assert_int_equal(peak, 100000);
    /* failure: the old block stays traced and valid */
    errno = 0;
    assert_null(realloc(r, almost_everything));
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(traced_size(r), 5);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 5);
    assert_null(realloc(r, 0)); /* glibc: frees */
    expect_untraced(r);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 0);
}

static void test_reallocarray(void **state)
{
    (void)state;
    int *p = reallocarray(NULL, 10, sizeof(int));
    assert_int_equal(traced_size(p), 40);
    p = reallocarray(p, 1000, sizeof(int));
    assert_int_equal(traced_size(p), 4000);
    errno = 0;
    assert_null(reallocarray(p, half_of_everything, 4));
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(traced_size(p), 4000);
    free(p);
}

static void test_aligned_forms(void **state)
{
    (void)state;
    void *a = aligned_alloc(64, 640);
    assert_int_equal((uintptr_t)a % 64, 0);
    assert_int_equal(traced_size(a), 640);
    void *m = memalign(256, 10);
    assert_int_equal((uintptr_t)m % 256, 0);
    assert_int_equal(traced_size(m), 10);
    void *v = valloc(100);
    assert_int_equal((uintptr_t)v % 4096, 0);
    assert_int_equal(traced_size(v), 100);
    void *pv = pvalloc(100); /* rounded up by libc, recorded as requested */
    assert_int_equal((uintptr_t)pv % 4096, 0);
    assert_int_equal(traced_size(pv), 100);
    void *pm = NULL;
    assert_int_equal(posix_memalign(&pm, 128, 33), 0);
    assert_int_equal((uintptr_t)pm % 128, 0);
    assert_int_equal(traced_size(pm), 33);
    void *untouched = (void *)0x1234;
    assert_int_equal(posix_memalign(&untouched, 3, 8), EINVAL);
    assert_ptr_equal(untouched, (void *)0x1234);
    void *blocks[] = {a, m, v, pv, pm};
    for (size_t i = 0; i < 5; i++) {
        free(blocks[i]);
        expect_untraced(blocks[i]);
    }
}

static void test_usable_size_passes_through(void **state)
{
    (void)state;
    void *p = malloc(1);
    assert_true(malloc_usable_size(p) >= 1);
    assert_int_equal(malloc_usable_size(NULL), 0);
    free(p);
}

static void test_zero_size_is_a_block(void **state)
{
    (void)state;
    void *p = malloc(0);
    assert_non_null(p);
    assert_int_equal(traced_size(p), 0);
    free(p);
    expect_untraced(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_calloc_zeroes_and_records, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_realloc_moves_and_records, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_reallocarray, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_aligned_forms, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_usable_size_passes_through, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_zero_size_is_a_block, start_tracing_8_frames, stop_tracing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
