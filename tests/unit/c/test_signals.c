/*
 * Signals: a CPU-time timer (a few hundred ticks) interrupts a thread that keeps allocating,
 * often in the middle of a hook, and the handler calls
 * memsnap_track/untrack. Nothing deadlocks (the handler gets -EBUSY when it
 * interrupted the runtime itself), and at the end the table is consistent:
 * nothing in flight, current bytes equal to the table's blocks, every
 * range the handler tracked (and did not untrack) present in its domain.
 * Runs with MEMSNAP_UNWIND=fp (set by meson): the handler must not reach
 * libdw, which allocates.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

extern struct memsnap_root memsnap_root;

#define SIGNAL_DOMAIN 5u
#define RANGES 64

static volatile sig_atomic_t handled, busy;
static volatile unsigned char tracked[RANGES];

static void on_tick(int sig)
{
    (void)sig;
    int saved = errno;
    unsigned i = (unsigned)handled % RANGES;
    uintptr_t addr = 0x7000000 + 64u * i;
    int rc = tracked[i] ? memsnap_untrack(SIGNAL_DOMAIN, addr)
                        : memsnap_track(SIGNAL_DOMAIN, addr, 64);
    if (rc == 0)
        tracked[i] = !tracked[i];
    else if (rc == -EBUSY)
        busy++;
    else
        abort();
    handled++;
    errno = saved;
}

static void test_handler_interrupting_hooks(void **state)
{
    (void)state;
    assert_int_equal(memsnap_start(16), 0);
    assert_int_equal(memsnap_root.unwinder, MEMSNAP_UNWINDER_FP);
    timer_t timer = tick_timer_start(on_tick, 20000);

    void *ring[256] = {0};
    for (long i = 0; handled < 300 && i < 200000000; i++) {
        int k = (int)(i % 256);
        free(ring[k]);
        ring[k] = malloc(8 + (size_t)(i % 100));
    }
    tick_timer_stop(timer);
    assert_true(handled > 100);
    print_message("%d of %d ticks interrupted the runtime (-EBUSY)\n", (int)busy, (int)handled);

    for (unsigned i = 0; i < RANGES; i++)
        assert_int_equal(find_block(0x7000000 + 64u * i, SIGNAL_DOMAIN, NULL), tracked[i]);
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    struct table_walk walk = walk_table();
    assert_int_equal(walk.bytes, current);
    assert_int_equal(walk.in_flight, 0);
    for (int k = 0; k < 256; k++)
        free(ring[k]);
    memsnap_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handler_interrupting_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
