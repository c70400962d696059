/*
 * Allocation epochs: every block records root.epoch as it was when the
 * block was allocated, and a debugger that snapshots a live process adds 1
 * to root.epoch, so "allocated after snapshot A, still live at B" is "live
 * at B with birth > A's epoch". In process: blocks allocated before and
 * after a bump carry the two epochs, and the blocks born after it are
 * exactly those allocated after it and still live. Across processes, the
 * way a debugger does it: a running traced program (churn_threads) is
 * stopped, root.epoch written through /proc/PID/mem, resumed, stopped
 * again: new blocks carry the new epoch and none a later one.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "elf_symbols.h"
#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

extern struct memsnap_root memsnap_root;

struct births {
    uint32_t epoch;
    uint64_t born_after, born_at, born_later;
};

static void count_births(const struct read_block *block, void *arg)
{
    struct births *b = arg;
    b->born_after += block->birth > b->epoch;
    b->born_at += block->birth == b->epoch;
    b->born_later += block->birth > b->epoch + 1;
}

static void test_blocks_carry_their_epoch(void **state)
{
    (void)state;
    uint32_t a = memsnap_root.epoch;
    void *before[100], *after[50];
    for (int i = 0; i < 100; i++)
        before[i] = malloc(10);
    memsnap_root.epoch = a + 1; /* what a debugger's snapshot does */
    for (int i = 0; i < 50; i++)
        after[i] = malloc(20);
    for (int i = 0; i < 50; i += 2)
        free(after[i]); /* allocated after A, gone by B */
    struct read_block block;
    assert_true(find_block((uintptr_t)before[0], MEMSNAP_DOMAIN_HEAP, &block));
    assert_int_equal(block.birth, a);
    assert_true(find_block((uintptr_t)after[1], MEMSNAP_DOMAIN_HEAP, &block));
    assert_int_equal(block.birth, a + 1);
    struct births b = {.epoch = a};
    struct table_walk walk;
    reader_blocks(own_reader(), count_births, &b, &walk);
    assert_int_equal(b.born_after, 25); /* since A, still live */
    assert_int_equal(b.born_later, 0);
    for (int i = 0; i < 100; i++)
        free(before[i]);
    for (int i = 1; i < 50; i += 2)
        free(after[i]);
}

/* Stops pid and opens its memory; returns the fd. */
static int stop_and_open(pid_t pid)
{
    assert_int_equal(kill(pid, SIGSTOP), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    return fd;
}

static void test_a_debugger_bumps_the_epoch(void **state)
{
    (void)state;
    const char *lib = getenv("MEMSNAP_TEST_LIB"), *exe = getenv("MEMSNAP_TEST_CHURN");
    assert_non_null(lib);
    assert_non_null(exe);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(ready[1], 1);
        setenv("LD_PRELOAD", lib, 1);
        unsetenv("MEMSNAP");
        execl(exe, exe, "2", (char *)NULL);
        _exit(127);
    }
    close(ready[1]);
    char line[32];
    assert_true(read(ready[0], line, sizeof line) > 0);

    int fd = stop_and_open(pid);
    uint64_t base, value, size;
    assert_int_equal(mapped_base(pid, lib, &base), 0);
    assert_int_equal(elf_symbol(lib, "memsnap_root", &value, &size), 0);
    struct layout_reader reader;
    assert_int_equal(reader_open(&reader, read_proc_mem, &fd, base + value), 0);
    uint32_t offset;
    assert_int_equal(reader_field(&reader, "root.epoch", &offset, NULL), 0);
    uint32_t epoch = (uint32_t)reader_get(&reader, reader.root, "root.epoch") + 41;
    assert_int_equal(pwrite(fd, &epoch, sizeof epoch, (off_t)(reader.root + offset)), 4);
    close(fd);
    assert_int_equal(kill(pid, SIGCONT), 0);
    struct timespec run = {0, 30 * 1000 * 1000};
    nanosleep(&run, NULL);

    fd = stop_and_open(pid);
    assert_int_equal(reader_open(&reader, read_proc_mem, &fd, base + value), 0);
    struct births b = {.epoch = epoch};
    struct table_walk walk;
    assert_int_equal(reader_blocks(&reader, count_births, &b, &walk), 0);
    print_message("%llu of %llu blocks born in epoch %u\n", (unsigned long long)b.born_at,
                  (unsigned long long)walk.blocks, epoch);
    assert_true(b.born_at > 0);
    assert_int_equal(b.born_after, 0);
    close(fd);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(ready[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blocks_carry_their_epoch, start_tracing_8_frames, stop_tracing),
        cmocka_unit_test(test_a_debugger_bumps_the_epoch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
