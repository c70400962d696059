/*
 * The order of writes, checked the way a debugger meets it: a traced
 * process whose threads never stop allocating, freeing, reallocating and
 * tracking (tests/programs/churn_threads) is stopped at random moments
 * (SIGSTOP) and its table read from /proc/PID/mem with the layout reader.
 * At every stop: sites are complete and their ids dense; every slot is
 * complete (a known site, a size its domain can have); an unlocked shard's
 * count and tombstones match its slots; and the site pairs and
 * root.current_bytes agree with the slots up to the one in-flight block of
 * each locked shard.
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

struct stop_view {
    uint32_t nsites;
    uint32_t domain_of[MAX_SITES + 1];
    uint64_t live_bytes;
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
    v->live_bytes += site->live_bytes;
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

/* Per shard: count and tombstones against the slots, when unlocked.
 * Returns the number of locked shards. */
static unsigned check_shards(const struct layout_reader *r)
{
    uint64_t shards = reader_get(r, r->root, "root.shards");
    uint64_t nshards = reader_get(r, r->root, "root.nshards");
    uint32_t shard_size, slot_size, slot_array, addr_at;
    reader_field(r, "shard", NULL, &shard_size);
    reader_field(r, "slot", NULL, &slot_size);
    reader_field(r, "slots.slot", &slot_array, NULL);
    reader_field(r, "slot.addr", &addr_at, NULL);
    unsigned locked = 0;
    for (uint64_t s = 0; s < nshards; s++) {
        uint64_t shard = shards + s * shard_size;
        if (reader_get(r, shard, "shard.lock")) {
            locked++;
            continue;
        }
        assert_int_equal(reader_get(r, shard, "shard.pending_op"), MEMSNAP_OP_NONE);
        uint64_t slots = reader_get(r, shard, "shard.slots");
        if (!slots)
            continue;
        uint64_t capacity = reader_get(r, slots, "slots.capacity");
        uint64_t live = 0, tombstones = 0;
        for (uint64_t i = 0; i < capacity; i++) {
            uint64_t addr = 0;
            r->read(r->ctx, slots + slot_array + i * slot_size + addr_at, &addr, 8);
            if (addr == MEMSNAP_SLOT_TOMBSTONE)
                tombstones++;
            else if (addr != MEMSNAP_SLOT_EMPTY)
                live++;
        }
        assert_int_equal(live, reader_get(r, shard, "shard.count"));
        assert_int_equal(tombstones, reader_get(r, shard, "shard.tombstones"));
        assert_true((live + tombstones) * 16 <= capacity * 11);
    }
    return locked;
}

static void stop_and_read(const char *unwinder)
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
        execl(exe, exe, "3", (char *)NULL);
        _exit(127);
    }
    close(ready[1]);
    char line[32];
    assert_true(read(ready[0], line, sizeof line) > 0); /* "churning" */

    static struct stop_view view;
    struct timespec pause = {0, 0};
    unsigned stops_with_locks = 0;
    for (int stop = 0; stop < 25; stop++) {
        pause.tv_nsec = 1000000L + (rand() % 8) * 1000000L;
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
        unsigned locked = check_shards(&reader);
        stops_with_locks += locked > 0;
        uint64_t slack = (uint64_t)locked * LARGEST_HEAP_BLOCK;
        uint64_t current = reader_get(&reader, reader.root, "root.current_bytes");
        assert_true(view.live_bytes <= view.slot_bytes + slack &&
                    view.slot_bytes <= view.live_bytes + slack);
        assert_true(current <= view.slot_bytes + slack && view.slot_bytes <= current + slack);
        assert_true(walk.in_flight <= locked);
        close(fd);
        assert_int_equal(kill(pid, SIGCONT), 0);
    }
    print_message("%s: %u of 25 stops found a shard locked\n", unwinder, stops_with_locks);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(ready[0]);
}

static void test_frame_pointers(void **state)
{
    (void)state;
    stop_and_read("fp");
}

static void test_default_unwinder(void **state)
{
    (void)state;
    stop_and_read("auto");
}

int main(void)
{
    srand((unsigned)time(NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_pointers),
        cmocka_unit_test(test_default_unwinder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
