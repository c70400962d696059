/*
 * The block header (runtime/block_header.h) at every allocator entry point:
 * each aligned form keeps its alignment and records the requested size;
 * malloc_usable_size reports what the program may really use (every byte
 * of it is written, and the real allocator's own checks on free would
 * catch an overrun); realloc keeps the contents whether the block stays or
 * moves, in place or not, aligned or not; blocks the hooks never wrote a
 * header for (allocated before tracing started, or straight from glibc's
 * __libc_malloc) are freed, reallocated and measured untouched and change
 * no counter; blocks allocated while tracing are freed safely after a
 * clear or a stop; and calloc and reallocarray overflows fail cleanly.
 * (test_header_cookie.c checks the cookie alone.)
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
#include <unistd.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);

/* Impossible sizes, hidden from the compiler's size warnings. */
static volatile size_t half_of_everything = SIZE_MAX / 2;
static volatile size_t almost_everything = SIZE_MAX - 4096;

static uint64_t traced_size(const void *ptr)
{
    struct read_block block;
    if (!find_block((uintptr_t)ptr, MEMSNAP_DOMAIN_HEAP, &block))
        fail_msg("%p is not traced", ptr);
    return block.size;
}

static size_t current_bytes(void)
{
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    return current;
}

/* Writes every byte malloc_usable_size says the program may use. */
static void fill_usable(unsigned char *p, size_t requested)
{
    size_t usable = malloc_usable_size(p);
    assert_true(usable >= requested);
    memset(p, 0xA5, usable);
}

static void check_aligned(void *p, size_t align, size_t size)
{
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % align, 0);
    assert_int_equal(traced_size(p), size);
    fill_usable(p, size);
    free(p);
    assert_false(find_block((uintptr_t)p, MEMSNAP_DOMAIN_HEAP, NULL));
}

static void test_every_alignment(void **state)
{
    (void)state;
    size_t base = current_bytes();
    for (size_t align = 8; align <= (1u << 20); align *= 2) {
        check_aligned(memalign(align, 40), align, 40);
        check_aligned(aligned_alloc(align, 3 * align), align, 3 * align);
        void *p = NULL;
        assert_int_equal(posix_memalign(&p, align, 1), 0);
        check_aligned(p, align, 1);
        check_aligned(memalign(align, 0), align, 0);
    }
    check_aligned(memalign(24, 10), 32, 10); /* glibc rounds 24 up to 32 */
    check_aligned(valloc(5000), 4096, 5000);
    void *pv = pvalloc(5000);
    assert_true(malloc_usable_size(pv) >= 8192); /* pvalloc rounds up to pages */
    check_aligned(pv, 4096, 5000);
    void *untouched = (void *)0x1234;
    assert_int_equal(posix_memalign(&untouched, 24, 8), EINVAL);
    assert_int_equal(posix_memalign(&untouched, 4, 8), EINVAL);
    assert_ptr_equal(untouched, (void *)0x1234);
    assert_int_equal(current_bytes(), base);
}

static void test_usable_size_is_usable(void **state)
{
    (void)state;
    for (size_t size = 0; size < 300; size += 7) {
        unsigned char *p = malloc(size);
        fill_usable(p, size);
        assert_int_equal(traced_size(p), size);
        free(p);
    }
    assert_int_equal(malloc_usable_size(NULL), 0);
}

