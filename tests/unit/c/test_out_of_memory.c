/*
 * Out of memory for the trace table (mmap failure injected with the
 * testing-only MEMSNAP_TEST_MMAP_FAIL_AFTER): tracing stops, exactly one
 * stderr line says so, the table is marked truncated, and the program runs
 * on with correct results; blocks freed afterwards still leave the table.
 * Also the failure at start-up (no mapping at all), after which every
 * allocation counts in root.untraced.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_support.h"

static const char oom_line[] =
    "memsnap: out of memory for the trace table; tracing stopped, traces truncated\n";

static void probe(const char *fail_after, struct child_result *result)
{
    char *argv[] = {(char *)getenv("MEMSNAP_TEST_ENV_PROBE"), "200000", NULL};
    char env[80];
    snprintf(env, sizeof env, "MEMSNAP_TEST_MMAP_FAIL_AFTER=%s", fail_after);
    const char *const envs[] = {"MEMSNAP=8", env, NULL};
    assert_non_null(argv[0]);
    assert_int_equal(run_child(argv, envs, result), 0);
}

static void test_runs_on_truncated(void **state)
{
    (void)state;
    static struct child_result result;
    /* a few mappings succeed (depot, thread records), then a chunk fails */
    probe("8", &result);
    assert_int_equal(result.exit_code, 0);
    assert_string_equal(result.err, oom_line);
    assert_non_null(strstr(result.out, "tracing=0 truncated=1 "));
    assert_non_null(strstr(result.out, "work=ok"));
}

static void test_fails_at_start_up(void **state)
{
    (void)state;
    static struct child_result result;
    probe("0", &result);
    assert_int_equal(result.exit_code, 0);
    assert_string_equal(result.err, oom_line);
    assert_non_null(strstr(result.out, "tracing=0 truncated=1 "));
    assert_non_null(strstr(result.out, "current=0 "));
    assert_non_null(strstr(result.out, "work=ok"));
    /* tracing was asked for (MEMSNAP=8): every allocation it missed is
     * counted, the array of pointers and the 200000 blocks */
    assert_non_null(strstr(result.out, " untraced=200001\n"));
}

static void test_enough_memory_is_not_truncated(void **state)
{
    (void)state;
    static struct child_result result;
    probe("100000", &result);
    assert_int_equal(result.exit_code, 0);
    assert_string_equal(result.err, "");
    assert_non_null(strstr(result.out, "tracing=1 truncated=0 "));
    assert_non_null(strstr(result.out, "current=4800000 "));
    assert_non_null(strstr(result.out, " untraced=0\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_on_truncated),
        cmocka_unit_test(test_fails_at_start_up),
        cmocka_unit_test(test_enough_memory_is_not_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
