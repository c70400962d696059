/*
 * track/untrack for custom allocators (tracemalloc's domains): a tracked
 * range is a block of its domain with the caller's stack, counted in
 * current/peak; the same address may live in two domains at once (a pool
 * carved out of a malloc'd block); tracking again replaces; untrack of an
 * unknown block is -ENOENT; track when not tracing is -EAGAIN; bad
 * arguments are refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

#define POOL_DOMAIN 7u

static void test_track_and_untrack(void **state)
{
    (void)state;
    char *pool = malloc(4096);
    size_t base, peak;
    memsnap_get_traced_memory(&base, &peak);
    assert_int_equal(base, 4096);
    /* the pool's first object has the pool's address: both are kept */
    assert_int_equal(memsnap_track(POOL_DOMAIN, (uintptr_t)pool, 32), 0);
    assert_int_equal(memsnap_track(POOL_DOMAIN, (uintptr_t)pool + 32, 64), 0);
    struct read_block heap_block, pool_block;
    assert_true(find_block((uintptr_t)pool, MEMSNAP_DOMAIN_HEAP, &heap_block));
    assert_true(find_block((uintptr_t)pool, POOL_DOMAIN, &pool_block));
    assert_int_equal(heap_block.size, 4096);
    assert_int_equal(pool_block.size, 32);
    struct read_site site;
    assert_int_equal(site_by_id(pool_block.site_id, &site), 0);
    assert_int_equal(site.domain, POOL_DOMAIN);
    assert_true(site.nframes >= 1);
    size_t current;
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 4096 + 32 + 64);

    /* tracking again replaces the record */
    assert_int_equal(memsnap_track(POOL_DOMAIN, (uintptr_t)pool, 48), 0);
    assert_true(find_block((uintptr_t)pool, POOL_DOMAIN, &pool_block));
    assert_int_equal(pool_block.size, 48);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 4096 + 48 + 64);

    assert_int_equal(memsnap_untrack(POOL_DOMAIN, (uintptr_t)pool), 0);
    assert_false(find_block((uintptr_t)pool, POOL_DOMAIN, NULL));
    assert_true(find_block((uintptr_t)pool, MEMSNAP_DOMAIN_HEAP, NULL));
    assert_int_equal(memsnap_untrack(POOL_DOMAIN, (uintptr_t)pool), -ENOENT);
    assert_int_equal(memsnap_untrack(POOL_DOMAIN + 1, (uintptr_t)pool + 32), -ENOENT);

    /* free() forgets only the heap block */
    free(pool);
    assert_false(find_block((uintptr_t)pool, MEMSNAP_DOMAIN_HEAP, NULL));
    assert_true(find_block((uintptr_t)pool + 32, POOL_DOMAIN, NULL));
    assert_int_equal(memsnap_untrack(POOL_DOMAIN, (uintptr_t)pool + 32), 0);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 0);
}

static void test_domains_get_their_own_sites(void **state)
{
    (void)state;
    uintptr_t fake = 0x100000;
    for (unsigned d = 1; d <= 3; d++)
        assert_int_equal(memsnap_track(d, fake + d * 16, d), 0);
    struct read_block a, b;
    assert_true(find_block(fake + 16, 1, &a));
    assert_true(find_block(fake + 32, 2, &b));
    assert_int_not_equal(a.site_id, b.site_id);
    for (unsigned d = 1; d <= 3; d++)
        assert_int_equal(memsnap_untrack(d, fake + d * 16), 0);
}

static void test_refusals(void **state)
{
    (void)state;
    assert_int_equal(memsnap_track(1, 0, 8), -EINVAL);
    assert_int_equal(memsnap_track(1, UINTPTR_MAX, 8), -EINVAL);
    assert_int_equal(memsnap_track(1, 0x1000, (size_t)1 << 40), -EOVERFLOW);
    memsnap_stop();
    assert_int_equal(memsnap_track(1, 0x1000, 8), -EAGAIN);
    assert_int_equal(memsnap_untrack(1, 0x1000), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_track_and_untrack, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_domains_get_their_own_sites, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_refusals, start_tracing_8_frames, stop_tracing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
