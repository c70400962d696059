/*
 * The peak snapshot (layout 2.1, runtime/peak.h) read back with the layout
 * reader: in a process that never had a second thread each site's peak
 * pair is its live pair at the highest current, exactly, and the sites'
 * peak bytes add up to memsnap_get_traced_memory()'s peak; frees after the
 * peak and allocations below it leave it alone; memsnap_reset_peak() makes
 * now the peak (tracemalloc's reset_peak: peak = current); a clear empties
 * it; and the runtime says it is exact (root.state without DRIFT). Then,
 * with threads, the bound of docs/layout.md and the DRIFT bit.
 */
#define _GNU_SOURCE
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

extern struct memsnap_root memsnap_root;

#define WIDE 300   /* blocks of the wide site, 1000 B each */
#define NARROW 700 /* blocks of the narrow site, 24 B each */

__attribute__((noinline)) static void *wide_block(void)
{
    return malloc(1000);
}

__attribute__((noinline)) static void *narrow_block(void)
{
    return malloc(24);
}

/* n narrow blocks from one call site (a loop the compiler cannot unroll). */
__attribute__((noipa)) static void narrow_blocks(void **out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = narrow_block();
}

static uint32_t site_of(void *block)
{
    struct read_block found;
    assert_true(find_block((uintptr_t)block, MEMSNAP_DOMAIN_HEAP, &found));
    return found.site_id;
}

/* (count, bytes) of a site at the peak. */
static void peak_of(uint32_t id, uint64_t *count, uint64_t *bytes)
{
    struct read_site site;
    assert_int_equal(site_by_id(id, &site), 0);
    *count = site.peak_count;
    *bytes = site.peak_bytes;
}

struct peak_sum {
    uint64_t bytes;
    struct read_site largest; /* the site with the most bytes at the peak */
};

static void add_peak(const struct read_site *site, void *arg)
{
    struct peak_sum *sum = arg;
    sum->bytes += site->peak_bytes;
    if (site->peak_bytes > sum->largest.peak_bytes)
        sum->largest = *site;
}

/* The sites' peak bytes summed (and the largest into *largest). */
static uint64_t peak_total_and_largest(struct read_site *largest)
{
    static struct peak_sum sum;
    memset(&sum, 0, sizeof sum);
    assert_true(reader_sites(own_reader(), add_peak, &sum) >= 0);
    if (largest)
        *largest = sum.largest;
    return sum.bytes;
}

static uint64_t peak_total(void)
{
    return peak_total_and_largest(NULL);
}

static void assert_peak(uint32_t id, uint64_t count, uint64_t bytes)
{
    uint64_t c, b;
    peak_of(id, &c, &b);
    assert_int_equal(c, count);
    assert_int_equal(b, bytes);
}

static void test_one_thread_exact(void **state)
{
    (void)state;
    static void *wide[WIDE], *narrow[NARROW];
    for (int i = 0; i < WIDE; i++)
        wide[i] = wide_block();
    for (int i = 0; i < NARROW; i++)
        narrow[i] = narrow_block();
    uint32_t wide_id = site_of(wide[0]), narrow_id = site_of(narrow[0]);
    /* fall: free every wide block and half the narrow ones */
    for (int i = 0; i < WIDE; i++)
        free(wide[i]);
    for (int i = 0; i < NARROW / 2; i++)
        free(narrow[i]);
    /* rise again, not as high (another call site) */
    for (int i = 0; i < WIDE / 2; i++)
        wide[i] = wide_block();
    uint32_t again_id = site_of(wide[0]);
    assert_peak(again_id, 0, 0);
    assert_peak(wide_id, WIDE, WIDE * 1000);
    assert_peak(narrow_id, NARROW, NARROW * 24);
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(peak, WIDE * 1000 + NARROW * 24);
    assert_int_equal(peak_total(), peak);
    assert_false(memsnap_root.state & MEMSNAP_STATE_DRIFT);

    /* reset_peak: now is the peak, and its snapshot is the heap now */
    assert_int_equal(memsnap_reset_peak(), 0);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(peak, current);
    assert_peak(again_id, WIDE / 2, WIDE / 2 * 1000);
    assert_peak(wide_id, 0, 0);
    assert_peak(narrow_id, NARROW / 2, NARROW / 2 * 24);
    assert_int_equal(peak_total(), current);
    /* a free right after: the peak stays the moment of the reset */
    free(narrow[NARROW - 1]);
    assert_peak(narrow_id, NARROW / 2, NARROW / 2 * 24);
    /* two blocks (another site) make a new peak, counted at once */
    void *more[2];
    narrow_blocks(more, 2);
    assert_peak(site_of(more[0]), 2, 48);
    assert_peak(narrow_id, NARROW / 2 - 1, (NARROW / 2 - 1) * 24);
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(peak, current);
    assert_int_equal(peak_total(), peak);
    free(more[0]);
    free(more[1]);

    /* a clear empties it */
    assert_int_equal(memsnap_clear_traces(), 0);
    assert_int_equal(peak_total(), 0);
    assert_peak(again_id, 0, 0);
    for (int i = 0; i < WIDE / 2; i++)
        free(wide[i]);
    for (int i = NARROW / 2; i < NARROW - 1; i++)
        free(narrow[i]);
}

#define WORKERS 3
#define PER_WORKER 2000
static pthread_barrier_t at_peak;

static void *worker(void *arg)
{
    void **blocks = arg;
    for (int i = 0; i < PER_WORKER; i++)
        blocks[i] = wide_block();
    pthread_barrier_wait(&at_peak);
    for (int i = 0; i < PER_WORKER; i++)
        free(blocks[i]);
    return NULL;
}

static void test_threads_within_the_bound(void **state)
{
    (void)state;
    static void *blocks[WORKERS][PER_WORKER];
    pthread_t ids[WORKERS];
    assert_int_equal(memsnap_reset_peak(), 0);
    pthread_barrier_init(&at_peak, NULL, WORKERS);
    for (int t = 0; t < WORKERS; t++)
        assert_int_equal(pthread_create(&ids[t], NULL, worker, blocks[t]), 0);
    for (int t = 0; t < WORKERS; t++)
        pthread_join(ids[t], NULL);
    pthread_barrier_destroy(&at_peak);
    assert_true(memsnap_root.state & MEMSNAP_STATE_DRIFT);
    static struct read_site workers_site; /* the most bytes at the peak */
    peak_total_and_largest(&workers_site);
    uint64_t count = workers_site.peak_count, bytes = workers_site.peak_bytes;
    struct table_walk walk = walk_table();
    uint64_t n = walk.threads; /* records that count (all current here) */
    uint64_t bound = (2 * n - 1) * memsnap_root.fold_bytes + (n - 1) * 1000;
    print_message("%d workers: %lu of %d blocks at the recorded peak, bound %lu bytes\n",
                  WORKERS, (unsigned long)count, WORKERS * PER_WORKER, (unsigned long)bound);
    assert_true(count <= WORKERS * PER_WORKER);
    assert_int_equal(bytes, count * 1000);
    assert_true((WORKERS * PER_WORKER - count) * 1000 <= bound);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_thread_exact, start_tracing_8_frames,
                                        stop_tracing),
        cmocka_unit_test_setup_teardown(test_threads_within_the_bound, start_tracing_8_frames,
                                        stop_tracing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
