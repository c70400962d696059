/*
 * Threads: four threads hammer malloc/realloc/free (shared and private call
 * sites, blocks freed by another thread than the one that allocated them)
 * while a fifth keeps reading the counters; at the end the totals are
 * exact: each thread's live blocks are in the table with their sizes, the
 * shared site's live and total pairs equal the sums, current equals the
 * table's bytes, and nothing is left in flight. Then clears made while
 * threads churn (each thread wipes its own record when it next calls the
 * runtime): once the threads are done, blocks, site counters and current
 * agree again, and the blocks allocated before a clear are freed quietly.
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

#define THREADS 4
#define ROUNDS 100000
#define KEEP 1000

static void *handoff[THREADS][KEEP];
static int stop_reader;

__attribute__((noinline)) static void *shared_site(size_t size)
{
    void *p = malloc(size);
    __asm__ volatile("" ::: "memory");
    return p;
}

static void *hammer(void *arg)
{
    int t = (int)(intptr_t)arg;
    void *ring[64] = {0};
    for (int i = 0; i < ROUNDS; i++) {
        int k = i % 64;
        free(ring[k]);
        ring[k] = (i & 1) ? malloc(16 + (size_t)(i % 32)) : realloc(NULL, 24);
        if (i % 7 == 0)
            ring[k] = realloc(ring[k], 200);
    }
    for (int k = 0; k < 64; k++)
        free(ring[k]);
    /* blocks for the next thread to free */
    for (int i = 0; i < KEEP; i++)
        handoff[t][i] = shared_site(100);
    return NULL;
}

static void *counter_reader(void *arg)
{
    (void)arg;
    size_t current, peak;
    while (!__atomic_load_n(&stop_reader, __ATOMIC_RELAXED)) {
        memsnap_get_traced_memory(&current, &peak);
        if (current > peak)
            abort();
    }
    return NULL;
}

static void *free_neighbour(void *arg)
{
    int t = (int)(intptr_t)arg;
    int other = (t + 1) % THREADS;
    for (int i = 0; i < KEEP / 2; i++)
        free(handoff[other][i]);
    return NULL;
}

static void test_hammer_exact_totals(void **state)
{
    (void)state;
    assert_int_equal(memsnap_start(16), 0);
    pthread_t workers[THREADS], reader;
    pthread_create(&reader, NULL, counter_reader, NULL);
    for (int t = 0; t < THREADS; t++)
        pthread_create(&workers[t], NULL, hammer, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(workers[t], NULL);
    for (int t = 0; t < THREADS; t++)
        pthread_create(&workers[t], NULL, free_neighbour, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(workers[t], NULL);
    __atomic_store_n(&stop_reader, 1, __ATOMIC_RELAXED);
    pthread_join(reader, NULL);

    /* each worker's shared_site stack differs by thread entry only above
     * shared_site; sum over the surviving hand-off blocks */
    uint64_t live = 0;
    for (int t = 0; t < THREADS; t++) {
        for (int i = KEEP / 2; i < KEEP; i++) {
            struct read_block block;
            assert_true(find_block((uintptr_t)handoff[t][i], MEMSNAP_DOMAIN_HEAP, &block));
            assert_int_equal(block.size, 100);
            live++;
        }
    }
    struct read_block first;
    assert_true(find_block((uintptr_t)handoff[0][KEEP - 1], MEMSNAP_DOMAIN_HEAP, &first));
    struct read_site site;
    assert_int_equal(site_by_id(first.site_id, &site), 0);
    assert_int_equal(site.live_count, live);
    assert_int_equal(site.live_bytes, live * 100);
    assert_int_equal(site.total_count, THREADS * KEEP);
    assert_int_equal(site.total_bytes, THREADS * KEEP * 100);

    struct table_walk walk = walk_table();
    assert_int_equal(walk.in_flight, 0);
    assert_true(walk.blocks >= live); /* + the threads' TLS blocks (pthread_create) */
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, walk.bytes);
    assert_true(peak >= current);

    for (int t = 0; t < THREADS; t++)
        for (int i = KEEP / 2; i < KEEP; i++)
            free(handoff[t][i]);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, walk.bytes - live * 100);
    memsnap_stop();
}

static int stop_churn;

static void *churn_across_clears(void *arg)
{
    (void)arg;
    void *ring[256] = {0};
    for (unsigned i = 0; !__atomic_load_n(&stop_churn, __ATOMIC_RELAXED); i++) {
        free(ring[i % 256]);
        ring[i % 256] = malloc(8 + i % 120);
    }
    /* all but the last 16: those stay live, allocated after some clear */
    for (int k = 16; k < 256; k++)
        free(ring[k]);
    void **kept = malloc(16 * sizeof *kept);
    for (int k = 0; k < 16; k++)
        kept[k] = ring[k];
    return kept;
}

static void sum_live(const struct read_site *site, void *arg)
{
    uint64_t *sums = arg;
    sums[0] += site->live_count;
    sums[1] += site->live_bytes;
}

static void test_clears_while_threads_churn(void **state)
{
    (void)state;
    assert_int_equal(memsnap_start(8), 0);
    __atomic_store_n(&stop_churn, 0, __ATOMIC_RELAXED);
    pthread_t workers[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&workers[t], NULL, churn_across_clears, NULL);
    for (int c = 0; c < 200; c++) {
        assert_int_equal(memsnap_clear_traces(), 0);
        for (volatile int spin = 0; spin < 20000; spin++)
            ;
    }
    __atomic_store_n(&stop_churn, 1, __ATOMIC_RELAXED);
    void *kept[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_join(workers[t], &kept[t]);
    /* a call into the runtime on each thread would catch it up; readers
     * ignore the records still behind, so the table is exact already */
    struct table_walk walk = walk_table();
    uint64_t sums[2] = {0, 0};
    reader_sites(own_reader(), sum_live, sums);
    assert_int_equal(walk.in_flight, 0);
    assert_int_equal(sums[0], walk.blocks);
    assert_int_equal(sums[1], walk.bytes);
    assert_int_equal((uint64_t)walk.current, walk.bytes);
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, walk.bytes);
    for (int t = 0; t < THREADS; t++) {
        for (int k = 0; k < 16; k++)
            free(((void **)kept[t])[k]);
        free(kept[t]);
    }
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(current, walk_table().bytes);
    memsnap_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hammer_exact_totals),
        cmocka_unit_test(test_clears_while_threads_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
