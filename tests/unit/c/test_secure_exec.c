/*
 * Secure execution (issue 13): a setuid program linked with the runtime
 * ignores every MEMSNAP* variable (AT_SECURE), the testing-only mmap
 * failure hook included. tests/c/secure_probe (env_probe built with an
 * absolute RUNPATH, which secure execution still honours) is copied into a
 * temporary directory, given to `nobody` with the set-user-ID bit and run
 * by root, so its effective uid differs from its real uid. The same copy
 * without the bit must honour the variables (or the test could not fail).
 * Needs root: skipped otherwise.
 */
#define _GNU_SOURCE
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_support.h"

/* Every variable the runtime reads, each set to what would show. */
static const char *const memsnap_env[] = {
    "MEMSNAP=8", "MEMSNAP_UNWIND=fp", "MEMSNAP_HELP=1", "MEMSNAP_TEST_MMAP_FAIL_AFTER=0", NULL,
};

static char dir[64], copy[128];

static void run_copy(struct child_result *result)
{
    char *argv[] = {copy, "2000", NULL};
    assert_int_equal(run_child(argv, memsnap_env, result), 0);
    assert_int_equal(result->exit_code, 0);
    assert_non_null(strstr(result->out, "work=ok"));
}

static void test_plain_copy_honours_variables(void **state)
{
    (void)state;
    static struct child_result result;
    run_copy(&result);
    /* the hook failed the first mapping; fp chosen; help printed */
    assert_non_null(strstr(result.out, "tracing=0 truncated=1 limit=0 unwinder=1 "));
    assert_non_null(strstr(result.err, "memsnap: MEMSNAP_UNWIND: "));
    assert_non_null(strstr(result.err, "memsnap: out of memory for the trace table"));
}

static void test_setuid_copy_ignores_variables(void **state)
{
    (void)state;
    struct passwd *nobody = getpwnam("nobody");
    assert_non_null(nobody);
    assert_int_equal(chown(copy, nobody->pw_uid, nobody->pw_gid), 0);
    assert_int_equal(chmod(copy, 04755), 0);
    static struct child_result result;
    run_copy(&result);
    /* linked, MEMSNAP ignored: not tracing; the default unwinder (DWARF,
     * 2); no mapping failed; nothing printed */
    if (!strstr(result.out, "tracing=0 truncated=0 limit=0 unwinder=2 "))
        fail_msg("setuid copy printed: %s", result.out);
    assert_string_equal(result.err, "");
}

int main(void)
{
    if (geteuid() != 0) {
        printf("SKIP: needs root (chown to nobody of a set-user-ID copy)\n");
        return 77;
    }
    const char *probe = getenv("MEMSNAP_TEST_SECURE_PROBE");
    if (!probe) {
        printf("MEMSNAP_TEST_SECURE_PROBE is not set (run through meson test)\n");
        return 1;
    }
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/memsnap-secure-XXXXXX", tmp);
    if (!mkdtemp(dir))
        return 1;
    chmod(dir, 0755); /* the program runs as nobody */
    snprintf(copy, sizeof copy, "%s/secure_probe", dir);
    if (copy_file(probe, copy, 0755) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_copy_honours_variables),
        cmocka_unit_test(test_setuid_copy_ignores_variables),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(copy);
    rmdir(dir);
    return failed;
}
