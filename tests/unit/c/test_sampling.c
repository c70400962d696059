/*
 * Sampling by bytes (MEMSNAP_SAMPLE): the test runs itself again with
 * MEMSNAP_SAMPLE=65536 (and a fixed MEMSNAP_TEST_SEED, so that it is
 * repeatable), allocates known numbers of blocks of five sizes from five
 * call sites, and checks that the table says it is sampled and with which
 * interval, and that each site's estimated live and total counts and bytes
 * lie within 3 standard deviations of the truth — also after half of the
 * blocks are freed. The standard deviation is the estimator's own: a block
 * of size s is recorded with p = 1 - exp(-s/R) and counts 1/p blocks and
 * s/p bytes, so n blocks give variance n (1 - p) / p (times s^2 for bytes),
 * plus at most 1/4 per recorded block for the dithered rounding. Unrecorded
 * blocks have no header, and once every block is freed the estimates are
 * back to zero. A realloc of an unrecorded block that the countdown passes
 * is the real allocator's (a shrink stays in place, as untraced); one it
 * does not pass becomes a recorded copy of the new size; contents are kept
 * either way.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

extern struct memsnap_root memsnap_root;

#define INTERVAL 65536.0
#define KINDS 5

static const size_t sizes[KINDS] = {16, 100, 1000, 10000, 100000};
static const long counts[KINDS] = {200000, 100000, 20000, 2000, 200};
static void **blocks[KINDS];

/* One call site per size. */
#define SITE(k)                                                      \
    __attribute__((noinline)) static void *site##k(void)            \
    {                                                                \
        void *p = malloc(sizes[k]);                                  \
        __asm__ volatile("" : : "r"(p) : "memory");                  \
        return p;                                                    \
    }
SITE(0)
SITE(1)
SITE(2)
SITE(3)
SITE(4)
static void *(*const sites[KINDS])(void) = {site0, site1, site2, site3, site4};

struct site_estimate {
    uint32_t id;
    struct read_site site;
};

static struct site_estimate found[KINDS];

static void find_site(const struct read_site *site, void *arg)
{
    (void)arg;
    for (int k = 0; k < KINDS; k++)
        if (site->id == found[k].id)
            found[k].site = *site;
}

/* |estimate - truth| <= 3 sigma for n blocks of size s, of which `recorded`
 * were sampled. */
static void expect_within(const char *what, int k, double estimate, double truth, double n,
                          double s, double recorded)
{
    double p = -expm1(-(double)sizes[k] / INTERVAL);
    double variance = n * (1 - p) / p * s * s + recorded / 4.0;
    double sigma = sqrt(variance);
    print_message("size %6zu %-11s estimate %12.0f truth %12.0f (%+.2f sigma, %.0f recorded)\n",
                  sizes[k], what, estimate, truth, (estimate - truth) / sigma, recorded);
    if (fabs(estimate - truth) > 3 * sigma)
        fail_msg("size %zu %s: estimate %.0f, truth %.0f, sigma %.0f", sizes[k], what, estimate,
                 truth, sigma);
}

/* The addresses of every recorded block, sorted (read once per check). */
static uint64_t recorded[1 << 16];
static size_t nrecorded;

