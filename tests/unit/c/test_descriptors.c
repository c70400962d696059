/*
 * The runtime owns no descriptor of the program's (issue 13): each case
 * runs tests/c/descriptor_probe untraced, then preloaded with MEMSNAP=0
 * (loaded, not tracing) and with the default depth and unwinder, and
 * expects the same output every time. A program that starts with only 0,
 * 1 and 2, allocates, closes every descriptor above 2, opens a log (which
 * gets a number the runtime's libdw had) and then dlopens a plugin keeps
 * writing its log (the runtime used to close the log's number when libdw
 * let go of the files it had opened before the dlopen: write failed with
 * EBADF); an exec chain of 50
 * generations ends with the descriptors the untraced chain has (the
 * runtime's leaked across every exec); and the same chain under
 * RLIMIT_NOFILE 64 runs to its end.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_support.h"

static const char *need_env(const char *name)
{
    const char *value = getenv(name);
    if (!value)
        fail_msg("%s is not set (run through meson test)", name);
    return value;
}

/* The environments each case runs in: untraced first. */
static const char *const *environments(int which)
{
    static char preload[4200];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", need_env("MEMSNAP_TEST_LIB"));
    static const char *loaded[] = {preload, "MEMSNAP=0", NULL};
    static const char *traced[] = {preload, NULL};
    return which == 0 ? NULL : which == 1 ? loaded : traced;
}
static const char *const environment_names[] = {"untraced", "MEMSNAP=0", "traced"};

/* Runs the probe with `args` in each environment; the output of every run
 * must be the untraced one, and the runtime must print nothing. */
static void same_output_everywhere(char *const args[], const char *log_path)
{
    static struct child_result untraced, run;
    char untraced_log[256] = "";
    for (int which = 0; which < 3; which++) {
        struct child_result *result = which == 0 ? &untraced : &run;
        assert_int_equal(run_child(args, environments(which), result), 0);
        if (result->exit_code != 0 || strcmp(result->err, "") != 0)
            fail_msg("%s: exit %d, stderr: %s", environment_names[which], result->exit_code,
                     result->err);
        if (which > 0 && strcmp(run.out, untraced.out) != 0)
            fail_msg("%s output:\n%s\nuntraced output:\n%s", environment_names[which], run.out,
                     untraced.out);
        if (log_path) {
            char log[256] = "";
            FILE *f = fopen(log_path, "r");
            assert_non_null(f);
            size_t n = fread(log, 1, sizeof log - 1, f);
            log[n] = 0;
            fclose(f);
            if (which == 0)
                memcpy(untraced_log, log, sizeof log);
            else if (strcmp(log, untraced_log) != 0)
                fail_msg("%s log:\n%s\nuntraced log:\n%s", environment_names[which], log,
                         untraced_log);
        }
    }
    print_message("%s", untraced.out);
}

static void test_log_written_after_dlopen(void **state)
{
    (void)state;
    char dir[] = "/tmp/memsnap-descriptors-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char log_path[sizeof dir + 16];
    snprintf(log_path, sizeof log_path, "%s/log", dir);
    char *args[] = {(char *)need_env("MEMSNAP_TEST_DESCRIPTOR_PROBE"), "log", log_path,
                    (char *)need_env("MEMSNAP_TEST_DESCRIPTOR_PLUGIN"), NULL};
    same_output_everywhere(args, log_path);
    unlink(log_path);
    rmdir(dir);
}

static void test_exec_chain_keeps_descriptors(void **state)
{
    (void)state;
    char *args[] = {(char *)need_env("MEMSNAP_TEST_DESCRIPTOR_PROBE"), "chain", "50", NULL};
    same_output_everywhere(args, NULL);
}

static void test_exec_chain_under_nofile_64(void **state)
{
    (void)state;
    char *args[] = {(char *)need_env("MEMSNAP_TEST_DESCRIPTOR_PROBE"), "chain", "50", "64",
                    NULL};
    same_output_everywhere(args, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_written_after_dlopen),
        cmocka_unit_test(test_exec_chain_keeps_descriptors),
        cmocka_unit_test(test_exec_chain_under_nofile_64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
