/*
 * The seed example end to end, without a debugger: runs waste_memory under
 * LD_PRELOAD=libmemsnap.so, stops it at exit with ptrace (its 10,000 objects
 * are still live), and reads its trace table out of /proc/PID/mem through the
 * documented layout alone (tests/unit/c/layout_reader.c). Expects exactly 10,000
 * live blocks of 100 bytes at the data buffer's stack
 * (MyObject_new <- get_data <- run <- main, the data line), 10,000 of 48 at
 * the object line, 100 of 800 at the array line, and the table's blocks
 * summing to root.current_bytes. The runtime's own allocations (libdw's, on
 * the DWARF unwinder's cache misses) are its memory, not untraced blocks:
 * root.untraced is 0 and root.runtime_bytes is exactly the sum of
 * root.mappings. Once per unwinder (fp, and the default).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "elf_symbols.h"
#include "layout_reader.h"

struct function_range {
    const char *name;
    uint64_t lo, hi;
};

struct seen {
    uint64_t sizes_by_site[64][2]; /* [site id] -> {count of 100-byte blocks, total bytes} */
    uint64_t all_bytes;
};

static const char *need_env(const char *name)
{
    const char *value = getenv(name);
    if (!value)
        fail_msg("%s is not set (run through meson test)", name);
    return value;
}

static int source_line_of(const char *source, const char *marker)
{
    FILE *f = fopen(source, "r");
    assert_non_null(f);
    char line[512];
    int number = 0, found = 0;
    while (fgets(line, sizeof line, f)) {
        number++;
        if (strstr(line, marker)) {
            found = number;
            break;
        }
    }
    fclose(f);
    return found;
}

static void tally(const struct read_block *block, void *arg)
{
    struct seen *seen = arg;
    seen->all_bytes += block->size;
    if (block->size == 100 && block->site_id < 64) {
        seen->sizes_by_site[block->site_id][0]++;
        seen->sizes_by_site[block->site_id][1] += block->size;
    }
}

static void expect_pc_in(uint64_t pc, const struct function_range *f)
{
    if (pc < f->lo || pc > f->hi)
        fail_msg("pc %#lx is not in %s [%#lx, %#lx]", (unsigned long)pc, f->name,
                 (unsigned long)f->lo, (unsigned long)f->hi);
}

struct site_query {
    uint64_t count, bytes;
    int matches;
    struct read_site site;
};

static void find_site(const struct read_site *site, void *arg)
{
    struct site_query *q = arg;
    if (site->live_count == q->count && site->live_bytes == q->bytes) {
        q->matches++;
        q->site = *site;
    }
}

static void check_addr2line(const char *exe, uint64_t offset, const char *file, int line)
{
    char cmd[1024], out[1024] = "";
    snprintf(cmd, sizeof cmd, "addr2line -e '%s' 0x%lx", exe, (unsigned long)offset);
    FILE *p = popen(cmd, "r");
    if (!p)
        return; /* no binutils: the function ranges were checked already */
    if (!fgets(out, sizeof out, p))
        out[0] = 0;
    pclose(p);
    char want[256];
    snprintf(want, sizeof want, "%s:%d", file, line);
    if (!strstr(out, want))
        fail_msg("addr2line of %#lx gave %s, expected %s", (unsigned long)offset, out, want);
}

/* Exactly one site holds `count` blocks of `bytes` in all, its innermost
 * frame lies in `caller`, and addr2line puts that frame on the source line
 * carrying `marker`. */
static void expect_one_site(struct layout_reader *reader, uint64_t count, uint64_t bytes,
                            const struct function_range *caller, const char *exe,
                            uint64_t exe_base, const char *source, const char *marker)
{
    struct site_query query = {count, bytes, 0, {0}};
    reader_sites(reader, find_site, &query);
    assert_int_equal(query.matches, 1);
    expect_pc_in(query.site.pcs[0], caller);
    check_addr2line(exe, query.site.pcs[0] - 1 - exe_base, "waste_memory.c",
                    source_line_of(source, marker));
}

