/*
 * Thread records when threads exit: a thread's counts outlive it (its
 * blocks stay live, its site's totals stay); a later thread adopts the
 * record (no new record), and its counts add to the old ones; a block
 * freed from another thread's TSD destructor after the runtime's own (the
 * thread's last frees) is still forgotten exactly; and hundreds of short
 * threads, one after the other, reuse a handful of records.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

extern struct memsnap_root memsnap_root;

#define BLOCKS 1000
#define SIZE 24

static void *kept[2 * BLOCKS];

/* The one call site of every block of this test. */
__attribute__((noinline)) static void *site(void)
{
    void *p = malloc(SIZE);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

static unsigned records(unsigned status)
{
    unsigned n = 0;
    for (uint64_t at = memsnap_root.threads; at;) {
        const struct memsnap_thread *rec = (const void *)(uintptr_t)at;
        n += status == 0 || rec->status == status;
        at = rec->next;
    }
    return n;
}

static struct read_site site_of(const void *block)
{
    struct read_block found;
    struct read_site s;
    assert_true(find_block((uintptr_t)block, MEMSNAP_DOMAIN_HEAP, &found));
    assert_int_equal(site_by_id(found.site_id, &s), 0);
    return s;
}

static void *allocate_half(void *arg)
{
    void **out = arg;
    for (int i = 0; i < BLOCKS; i++)
        out[i] = site();
    return NULL;
}

static void run_thread(void *(*body)(void *), void *arg)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, body, arg), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

static void test_counts_outlive_and_carry_on(void **state)
{
    (void)state;
    run_thread(allocate_half, kept);
    unsigned all = records(0);
    assert_true(records(MEMSNAP_THREAD_EXITING) >= 1);
    struct read_site s = site_of(kept[0]);
    assert_int_equal(s.live_count, BLOCKS);
    assert_int_equal(s.total_bytes, BLOCKS * SIZE);

    run_thread(allocate_half, kept + BLOCKS); /* adopts the exited one's record */
    assert_int_equal(records(0), all);
    s = site_of(kept[BLOCKS]);
    assert_int_equal(s.live_count, 2 * BLOCKS);
    assert_int_equal(s.total_count, 2 * BLOCKS);

    for (int i = 0; i < 2 * BLOCKS; i++) /* from another thread: the remote path */
        free(kept[i]);
    assert_int_equal(site_by_id(s.id, &s), 0);
    assert_int_equal(s.live_count, 0);
    assert_int_equal(s.total_count, 2 * BLOCKS);
    struct table_walk walk = walk_table();
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, walk.bytes);
}

static pthread_key_t late_key;

static void free_late(void *block)
{
    free(block); /* may run after the runtime's own destructor */
}

static void *allocate_for_later(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4; i++) {
        pthread_key_t k;
        assert_int_equal(pthread_key_create(&k, NULL), 0); /* keys after the runtime's */
    }
    pthread_setspecific(late_key, site());
    return NULL;
}

static void test_frees_after_the_runtime_destructor(void **state)
{
    (void)state;
    size_t before, peak, after;
    memsnap_get_traced_memory(&before, &peak);
    assert_int_equal(pthread_key_create(&late_key, free_late), 0);
    for (int i = 0; i < 20; i++)
        run_thread(allocate_for_later, NULL);
    memsnap_get_traced_memory(&after, &peak);
    assert_int_equal(after, before);
    assert_int_equal(walk_table().bytes, after);
}

static void *short_life(void *arg)
{
    (void)arg;
    free(site());
    return NULL;
}

static void test_short_threads_reuse_records(void **state)
{
    (void)state;
    run_thread(short_life, NULL);
    unsigned all = records(0);
    for (int i = 0; i < 300; i++)
        run_thread(short_life, NULL);
    /* a record is adopted once its thread is gone: a few may still be
     * exiting when the next thread starts */
    assert_true(records(0) <= all + 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_outlive_and_carry_on, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_frees_after_the_runtime_destructor, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test_setup_teardown(test_short_threads_reuse_records, start_tracing_8_frames, stop_tracing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
