/*
 * Block slots in per-thread chunks: malloc records a slot with the
 * requested size, free clears it, new chunks are mapped as blocks pile up
 * and every block is still found with the right size afterwards, freed
 * blocks leave no trace, a steady churn reuses its slots instead of growing,
 * and a block the runtime never traced is freed untouched.
 */
#define _GNU_SOURCE
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

extern struct memsnap_root memsnap_root;

#define MANY 40000

static void test_insert_and_remove_one(void **state)
{
    (void)state;
    char *p = malloc(123);
    assert_non_null(p);
    struct read_block block;
    assert_true(find_block((uintptr_t)p, MEMSNAP_DOMAIN_HEAP, &block));
    assert_int_equal(block.size, 123);
    assert_int_not_equal(block.site_id, 0);
    free(p);
    assert_false(find_block((uintptr_t)p, MEMSNAP_DOMAIN_HEAP, NULL));
}

struct sized_blocks {
    char **ptrs;
    size_t n;
    size_t found;
    size_t wrong_size;
};

static int by_address(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void check_block(const struct read_block *block, void *arg)
{
    struct sized_blocks *s = arg;
    uintptr_t key = (uintptr_t)block->addr;
    uintptr_t *hit = bsearch(&key, s->ptrs, s->n, sizeof *s->ptrs, by_address);
    if (!hit)
        return;
    s->found++;
    /* each block's first byte holds its size / 8 */
    if (block->size != (uint64_t)(unsigned char)*(char *)*hit * 8u)
        s->wrong_size++;
}

static void test_growth_keeps_every_block(void **state)
{
    (void)state;
    struct table_walk before = walk_table();
    char **ptrs = calloc(MANY, sizeof *ptrs);
    for (size_t i = 0; i < MANY; i++) {
        size_t size = 8u * (1 + i % 200);
        ptrs[i] = malloc(size);
        ptrs[i][0] = (char)(size / 8);
    }
    struct table_walk grown = walk_table();
    assert_true(grown.chunks > before.chunks); /* 40,000 blocks need several */
    assert_true(grown.capacity >= grown.blocks);
    assert_int_equal(grown.blocks, before.blocks + MANY + 1); /* + ptrs */

    qsort(ptrs, MANY, sizeof *ptrs, by_address);
    struct sized_blocks s = {ptrs, MANY, 0, 0};
    struct table_walk walk;
    reader_blocks(own_reader(), check_block, &s, &walk);
    assert_int_equal(s.found, MANY);
    assert_int_equal(s.wrong_size, 0);

    /* free every other block: exactly those disappear */
    for (size_t i = 0; i < MANY; i += 2) {
        free(ptrs[i]);
        ptrs[i] = NULL;
    }
    size_t kept = 0;
    for (size_t i = 0; i < MANY; i++)
        if (ptrs[i])
            ptrs[kept++] = ptrs[i];
    s = (struct sized_blocks){ptrs, kept, 0, 0};
    reader_blocks(own_reader(), check_block, &s, &walk);
    assert_int_equal(s.found, MANY / 2);
    assert_int_equal(s.wrong_size, 0);
    assert_int_equal(walk.blocks, grown.blocks - MANY / 2);

    for (size_t i = 0; i < kept; i++)
        free(ptrs[i]);
    free(ptrs);
    assert_int_equal(walk_table().blocks, before.blocks);
}

static void test_churn_reuses_slots(void **state)
{
    (void)state;
    struct table_walk before = walk_table();
    /* many alloc/free rounds with a steady live set must not grow forever */
    void *live[512] = {0};
    for (int round = 0; round < 200000; round++) {
        int k = (round * 7919) % 512;
        free(live[k]);
        live[k] = malloc(16 + (size_t)(round % 64));
    }
    struct table_walk walk = walk_table();
    assert_true(walk.chunks <= before.chunks + 1);
    for (int k = 0; k < 512; k++) {
        if (live[k])
            assert_true(find_block((uintptr_t)live[k], MEMSNAP_DOMAIN_HEAP, NULL));
        free(live[k]);
    }
}

static void test_free_of_untracked_pointer_is_forwarded(void **state)
{
    (void)state;
    memsnap_stop();
    char *before = malloc(64); /* not traced */
    assert_int_equal(memsnap_start(8), 0);
    assert_false(find_block((uintptr_t)before, MEMSNAP_DOMAIN_HEAP, NULL));
    size_t current_before, peak;
    memsnap_get_traced_memory(&current_before, &peak);
    free(before); /* the real allocator frees it; counters untouched */
    size_t current_after;
    memsnap_get_traced_memory(&current_after, &peak);
    assert_int_equal(current_after, current_before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_and_remove_one, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_growth_keeps_every_block, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_churn_reuses_slots, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_free_of_untracked_pointer_is_forwarded, start_tracing_8_frames, stop_tracing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