static void run_traced(const char *unwinder)
{
    const char *lib = need_env("MEMSNAP_TEST_LIB");
    const char *exe = need_env("MEMSNAP_TEST_WASTE_MEMORY");
    const char *source = need_env("MEMSNAP_TEST_WASTE_SOURCE");

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        setenv("LD_PRELOAD", lib, 1);
        if (unwinder)
            setenv("MEMSNAP_UNWIND", unwinder, 1);
        else
            unsetenv("MEMSNAP_UNWIND");
        unsetenv("MEMSNAP");
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execl(exe, exe, (char *)NULL);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSTOPPED(status)); /* the exec stop */
    assert_int_equal(ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)PTRACE_O_TRACEEXIT), 0);
    assert_int_equal(ptrace(PTRACE_CONT, pid, NULL, NULL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSTOPPED(status));
    assert_int_equal(status >> 8, SIGTRAP | (PTRACE_EVENT_EXIT << 8));

    /* The process is stopped at exit, its memory intact. */
    char mem_path[64];
    snprintf(mem_path, sizeof mem_path, "/proc/%d/mem", (int)pid);
    int fd = open(mem_path, O_RDONLY);
    assert_true(fd >= 0);
    uint64_t lib_base, root_value, root_size, exe_base;
    assert_int_equal(mapped_base(pid, lib, &lib_base), 0);
    assert_int_equal(elf_symbol(lib, "memsnap_root", &root_value, &root_size), 0);
    assert_int_equal(mapped_base(pid, exe, &exe_base), 0);

    struct function_range chain[4] = {{"MyObject_new", 0, 0}, {"get_data", 0, 0},
                                      {"run", 0, 0}, {"main", 0, 0}};
    for (int i = 0; i < 4; i++) {
        uint64_t value, size;
        assert_int_equal(elf_symbol(exe, chain[i].name, &value, &size), 0);
        chain[i].lo = exe_base + value;
        chain[i].hi = exe_base + value + size;
    }

    struct layout_reader reader;
    assert_int_equal(reader_open(&reader, read_proc_mem, &fd, lib_base + root_value), 0);
    uint64_t state = reader_get(&reader, reader.root, "root.state");
    assert_true(state & MEMSNAP_STATE_TRACING);
    assert_false(state & MEMSNAP_STATE_TRUNCATED);
    assert_int_equal(reader_get(&reader, reader.root, "root.traceback_limit"), 16);
    uint64_t expected_unwinder = (unwinder && strcmp(unwinder, "fp") == 0)
                                     ? MEMSNAP_UNWINDER_FP
                                     : reader_get(&reader, reader.root, "root.unwinder");
    assert_int_equal(reader_get(&reader, reader.root, "root.unwinder"), expected_unwinder);

    static struct seen seen;
    memset(&seen, 0, sizeof seen);
    struct table_walk walk;
    assert_int_equal(reader_blocks(&reader, tally, &seen, &walk), 0);
    assert_int_equal(walk.in_flight, 0);
    assert_int_equal(walk.bytes, reader_get(&reader, reader.root, "root.current_bytes"));

    /* The data line: exactly 10,000 live blocks of 100 bytes, one stack. */
    struct site_query data = {10000, 1000000, 0, {0}};
    assert_true(reader_sites(&reader, find_site, &data) > 0);
    assert_int_equal(data.matches, 1);
    assert_int_equal(data.site.domain, MEMSNAP_DOMAIN_HEAP);
    assert_true(data.site.nframes >= 4);
    assert_true(data.site.total_nframes >= data.site.nframes);
    for (int i = 0; i < 4; i++)
        expect_pc_in(data.site.pcs[i], &chain[i]);
    assert_true(data.site.id < 64);
    assert_int_equal(seen.sizes_by_site[data.site.id][0], 10000);
    assert_int_equal(seen.sizes_by_site[data.site.id][1], 1000000);
    check_addr2line(exe, data.site.pcs[0] - 1 - exe_base, "waste_memory.c",
                    source_line_of(source, "/* data line */"));

    /* The object line and the array line. */
    expect_one_site(&reader, 10000, 480000, &chain[0], exe, exe_base, source, "/* object line */");
    expect_one_site(&reader, 100, 80000, &chain[1], exe, exe_base, source, "/* array line */");

    /* Nothing the program allocated went unrecorded, and every byte of the
     * runtime (its internal heap included) is on root.mappings. */
    assert_int_equal(reader_get(&reader, reader.root, "root.untraced"), 0);
    uint64_t mapped = 0;
    unsigned nmappings = 0;
    for (uint64_t m = reader_get(&reader, reader.root, "root.mappings"); m && nmappings < 100000;
         m = reader_get(&reader, m, "mapping.next"), nmappings++)
        mapped += reader_get(&reader, m, "mapping.size");
    assert_int_equal(mapped, reader_get(&reader, reader.root, "root.runtime_bytes"));

    close(fd);
    assert_int_equal(ptrace(PTRACE_CONT, pid, NULL, NULL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_frame_pointer_unwinder(void **state)
{
    (void)state;
    run_traced("fp");
}

static void test_default_unwinder(void **state)
{
    (void)state;
    run_traced(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_pointer_unwinder),
        cmocka_unit_test(test_default_unwinder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
