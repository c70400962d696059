/*
 * The order of writes, checked the way a debugger meets it: a traced
 * process whose four threads never stop allocating, freeing, reallocating
 * and tracking (tests/programs/churn_threads) is stopped at random moments
 * (SIGSTOP), 250 times per unwinder, and its table read from /proc/PID/mem
 * with the layout reader. At every stop: sites are complete and their ids
 * dense; every block is complete (a known site, a size its domain can
 * have); and, with each thread's operation in flight left out the
 * documented way, the sums are exact: the sites' live pairs and the thread
 * records' `current` equal the blocks, count for count and byte for byte.
 * The peak snapshot (layout 2.1) is never torn either: in a process that
 * never had a second thread its sites' peak bytes add up to root.peak_bytes
 * exactly (less at most the bytes of an allocation in flight, the one that
 * raised the peak), and with four threads within the documented bound.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "elf_symbols.h"
#include "layout_reader.h"

#define MAX_SITES 100000
#define LARGEST_HEAP_BLOCK 999
#define TRACK_DOMAIN 3
#define STOPS 250
/* The largest block churn_threads allocates once it has threads: stdout's
 * buffer, allocated by its first printf. */
#define LARGEST_OPERATION 8192

struct stop_view {
    uint32_t nsites;
    uint32_t domain_of[MAX_SITES + 1];
    uint64_t live_count;
    uint64_t live_bytes;
    uint64_t peak_bytes;
    uint64_t slot_bytes;
    uint64_t bad_slots;
};

static void collect_site(const struct read_site *site, void *arg)
{
    struct stop_view *v = arg;
    if (site->id == 0 || site->id > MAX_SITES || v->domain_of[site->id] != UINT32_MAX) {
        v->bad_slots++; /* a duplicate or impossible id */
        return;
    }
    v->domain_of[site->id] = site->domain;
    v->live_count += site->live_count;
    v->live_bytes += site->live_bytes;
    v->peak_bytes += site->peak_bytes;
    if ((int64_t)site->peak_count < 0 || (int64_t)site->peak_bytes < 0 ||
        site->peak_bytes < site->peak_count)
        v->bad_slots++; /* a torn or impossible peak pair */
    v->nsites++;
}

static void check_slot(const struct read_block *block, void *arg)
{
    struct stop_view *v = arg;
    v->slot_bytes += block->size;
    if (block->site_id == 0 || block->site_id > MAX_SITES) {
        v->bad_slots++;
        return;
    }
    uint32_t domain = v->domain_of[block->site_id];
    if (domain == 0 && block->size >= 1 && block->size <= LARGEST_HEAP_BLOCK)
        return;
    if (domain == TRACK_DOMAIN && block->size == 64 && block->addr >= 0x10000000u)
        return;
    if (domain == 0 && block->size > LARGEST_HEAP_BLOCK)
        return; /* the program's own start-up blocks (stdio, threads) */
    v->bad_slots++;
}

/* Bytes of the allocations the records have in flight, 0 when none. */
static uint64_t alloc_in_flight(const struct layout_reader *r)
{
    uint64_t bytes = 0;
    for (uint64_t at = reader_get(r, r->root, "root.threads"); at;
         at = reader_get(r, at, "thread.next"))
        if (reader_get(r, at, "thread.pend_op") == MEMSNAP_OP_ALLOC)
            bytes += reader_get(r, at, "thread.pend_bytes");
    return bytes;
}

/* The peak snapshot against root.peak_bytes (docs/layout.md, "the peak
 * snapshot"): exact in a process that never had a second thread, but for
 * the allocation in flight that raised the peak; otherwise within
 * (threads - 1) * fold_bytes plus one operation per thread at the peak
 * and one at the stop. Returns |difference|. */
