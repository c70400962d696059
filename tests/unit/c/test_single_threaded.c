/*
 * The runtime's fast paths: while the process has only ever had one thread
 * (glibc's __libc_single_threaded) the block table and the counters are
 * written without locked instructions; once a second thread exists they
 * are locked again. This test allocates single-threaded, checks the flag is
 * still set (so the fast path really ran), then lets two threads free the
 * main thread's blocks and allocate from the same call site while the main
 * thread does too; every site pair, root.current_bytes and the table must
 * still be exact, and nothing left in flight. It also checks that the hooks'
 * private copy of the tracing state follows memsnap_start/stop.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/single_threaded.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

extern struct memsnap_root memsnap_root;

#define SOLO_BLOCKS 3000
#define THREAD_BLOCKS 2000
#define BLOCK_SIZE 48

static void *solo_blocks[SOLO_BLOCKS];
static void *thread_blocks[2][THREAD_BLOCKS];

/* The one call site every block of this test comes from. */
__attribute__((noinline)) static void *shared_site(void)
{
    void *p = malloc(BLOCK_SIZE);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

/* Fills out[0..n) from shared_site. Traced 2 frames deep (shared_site,
 * fill, the rest of the stack unknown), every call of fill gives the same
 * site, from main and from the threads alike. */
__attribute__((noinline)) static void fill(void **out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = shared_site();
    __asm__ volatile("" ::: "memory");
}

static void assert_consistent(void)
{
    struct table_walk walk = walk_table();
    assert_int_equal(walk.in_flight, 0);
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, walk.bytes);
    assert_true(peak >= current);

}

static void assert_site(const void *block, uint64_t live, uint64_t total)
{
    struct read_block found;
    assert_true(find_block((uintptr_t)block, MEMSNAP_DOMAIN_HEAP, &found));
    assert_int_equal(found.size, BLOCK_SIZE);
    struct read_site site;
    assert_int_equal(site_by_id(found.site_id, &site), 0);
    assert_int_equal(site.live_count, live);
    assert_int_equal(site.live_bytes, live * BLOCK_SIZE);
    assert_int_equal(site.total_count, total);
    assert_int_equal(site.total_bytes, total * BLOCK_SIZE);
}

static void test_state_follows_start_and_stop(void **state)
{
    (void)state;
    assert_int_equal(memsnap_start(5), 0);
    assert_int_equal(memsnap_is_tracing(), 1);
    assert_int_equal(memsnap_get_traceback_limit(), 5);
    assert_true(memsnap_root.state & MEMSNAP_STATE_TRACING);
    void *traced = shared_site();
    struct read_block found;
    assert_true(find_block((uintptr_t)traced, MEMSNAP_DOMAIN_HEAP, &found));
    struct read_site site;
    assert_int_equal(site_by_id(found.site_id, &site), 0);
    assert_true(site.nframes <= 5);
    free(traced);

    assert_int_equal(memsnap_stop(), 0);
    assert_int_equal(memsnap_is_tracing(), 0);
    assert_false(memsnap_root.state & MEMSNAP_STATE_TRACING);
    void *untraced = shared_site();
    assert_false(find_block((uintptr_t)untraced, MEMSNAP_DOMAIN_HEAP, &found));
    free(untraced);
}

static void *second_thread(void *arg)
{
    int t = (int)(intptr_t)arg;
    /* thread t frees the solo blocks i with i % 3 == t + 1 */
    for (int i = 0; i < SOLO_BLOCKS; i++)
        if (i % 3 == t + 1) {
            free(solo_blocks[i]);
            solo_blocks[i] = NULL;
        }
    fill(thread_blocks[t], THREAD_BLOCKS);
    for (int i = 0; i < THREAD_BLOCKS; i += 2) {
        free(thread_blocks[t][i]);
        thread_blocks[t][i] = NULL;
    }
    return NULL;
}

static void test_single_then_threads_exact(void **state)
{
    (void)state;
    assert_int_equal(memsnap_start(2), 0);
    /* Nothing has started a thread yet: the fast path is the one used. */
    assert_true(__libc_single_threaded);
    fill(solo_blocks, SOLO_BLOCKS);
    for (int i = 0; i < SOLO_BLOCKS; i += 3) {
        free(solo_blocks[i]);
        solo_blocks[i] = NULL;
    }
    assert_true(__libc_single_threaded);
    uint64_t live = SOLO_BLOCKS - (SOLO_BLOCKS + 2) / 3;
    assert_site(solo_blocks[1], live, SOLO_BLOCKS);
    assert_consistent();

    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, second_thread, (void *)(intptr_t)t), 0);
    assert_false(__libc_single_threaded);
    static void *mine[THREAD_BLOCKS];
    fill(mine, THREAD_BLOCKS);
    for (int i = 1; i < THREAD_BLOCKS; i += 2)
        free(mine[i]);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);

    /* Every solo block is freed now (main: i % 3 == 0, threads: the rest);
     * main keeps the even half of its later blocks, each thread the odd
     * half of its own. */
    for (int i = 0; i < SOLO_BLOCKS; i++)
        assert_null(solo_blocks[i]);
    uint64_t all = SOLO_BLOCKS + 3 * THREAD_BLOCKS;
    assert_site(mine[0], 3 * THREAD_BLOCKS / 2, all);
    assert_site(thread_blocks[0][1], 3 * THREAD_BLOCKS / 2, all);
    assert_site(thread_blocks[1][1], 3 * THREAD_BLOCKS / 2, all);
    assert_consistent();

    for (int i = 0; i < THREAD_BLOCKS; i += 2)
        free(mine[i]);
    for (int t = 0; t < 2; t++)
        for (int i = 1; i < THREAD_BLOCKS; i += 2)
            free(thread_blocks[t][i]);
    assert_consistent();
    memsnap_stop();
}

int main(void)
{
    /* In this order: the second test needs a process that never had a
     * second thread when it begins. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_follows_start_and_stop),
        cmocka_unit_test(test_single_then_threads_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