static void collect(const struct read_block *block, void *arg)
{
    (void)arg;
    if (nrecorded < sizeof recorded / sizeof recorded[0])
        recorded[nrecorded++] = block->addr;
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Recorded blocks of kind k among blocks[k][first], [first + step], ... */
static double recorded_among(int k, long first, long n, long step)
{
    double count = 0;
    for (long i = first; i < n; i += step) {
        uint64_t key = (uintptr_t)blocks[k][i];
        count += bsearch(&key, recorded, nrecorded, sizeof key, by_value) != NULL;
    }
    return count;
}

static void check_estimates(long live_every, int check_totals)
{
    reader_sites(own_reader(), find_site, NULL);
    struct table_walk walk;
    nrecorded = 0;
    reader_blocks(own_reader(), collect, NULL, &walk);
    qsort(recorded, nrecorded, sizeof recorded[0], by_value);
    for (int k = 0; k < KINDS; k++) {
        const struct read_site *s = &found[k].site;
        double n = (double)counts[k], live = n / (double)live_every;
        double recorded_live = recorded_among(k, live_every - 1, counts[k], live_every);
        expect_within("live count", k, (double)(int64_t)s->live_count, live, live, 1,
                      recorded_live);
        expect_within("live bytes", k, (double)(int64_t)s->live_bytes, live * (double)sizes[k],
                      live, (double)sizes[k], recorded_live);
        if (check_totals) {
            expect_within("total count", k, (double)s->total_count, n, n, 1, recorded_live);
            expect_within("total bytes", k, (double)s->total_bytes, n * (double)sizes[k], n,
                          (double)sizes[k], recorded_live);
        }
    }
}

static void test_table_says_sampled(void **state)
{
    (void)state;
    assert_true(memsnap_root.state & MEMSNAP_STATE_SAMPLED);
    assert_int_equal(memsnap_root.sample_bytes, (uint64_t)INTERVAL);
}

static void test_estimates_within_three_sigma(void **state)
{
    (void)state;
    for (int k = 0; k < KINDS; k++) {
        blocks[k] = calloc((size_t)counts[k], sizeof(void *));
        for (long i = 0; i < counts[k]; i++)
            blocks[k][i] = sites[k]();
        /* the site of a recorded block of this kind */
        for (long i = 0; i < counts[k] && !found[k].id; i++) {
            struct read_block b;
            if (find_block((uintptr_t)blocks[k][i], MEMSNAP_DOMAIN_HEAP, &b))
                found[k].id = b.site_id;
        }
        assert_int_not_equal(found[k].id, 0);
    }
    check_estimates(1, 1);
    /* every other block freed: the live estimates follow */
    for (int k = 0; k < KINDS; k++)
        for (long i = 0; i < counts[k]; i += 2) {
            free(blocks[k][i]);
            blocks[k][i] = NULL;
        }
    check_estimates(2, 0);
}

static void test_unrecorded_blocks_have_no_header(void **state)
{
    (void)state;
    for (int k = 0; k < KINDS; k++)
        for (long i = 1; i < counts[k]; i += 2) {
            /* a 16-byte block is recorded 1 time in 4096: most are plain */
            assert_true(malloc_usable_size(blocks[k][i]) >= sizes[k]);
            free(blocks[k][i]);
        }
    reader_sites(own_reader(), find_site, NULL);
    for (int k = 0; k < KINDS; k++) {
        assert_int_equal(found[k].site.live_count, 0);
        assert_int_equal(found[k].site.live_bytes, 0);
    }
}

/* The recorded blocks now, by address (read once per check). */
static struct read_block table_now[1 << 14];
static size_t ntable_now;

static void collect_block(const struct read_block *block, void *arg)
{
    (void)arg;
    if (ntable_now < sizeof table_now / sizeof table_now[0])
        table_now[ntable_now++] = *block;
}

static int by_addr(const void *a, const void *b)
{
    uint64_t x = ((const struct read_block *)a)->addr, y = ((const struct read_block *)b)->addr;
    return x < y ? -1 : x > y;
}

static void read_table_now(void)
{
    struct table_walk walk;
    ntable_now = 0;
    reader_blocks(own_reader(), collect_block, NULL, &walk);
    assert_true(ntable_now < sizeof table_now / sizeof table_now[0]);
    qsort(table_now, ntable_now, sizeof table_now[0], by_addr);
}

static const struct read_block *recorded_block(const void *ptr)
{
    struct read_block key = {.addr = (uintptr_t)ptr};
    return bsearch(&key, table_now, ntable_now, sizeof key, by_addr);
}

static int holds(const unsigned char *p, size_t n, unsigned char byte)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != byte)
            return 0;
    return 1;
}

#define REALLOCS 20000

/* Each of `blocks` reallocated to `size`, then checked: contents (the
 * first `keep` bytes) kept; if recorded, with `size`; when `shrink`, a
 * block that was not recorded stays where it was exactly when it is still
 * not recorded. Returns how many of the unrecorded ones stayed, and
 * *unrecorded how many there were. */
static long realloc_all(unsigned char **blocks, size_t size, size_t keep, int shrink,
                        long *unrecorded)
{
    static unsigned char *was[REALLOCS];
    static int was_recorded[REALLOCS];
    read_table_now();
    *unrecorded = 0;
    for (long i = 0; i < REALLOCS; i++) {
        was[i] = blocks[i];
        was_recorded[i] = recorded_block(blocks[i]) != NULL;
        *unrecorded += !was_recorded[i];
    }
    for (long i = 0; i < REALLOCS; i++) {
        blocks[i] = realloc(blocks[i], size);
        assert_non_null(blocks[i]);
    }
    read_table_now();
    long stayed = 0;
    for (long i = 0; i < REALLOCS; i++) {
        assert_true(holds(blocks[i], keep, (unsigned char)i));
        const struct read_block *b = recorded_block(blocks[i]);
        if (b)
            assert_int_equal(b->size, size);
        if (!was_recorded[i]) {
            stayed += blocks[i] == was[i];
            if (shrink)
                assert_true((blocks[i] == was[i]) == !b);
        }
        memset(blocks[i], (unsigned char)i, size);
    }
    return stayed;
}

static void test_realloc_of_unrecorded_blocks(void **state)
{
    (void)state;
    static unsigned char *blocks[REALLOCS];
    read_table_now();
    size_t before = ntable_now;
    long plain;
    for (long i = 0; i < REALLOCS; i++) {
        blocks[i] = malloc(200);
        memset(blocks[i], (unsigned char)i, 200);
    }
    /* p = 1 - exp(-100/R) ~ 0.15% of the shrinks are recorded copies */
    long stayed = realloc_all(blocks, 100, 100, 1, &plain);
    print_message("%ld of %ld unrecorded blocks shrunk in place\n", stayed, plain);
    assert_true(stayed > plain - 200);
    realloc_all(blocks, 3000, 100, 0, &plain); /* grown: moved or not, glibc's choice */
    for (long i = 0; i < REALLOCS; i++)
        free(blocks[i]);
    read_table_now();
    assert_int_equal(ntable_now, before);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (!getenv("MEMSNAP_SAMPLE")) {
        /* the runtime reads its variables at start-up: run again with them */
        setenv("MEMSNAP_SAMPLE", "65536", 1);
        setenv("MEMSNAP_TEST_SEED", "12345", 1);
        setenv("MEMSNAP", "8", 1);
        execv("/proc/self/exe", argv);
        return 127;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_says_sampled),
        cmocka_unit_test(test_estimates_within_three_sigma),
        cmocka_unit_test(test_unrecorded_blocks_have_no_header),
        cmocka_unit_test(test_realloc_of_unrecorded_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
