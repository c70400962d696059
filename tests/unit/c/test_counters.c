/*
 * The tracemalloc-like API: start/stop/is_tracing/get_traceback_limit,
 * current and peak (get_traced_memory), reset_peak, clear_traces (blocks
 * and counters gone, tracing on), stop (clears too), start's refusals, and
 * the runtime's own memory (kept and used again after a stop).
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

static void test_start_stop(void **state)
{
    (void)state;
    assert_int_equal(memsnap_is_tracing(), 0); /* linked, MEMSNAP unset */
    assert_int_equal(memsnap_get_traceback_limit(), 0);
    assert_int_equal(memsnap_start(0), -EINVAL);
    assert_int_equal(memsnap_start(MEMSNAP_MAX_FRAMES + 1), -EINVAL);
    assert_int_equal(memsnap_start(12), 0);
    assert_int_equal(memsnap_is_tracing(), 1);
    assert_int_equal(memsnap_get_traceback_limit(), 12);
    assert_int_equal(memsnap_start(3), 0); /* already tracing: unchanged */
    assert_int_equal(memsnap_get_traceback_limit(), 12);
    assert_int_equal(memsnap_stop(), 0);
    assert_int_equal(memsnap_is_tracing(), 0);
    assert_int_equal(memsnap_get_traceback_limit(), 12); /* kept, like tracemalloc */
    assert_int_equal(memsnap_start(7), 0);
    assert_int_equal(memsnap_get_traceback_limit(), 7);
    assert_int_equal(memsnap_stop(), 0);
}

static void test_current_and_peak(void **state)
{
    (void)state;
    assert_int_equal(memsnap_start(4), 0);
    size_t current, peak;
    void *a = malloc(1000);
    void *b = malloc(3000);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 4000);
    assert_int_equal(peak, 4000);
    free(b);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 1000);
    assert_int_equal(peak, 4000);
    assert_int_equal(memsnap_reset_peak(), 0);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(peak, 1000);
    void *c = malloc(500);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 1500);
    assert_int_equal(peak, 1500);
    memsnap_get_traced_memory(NULL, NULL);
    free(a);
    free(c);
    memsnap_stop();
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 0);
    assert_int_equal(peak, 0);
}

static void test_clear_traces(void **state)
{
    (void)state;
    assert_int_equal(memsnap_start(4), 0);
    void *kept[100];
    for (int i = 0; i < 100; i++)
        kept[i] = malloc(64);
    struct read_block block;
    assert_true(find_block((uintptr_t)kept[0], MEMSNAP_DOMAIN_HEAP, &block));
    uint32_t id = block.site_id;
    assert_int_equal(memsnap_clear_traces(), 0);
    assert_int_equal(memsnap_is_tracing(), 1);
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 0);
    assert_int_equal(peak, 0);
    assert_int_equal(walk_table().blocks, 0);
    struct read_site site;
    assert_int_equal(site_by_id(id, &site), 0); /* stacks stay interned */
    assert_int_equal(site.live_count, 0);
    assert_int_equal(site.total_count, 0);
    /* freeing cleared blocks changes nothing */
    for (int i = 0; i < 100; i++)
        free(kept[i]);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 0);
    void *fresh = malloc(10);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, 10);
    free(fresh);
    memsnap_stop();
}

static void **allocate_many(int n)
{
    void **many = malloc((size_t)n * sizeof *many);
    for (int i = 0; i < n; i++)
        many[i] = malloc(8);
    return many;
}

static void free_many(void **many, int n)
{
    for (int i = 0; i < n; i++)
        free(many[i]);
    free(many);
}

static void test_runtime_memory(void **state)
{
    (void)state;
    assert_int_equal(memsnap_start(4), 0);
    size_t before = memsnap_get_runtime_memory();
    assert_true(before > 0);
    void **many = allocate_many(100000);
    size_t grown = memsnap_get_runtime_memory();
    assert_true(grown > before + 100000 * 16); /* a slot per block */
    free_many(many, 100000);
    memsnap_stop();
    /* the runtime keeps its chunks (a block allocated while tracing may
     * still point at its slot) and uses them again */
    assert_int_equal(memsnap_start(4), 0);
    many = allocate_many(100000);
    assert_int_equal(memsnap_get_runtime_memory(), grown);
    free_many(many, 100000);
    memsnap_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_stop),
        cmocka_unit_test(test_current_and_peak),
        cmocka_unit_test(test_clear_traces),
        cmocka_unit_test(test_runtime_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