static void test_realloc_in_place_and_moving(void **state)
{
    (void)state;
    size_t base = current_bytes();
    char *p = malloc(4000);
    memset(p, 'x', 4000);
    char *shrunk = realloc(p, 100); /* glibc shrinks in place */
    assert_int_equal(traced_size(shrunk), 100);
    assert_int_equal(shrunk[99], 'x');
    char *grown = realloc(shrunk, 1 << 20); /* moves (or is mmapped) */
    assert_int_equal(traced_size(grown), 1 << 20);
    assert_int_equal(grown[0], 'x');
    assert_int_equal(grown[99], 'x');
    if (grown != shrunk)
        assert_false(find_block((uintptr_t)shrunk, MEMSNAP_DOMAIN_HEAP, NULL));
    char *bigger = realloc(grown, 4 << 20); /* mremap of an mmapped block */
    assert_int_equal(bigger[99], 'x');
    assert_int_equal(traced_size(bigger), 4 << 20);
    fill_usable((unsigned char *)bigger, 4 << 20);
    assert_int_equal(current_bytes(), base + (4 << 20));
    errno = 0;
    assert_null(realloc(bigger, almost_everything)); /* fails: the old one lives */
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(traced_size(bigger), 4 << 20);
    assert_null(realloc(bigger, 0)); /* glibc: frees */
    assert_int_equal(current_bytes(), base);

    /* an aligned block may move anywhere, its contents kept */
    char *a = memalign(4096, 64);
    memcpy(a, "aligned", 8);
    char *moved = realloc(a, 10000);
    assert_string_equal(moved, "aligned");
    assert_int_equal(traced_size(moved), 10000);
    assert_false(find_block((uintptr_t)a, MEMSNAP_DOMAIN_HEAP, NULL) && moved != a);
    free(moved);
    assert_int_equal(current_bytes(), base);
}

static void test_foreign_blocks(void **state)
{
    (void)state;
    memsnap_stop();
    char *before = malloc(64); /* no header: allocated while not tracing */
    strcpy(before, "before");
    assert_int_equal(memsnap_start(8), 0);
    char *raw = __libc_malloc(48); /* not through the hooks */
    strcpy(raw, "raw");
    size_t base = current_bytes();
    assert_true(malloc_usable_size(before) >= 64);
    assert_true(malloc_usable_size(raw) >= 48);
    free(raw); /* untouched: the real free */
    assert_int_equal(current_bytes(), base);
    char *copy = realloc(before, 200); /* a traced copy of an untraced block */
    assert_string_equal(copy, "before");
    assert_int_equal(traced_size(copy), 200);
    assert_int_equal(current_bytes(), base + 200);
    free(copy);
    assert_int_equal(current_bytes(), base);
}

static void test_blocks_outlive_clear_and_stop(void **state)
{
    (void)state;
    char *a = malloc(100), *b = malloc(200), *c = malloc(300), *d = memalign(64, 50);
    assert_int_equal(memsnap_clear_traces(), 0);
    assert_int_equal(current_bytes(), 0);
    free(a); /* forgotten by the clear: nothing to count */
    char *b2 = realloc(b, 5000);
    assert_int_equal(traced_size(b2), 5000);
    assert_int_equal(current_bytes(), 5000);
    memsnap_stop();
    free(b2); /* recorded, then tracing stopped: just freed */
    char *c2 = realloc(c, 20);
    assert_false(find_block((uintptr_t)c2, MEMSNAP_DOMAIN_HEAP, NULL));
    assert_true(malloc_usable_size(c2) >= 20);
    free(c2);
    assert_true(malloc_usable_size(d) >= 50);
    free(d);
    assert_int_equal(memsnap_start(8), 0);
}

static void test_overflows(void **state)
{
    (void)state;
    errno = 0;
    assert_null(calloc(half_of_everything, 4));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(calloc(1, almost_everything)); /* size + header overflows */
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(malloc(almost_everything));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(memalign(1 << 20, almost_everything));
    assert_int_equal(errno, ENOMEM);
    unsigned char *z = calloc(0, 5);
    assert_non_null(z);
    assert_int_equal(traced_size(z), 0);
    free(z);
    int *p = reallocarray(NULL, 10, sizeof(int));
    errno = 0;
    assert_null(reallocarray(p, half_of_everything, 4));
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(traced_size(p), 40);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_alignment, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_usable_size_is_usable, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_realloc_in_place_and_moving, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_foreign_blocks, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_blocks_outlive_clear_and_stop, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_overflows, start_tracing_8_frames, stop_tracing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