static uint64_t check_peak(const struct layout_reader *r, const struct stop_view *v,
                           const struct table_walk *walk, int single_threaded)
{
    uint64_t peak = reader_get(r, r->root, "root.peak_bytes");
    int64_t missing = (int64_t)(peak - v->peak_bytes);
    /* the runtime says which case it is */
    assert_int_equal(!(reader_get(r, r->root, "root.state") & MEMSNAP_STATE_DRIFT),
                     single_threaded);
    if (single_threaded) {
        assert_true(missing >= 0);
        assert_true((uint64_t)missing <= alloc_in_flight(r));
        return (uint64_t)missing;
    }
    uint64_t fold = reader_get(r, r->root, "root.fold_bytes");
    uint64_t bound = (walk->threads - 1) * fold + 2 * walk->threads * LARGEST_OPERATION;
    uint64_t distance = (uint64_t)(missing < 0 ? -missing : missing);
    if (distance > bound)
        print_message("peak %lu, its snapshot %lu: %lu apart, bound %lu\n", (unsigned long)peak,
                      (unsigned long)v->peak_bytes, (unsigned long)distance, (unsigned long)bound);
    assert_true(distance <= bound);
    return distance;
}

static void stop_and_read(const char *unwinder, const char *threads)
{
    const char *lib = getenv("MEMSNAP_TEST_LIB");
    const char *exe = getenv("MEMSNAP_TEST_CHURN");
    assert_non_null(lib);
    assert_non_null(exe);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(ready[1], 1);
        setenv("LD_PRELOAD", lib, 1);
        setenv("MEMSNAP_UNWIND", unwinder, 1);
        unsetenv("MEMSNAP");
        execl(exe, exe, threads, (char *)NULL);
        _exit(127);
    }
    close(ready[1]);
    char line[32];
    assert_true(read(ready[0], line, sizeof line) > 0); /* "churning" */

    static struct stop_view view;
    struct timespec pause = {0, 0};
    unsigned stops_in_flight = 0;
    uint64_t farthest_peak = 0;
    for (int stop = 0; stop < STOPS; stop++) {
        pause.tv_nsec = 200000L + (rand() % 16) * 250000L;
        nanosleep(&pause, NULL);
        assert_int_equal(kill(pid, SIGSTOP), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
        assert_true(WIFSTOPPED(status));

        char path[64];
        snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
        int fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        uint64_t base, value, size;
        assert_int_equal(mapped_base(pid, lib, &base), 0);
        assert_int_equal(elf_symbol(lib, "memsnap_root", &value, &size), 0);
        struct layout_reader reader;
        assert_int_equal(reader_open(&reader, read_proc_mem, &fd, base + value), 0);

        memset(&view, 0, sizeof view);
        memset(view.domain_of, 0xff, sizeof view.domain_of);
        uint64_t nsites = reader_get(&reader, reader.root, "root.nsites");
        assert_true(reader_sites(&reader, collect_site, &view) >= 0);
        assert_int_equal(view.bad_slots, 0);
        /* the depot publishes `used` before nsites: at most one ahead */
        assert_true(view.nsites == nsites || view.nsites == nsites + 1);
        for (uint32_t id = 1; id <= view.nsites; id++)
            assert_int_not_equal(view.domain_of[id], UINT32_MAX);

        struct table_walk walk;
        assert_int_equal(reader_blocks(&reader, check_slot, &view, &walk), 0);
        assert_int_equal(view.bad_slots, 0);
        stops_in_flight += walk.in_flight > 0;
        assert_true(walk.in_flight <= walk.threads);
        /* exact, with the operations in flight left out */
        assert_int_equal(view.live_count, walk.blocks);
        assert_int_equal(view.live_bytes, view.slot_bytes);
        assert_int_equal((uint64_t)walk.current, view.slot_bytes);
        uint64_t distance = check_peak(&reader, &view, &walk, threads[0] == '0');
        if (distance > farthest_peak)
            farthest_peak = distance;
        close(fd);
        assert_int_equal(kill(pid, SIGCONT), 0);
    }
    print_message("%s, %s threads: %u of %d stops found an operation in flight; the peak "
                  "snapshot was at most %lu bytes from root.peak_bytes\n", unwinder, threads,
                  stops_in_flight, STOPS, (unsigned long)farthest_peak);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(ready[0]);
}

static void test_frame_pointers(void **state)
{
    (void)state;
    stop_and_read("fp", "4");
}

static void test_default_unwinder(void **state)
{
    (void)state;
    stop_and_read("auto", "4");
}

/* A process that never has a second thread: its peak snapshot is exact. */
static void test_single_thread(void **state)
{
    (void)state;
    stop_and_read("auto", "0");
}

int main(void)
{
    srand((unsigned)time(NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_pointers),
        cmocka_unit_test(test_default_unwinder),
        cmocka_unit_test(test_single_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
