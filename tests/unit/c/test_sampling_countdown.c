/*
 * The sampling countdown (runtime/sampling.h, sampling.c) alone, built
 * without the rest of the runtime: a block the countdown passes costs one
 * addition to the count-up (its negation) and leaves its flags saying so,
 * also for sizes that wrap the 64-bit sum; a block that crosses it is
 * recorded and the next interval
 * drawn; the thread's first allocation draws its own; an allocation that
 * interrupts another between its crossing and its draw (a signal
 * handler's) draws its own interval and leaves the crossing to the
 * interrupted one; and over many blocks each block of size s is sampled
 * with probability 1 - exp(-s/R) (within 4 standard deviations).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sampling.h"

struct runtime_hot hot;
struct runtime_flags flags;

#define INTERVAL 1000u

static struct thread_tls tls;

static int setup(void **state)
{
    (void)state;
    memset(&tls, 0, sizeof tls);
    hot.sample_bytes = INTERVAL;
    flags.test_seed = 12345;
    return 0;
}

/* What the hooks do: 1 when the block of `size` is recorded. */
static int allocate(uint64_t size)
{
    int64_t before;
    int passes;
    COUNT_UP(tls.countup, size, before, passes);
    if (passes)
        return 0;
    return sample_crossed(&tls, size, bytes_left(before));
}

/* The bytes left before the next sampled block. */
static int64_t left(void)
{
    return -tls.countup;
}

static void test_pass_costs_an_addition(void **state)
{
    (void)state;
    tls.rng = 1;
    tls.countup = -500;
    assert_false(allocate(100));
    assert_int_equal(left(), 400);
    assert_false(allocate(399)); /* one byte left: still passes */
    assert_int_equal(left(), 1);
}

/* The flags of the one instruction: the sum taken exactly, not wrapped. */
static void test_pass_is_the_exact_sum_below_zero(void **state)
{
    (void)state;
    int64_t before;
    int passes;
    tls.countup = -500;
    COUNT_UP(tls.countup, 499, before, passes);
    assert_true(passes);
    assert_int_equal(before, -500);
    tls.countup = -500;
    COUNT_UP(tls.countup, 500, before, passes);
    assert_false(passes);
    assert_int_equal(bytes_left(before), 500);
    /* a size above INT64_MAX (a malloc that fails) wraps the sum to a
     * large positive value: the exact sum is negative, the block passes */
    tls.countup = -500;
    COUNT_UP(tls.countup, (uint64_t)INT64_MAX + 2, before, passes);
    assert_true(passes);
    /* none drawn (0) and a huge count-up: no pass, whatever the size */
    tls.countup = 0;
    COUNT_UP(tls.countup, 16, before, passes);
    assert_false(passes);
    assert_int_equal(bytes_left(before), 0);
    tls.countup = INT64_MAX - 8;
    COUNT_UP(tls.countup, 16, before, passes); /* wraps: exact sum positive */
    assert_false(passes);
    assert_true(bytes_left(before) <= 0);
}

static void test_crossing_records_and_draws(void **state)
{
    (void)state;
    tls.rng = 1;
    tls.countup = -100;
    assert_true(allocate(100)); /* reaching zero is crossing */
    assert_true(left() > 0);
}

static void test_first_allocation_draws(void **state)
{
    (void)state;
    int recorded = allocate(8);
    assert_true(tls.rng != 0);
    assert_true(left() > 0 || recorded);
    assert_true(left() > 0);
}

/* A crosses; before A draws, H (a signal handler's allocation on the same
 * thread) runs to its end; then A draws. A is recorded; H is recorded with
 * its own probability; the countdown ends with a fresh interval. */
static void test_interrupted_crossing(void **state)
{
    (void)state;
    const uint64_t a_size = 300, h_size = 200;
    unsigned h_recorded = 0, trials = 20000;
    for (unsigned i = 0; i < trials; i++) {
        tls.rng = tls.rng ? tls.rng : 1;
        tls.countup = -100;
        int64_t a_before;
        int a_passes;
        COUNT_UP(tls.countup, a_size, a_before, a_passes);
        assert_false(a_passes);
        h_recorded += (unsigned)allocate(h_size); /* the handler */
        assert_true(sample_crossed(&tls, a_size, bytes_left(a_before)));
        assert_true(left() > 0);
    }
    double p = -expm1(-(double)h_size / INTERVAL);
    double sd = sqrt(trials * p * (1 - p));
    assert_true(fabs(h_recorded - trials * p) < 4 * sd);
}

static void test_blocks_sampled_with_their_probability(void **state)
{
    (void)state;
    const uint64_t sizes[] = {16, 250, 1000, 4000};
    const unsigned n = 200000;
    unsigned recorded[4] = {0};
    for (unsigned i = 0; i < n; i++)
        for (unsigned k = 0; k < 4; k++)
            recorded[k] += (unsigned)allocate(sizes[k]);
    for (unsigned k = 0; k < 4; k++) {
        double p = -expm1(-(double)sizes[k] / INTERVAL);
        double sd = sqrt(n * p * (1 - p));
        assert_true(fabs(recorded[k] - n * p) < 4 * sd);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pass_costs_an_addition, setup),
        cmocka_unit_test_setup(test_pass_is_the_exact_sum_below_zero, setup),
        cmocka_unit_test_setup(test_crossing_records_and_draws, setup),
        cmocka_unit_test_setup(test_first_allocation_draws, setup),
        cmocka_unit_test_setup(test_interrupted_crossing, setup),
        cmocka_unit_test_setup(test_blocks_sampled_with_their_probability, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
