/*
 * The environment: MEMSNAP=N sets the depth (0 = loaded, not tracing),
 * unset means 16 when preloaded and off when linked, MEMSNAP_UNWIND picks
 * the unwinder; a bad value of either gives exactly one stderr line
 * ("memsnap: MEMSNAP=abc: expected a depth 0..256; tracing off") and a
 * program that runs on untraced. Each case runs tests/unit/c/env_probe; with
 * each bad value, a real program (waste_memory) prints what it prints
 * untraced.
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

#include "memsnap/layout.h"
#include "test_support.h"

static struct child_result result;

static void probe(const char *const env[])
{
    char *argv[] = {(char *)getenv("MEMSNAP_TEST_ENV_PROBE"), "2000", NULL};
    assert_non_null(argv[0]);
    assert_int_equal(run_child(argv, env, &result), 0);
    assert_int_equal(result.exit_code, 0);
    assert_non_null(strstr(result.out, "work=ok"));
}

static void expect_out(const char *needle)
{
    if (!strstr(result.out, needle))
        fail_msg("expected \"%s\" in: %s", needle, result.out);
}

static void test_depth_values(void **state)
{
    (void)state;
    probe((const char *const[]){"MEMSNAP=1", NULL});
    expect_out("tracing=1 truncated=0 limit=1 ");
    assert_string_equal(result.err, "");
    probe((const char *const[]){"MEMSNAP=256", NULL});
    expect_out("tracing=1 truncated=0 limit=256 ");
    probe((const char *const[]){"MEMSNAP=0", NULL});
    expect_out("tracing=0 truncated=0 limit=0 ");
    expect_out("current=0 ");
    assert_string_equal(result.err, "");
}

static void test_default_depth(void **state)
{
    (void)state;
    probe(NULL); /* linked, MEMSNAP unset: off, like tracemalloc */
    expect_out("tracing=0 ");
    static char preload[4200];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", getenv("MEMSNAP_TEST_LIB"));
    probe((const char *const[]){preload, NULL});
    expect_out("tracing=1 truncated=0 limit=16 ");
    expect_out("current=48000 "); /* 1000 blocks of 32 + the array of 2000 pointers */
}

static void test_bad_depths(void **state)
{
    (void)state;
    const char *bad[] = {"abc", "257", "-1", "", "16x", " 4", "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char env[64], line[128];
        snprintf(env, sizeof env, "MEMSNAP=%s", bad[i]);
        probe((const char *const[]){env, NULL});
        expect_out("tracing=0 ");
        snprintf(line, sizeof line, "memsnap: MEMSNAP=%s: expected a depth 0..256; tracing off\n",
                 bad[i]);
        assert_string_equal(result.err, line);
    }
}

static void test_unwinder_choice(void **state)
{
    (void)state;
    probe((const char *const[]){"MEMSNAP=8", "MEMSNAP_UNWIND=fp", NULL});
    expect_out("tracing=1 ");
    expect_out("unwinder=1 ");
    probe((const char *const[]){"MEMSNAP=8", "MEMSNAP_UNWIND=wings", NULL});
    expect_out("tracing=0 ");
    assert_string_equal(result.err,
                        "memsnap: MEMSNAP_UNWIND=wings: expected auto, fp or dwarf; tracing off\n");
}

/* A real program (waste_memory, preloaded) with each bad value: its output
 * is the untraced one, and stderr has the runtime's one line. */
static void test_bad_values_leave_program_unchanged(void **state)
{
    (void)state;
    static char preload[4200];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", getenv("MEMSNAP_TEST_LIB"));
    char *argv[] = {(char *)getenv("MEMSNAP_TEST_WASTE_MEMORY"), NULL};
    assert_non_null(argv[0]);
    static struct child_result untraced;
    assert_int_equal(run_child(argv, NULL, &untraced), 0);
    const char *bad[][2] = {
        {"MEMSNAP=abc", "memsnap: MEMSNAP=abc: expected a depth 0..256; tracing off\n"},
        {"MEMSNAP_UNWIND=wings", "memsnap: MEMSNAP_UNWIND=wings: expected auto, fp or dwarf; "
                                 "tracing off\n"},
        {"MEMSNAP_HELP=2", "memsnap: MEMSNAP_HELP=2: expected 0 or 1; tracing off\n"},
        {"MEMSNAP_TEST_MMAP_FAIL_AFTER=-3", "memsnap: MEMSNAP_TEST_MMAP_FAIL_AFTER=-3: expected a "
                                            "count >= 0; tracing off\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run_child(argv, (const char *const[]){preload, bad[i][0], NULL}, &result),
                         0);
        assert_int_equal(result.exit_code, untraced.exit_code);
        assert_string_equal(result.out, untraced.out);
        assert_string_equal(result.err, bad[i][1]);
    }
}

static void test_help(void **state)
{
    (void)state;
    probe((const char *const[]){"MEMSNAP_HELP=1", NULL});
    assert_non_null(strstr(result.err, "memsnap: MEMSNAP: frames kept per allocation"));
    assert_non_null(strstr(result.err, "memsnap: MEMSNAP_UNWIND: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_values),
        cmocka_unit_test(test_default_depth),
        cmocka_unit_test(test_bad_depths),
        cmocka_unit_test(test_unwinder_choice),
        cmocka_unit_test(test_bad_values_leave_program_unchanged),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
