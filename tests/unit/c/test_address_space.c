/*
 * The runtime under an address-space limit (RLIMIT_AS, ulimit -v; issue 13),
 * with tests/c/address_space_probe preloaded. Each limit is the untraced
 * program's own VmPeak plus a margin, so it is the program's real need.
 *   - A C++ program that needs about 330 MiB runs traced under its need +
 *     48 MiB, as it does untraced (the runtime used to reserve 256 MiB of
 *     address space up front, and the program aborted on std::bad_alloc).
 *   - With a margin of 24 MiB, far from what tracing a million blocks
 *     takes, the runtime's own mmaps fail for real: the program lives and
 *     prints what it prints untraced, stderr has exactly the runtime's one
 *     line (errno untouched by the runtime's failed mmaps), and the table
 *     read at exit (/proc/PID/mem) says truncated, not tracing, with every
 *     block missing from it counted in root.untraced.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "elf_symbols.h"
#include "memsnap/layout.h"
#include "test_support.h"

#define MIB (1ull << 20)
#define SMALL_BLOCKS 1000000

static const char *need_env(const char *name)
{
    const char *value = getenv(name);
    if (!value)
        fail_msg("%s is not set (run through meson test)", name);
    return value;
}

static const char *preload(void)
{
    static char line[4200];
    snprintf(line, sizeof line, "LD_PRELOAD=%s", need_env("MEMSNAP_TEST_LIB"));
    return line;
}

/* The untraced probe's VmPeak, in bytes, for these arguments. */
static uint64_t untraced_peak(const char *mode, const char *count)
{
    static struct child_result result;
    char *argv[] = {(char *)need_env("MEMSNAP_TEST_ADDRESS_PROBE"), (char *)mode, (char *)count,
                    "peak", NULL};
    assert_int_equal(run_child(argv, NULL, &result), 0);
    assert_int_equal(result.exit_code, 0);
    const char *line = strstr(result.out, "VmPeak ");
    assert_non_null(line);
    return (uint64_t)atol(line + 7) * 1024;
}

static void run_limited(const char *mode, const char *count, uint64_t limit,
                        const char *const env[], struct child_options *options,
                        struct child_result *result)
{
    char *argv[] = {(char *)need_env("MEMSNAP_TEST_ADDRESS_PROBE"), (char *)mode, (char *)count,
                    NULL};
    struct child_options plain = {0};
    if (!options)
        options = &plain;
    options->address_limit = limit;
    assert_int_equal(run_child_with(argv, env, options, result), 0);
}

static void test_program_near_its_limit(void **state)
{
    (void)state;
    uint64_t limit = untraced_peak("big", "320") + 48 * MIB;
    static struct child_result untraced, traced;
    run_limited("big", "320", limit, NULL, NULL, &untraced);
    assert_int_equal(untraced.exit_code, 0);
    const char *loaded[] = {preload(), "MEMSNAP=0", NULL};
    const char *tracing[] = {preload(), NULL};
    const char *const *envs[] = {loaded, tracing};
    for (int i = 0; i < 2; i++) {
        run_limited("big", "320", limit, envs[i], NULL, &traced);
        if (traced.exit_code != 0)
            fail_msg("%s: exit %d under ulimit -v %lu kB: %s", envs[i][1] ? "MEMSNAP=0" : "traced",
                     traced.exit_code, (unsigned long)(limit / 1024), traced.err);
        assert_string_equal(traced.out, untraced.out);
        assert_string_equal(traced.err, "");
    }
}

/* What the table of the stopped probe says. */
struct table_at_exit {
    uint64_t state, untraced, small_blocks, blocks;
};

static void count_small(const struct read_block *block, void *arg)
{
    struct table_at_exit *seen = arg;
    seen->small_blocks += block->size == 40;
}

static void read_table(pid_t pid, void *arg)
{
    struct table_at_exit *seen = arg;
    const char *lib = need_env("MEMSNAP_TEST_LIB");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint64_t base, root, size;
    struct layout_reader reader;
    if (fd < 0 || mapped_base(pid, lib, &base) != 0 ||
        elf_symbol(lib, "memsnap_root", &root, &size) != 0 ||
        reader_open(&reader, read_proc_mem, &fd, base + root) != 0)
        return;
    seen->state = reader_get(&reader, reader.root, "root.state");
    seen->untraced = reader_get(&reader, reader.root, "root.untraced");
    struct table_walk walk;
    if (reader_blocks(&reader, count_small, seen, &walk) == 0)
        seen->blocks = walk.blocks;
    close(fd);
}

static void test_runtime_out_of_address_space(void **state)
{
    (void)state;
    char count[16];
    snprintf(count, sizeof count, "%d", SMALL_BLOCKS);
    uint64_t limit = untraced_peak("small", count) + 24 * MIB;
    static struct child_result untraced, traced;
    run_limited("small", count, limit, NULL, NULL, &untraced);
    assert_int_equal(untraced.exit_code, 0);
    static struct table_at_exit seen;
    struct child_options options = {0, read_table, &seen};
    const char *tracing[] = {preload(), NULL};
    run_limited("small", count, limit, tracing, &options, &traced);
    assert_int_equal(traced.exit_code, 0);
    assert_string_equal(traced.out, untraced.out);
    assert_string_equal(traced.err,
                        "memsnap: out of memory for the trace table; tracing stopped, "
                        "traces truncated\n");
    assert_true(seen.state & MEMSNAP_STATE_TRUNCATED);
    assert_false(seen.state & MEMSNAP_STATE_TRACING);
    print_message("ulimit -v %lu kB: %lu of %d blocks in the table, untraced %lu\n",
                  (unsigned long)(limit / 1024), (unsigned long)seen.small_blocks, SMALL_BLOCKS,
                  (unsigned long)seen.untraced);
    assert_true(seen.small_blocks > 0 && seen.small_blocks < SMALL_BLOCKS);
    /* Every block the table lacks is counted, and one allocation more:
     * stdout's buffer, allocated by the final printf. */
    assert_int_equal(seen.untraced, SMALL_BLOCKS - seen.small_blocks + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_program_near_its_limit),
        cmocka_unit_test(test_runtime_out_of_address_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
