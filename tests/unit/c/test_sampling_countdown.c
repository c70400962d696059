/*
 * The sampling countdown (runtime/sampling.h, sampling.c) alone, built
 * without the rest of the runtime: a block the countdown passes costs one
 * subtraction; a block that crosses it is recorded and the next interval
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
    int64_t before = countdown_sub(&tls, size);
    if (countdown_passes(before, size))
        return 0;
    return sample_crossed(&tls, size, before);
}

static void test_pass_costs_a_subtraction(void **state)
{
    (void)state;
    tls.rng = 1;
    tls.countdown = 500;
    assert_false(allocate(100));
    assert_int_equal(tls.countdown, 400);
}

static void test_crossing_records_and_draws(void **state)
{
    (void)state;
    tls.rng = 1;
    tls.countdown = 100;
    assert_true(allocate(100)); /* reaching zero is crossing */
    assert_true(tls.countdown > 0);
}

static void test_first_allocation_draws(void **state)
{
    (void)state;
    int recorded = allocate(8);
    assert_true(tls.rng != 0);
    assert_true(tls.countdown > 0 || recorded);
    assert_true(tls.countdown > 0);
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
        tls.countdown = 100;
        int64_t a_before = countdown_sub(&tls, a_size);
        assert_false(countdown_passes(a_before, a_size));
        h_recorded += (unsigned)allocate(h_size); /* the handler */
        assert_true(sample_crossed(&tls, a_size, a_before));
        assert_true(tls.countdown > 0);
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
        cmocka_unit_test_setup(test_pass_costs_a_subtraction, setup),
        cmocka_unit_test_setup(test_crossing_records_and_draws, setup),
        cmocka_unit_test_setup(test_first_allocation_draws, setup),
        cmocka_unit_test_setup(test_interrupted_crossing, setup),
        cmocka_unit_test_setup(test_blocks_sampled_with_their_probability, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
