/*
 * The stack depot: one call site allocating many times is interned once,
 * two call sites give two sites, a site's live pair follows malloc/free
 * while its total pair only grows, stacks are cut at the traceback limit
 * (a stack that ends within it keeps its true depth in total_nframes, a
 * deeper one says the depth is unknown), frames are innermost first
 * with the caller of malloc at pcs[0], and no frame lies in the runtime.
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

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

__attribute__((noinline)) static void *site_a(size_t size)
{
    void *p = malloc(size);
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) static void *site_b(size_t size)
{
    void *p = malloc(size);
    __asm__ volatile("" ::: "memory");
    return p;
}

static struct read_site site_of(void *ptr)
{
    struct read_block block;
    struct read_site site;
    assert_true(find_block((uintptr_t)ptr, MEMSNAP_DOMAIN_HEAP, &block));
    assert_int_equal(site_by_id(block.site_id, &site), 0);
    return site;
}

static void test_one_site_per_stack(void **state)
{
    (void)state;
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = site_a(40);
    void *q = site_b(40);
    struct read_site first = site_of(p[0]);
    for (int i = 1; i < 100; i++)
        assert_int_equal(site_of(p[i]).id, first.id);
    struct read_site other = site_of(q);
    assert_int_not_equal(other.id, first.id);
    assert_int_equal(first.live_count, 100);
    assert_int_equal(first.live_bytes, 4000);
    assert_int_equal(other.live_count, 1);

    /* pcs[0] is a return address inside site_a (the caller of malloc) */
    uint64_t a = (uintptr_t)site_a;
    assert_true(first.pcs[0] > a && first.pcs[0] < a + 256);
    Dl_info info;
    for (uint32_t i = 0; i < first.nframes; i++)
        if (dladdr((void *)(uintptr_t)first.pcs[i], &info) && info.dli_fname)
            assert_null(strstr(info.dli_fname, "libmemsnap"));
    for (int i = 0; i < 100; i++)
        free(p[i]);
    free(q);
}

static void test_live_and_total_pairs(void **state)
{
    (void)state;
    void *p[10];
    for (int i = 0; i < 10; i++)
        p[i] = site_a(100 + (size_t)i);
    uint32_t id = site_of(p[0]).id;
    for (int i = 0; i < 4; i++)
        free(p[i]);
    struct read_site site;
    assert_int_equal(site_by_id(id, &site), 0);
    assert_int_equal(site.live_count, 6);
    assert_int_equal(site.live_bytes, 104 + 105 + 106 + 107 + 108 + 109);
    assert_int_equal(site.total_count, 10);
    assert_int_equal(site.total_bytes, 10 * 100 + 45);
    for (int i = 4; i < 10; i++)
        free(p[i]);
    assert_int_equal(site_by_id(id, &site), 0);
    assert_int_equal(site.live_count, 0);
    assert_int_equal(site.live_bytes, 0);
    assert_int_equal(site.total_count, 10);
    /* sites outlive their blocks: interned once, never freed */
    assert_true(count_sites() >= (long)id);
}

__attribute__((noinline)) static void *recurse(int depth, size_t size)
{
    void *p = depth > 0 ? recurse(depth - 1, size) : malloc(size);
    __asm__ volatile("" ::: "memory");
    return p;
}

static void *short_stack(void *arg)
{
    *(void **)arg = malloc(8); /* thread start, start_thread, clone: shallow */
    return NULL;
}

static void test_traceback_limit_and_total_depth(void **state)
{
    (void)state;
    memsnap_stop();
    assert_int_equal(memsnap_start(5), 0);
    assert_int_equal(memsnap_get_traceback_limit(), 5);
    void *shallow = recurse(4, 8); /* 5 frames of recurse */
    void *deep = recurse(40, 8);
    struct read_site s = site_of(shallow), d = site_of(deep);
    assert_int_equal(d.nframes, 5);
    /* the walk stops at the limit: a deeper stack's depth is not known */
    assert_int_equal(d.total_nframes, MEMSNAP_TOTAL_UNKNOWN);
    assert_int_equal(s.total_nframes, MEMSNAP_TOTAL_UNKNOWN);
    assert_memory_equal(s.pcs, d.pcs, 5 * sizeof(uint64_t));
    assert_int_equal(s.id, d.id); /* the same 5 frames, depth unknown: one site */
    /* a stack that ends within the limit has its true depth */
    void *mine = NULL;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, short_stack, &mine), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    struct read_site m = site_of(mine);
    assert_true(m.nframes >= 1 && m.nframes < 5);
    assert_int_equal(m.total_nframes, m.nframes);
    free(shallow);
    free(deep);
    free(mine);
}

static void test_ids_are_dense(void **state)
{
    (void)state;
    long n = count_sites();
    assert_true(n > 0);
    struct read_site site;
    for (long id = 1; id <= n; id++)
        assert_int_equal(site_by_id((uint32_t)id, &site), 0);
    assert_int_not_equal(site_by_id((uint32_t)n + 1, &site), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_site_per_stack, start_tracing_32_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_live_and_total_pairs, start_tracing_32_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_traceback_limit_and_total_depth, start_tracing_32_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_ids_are_dense, start_tracing_32_frames, stop_tracing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
