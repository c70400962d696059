/*
 * Signal handlers that allocate and free (issue 13), with the default
 * (DWARF) unwinder. The program's allocator is async-signal-safe
 * (tests/c/signal_safe_alloc.c: glibc's, which is not, with signals
 * blocked), as a program that allocates in handlers needs: the runtime
 * must keep it so. A CPU-time timer interrupts a thread that allocates,
 * frees and reallocates at call paths of varying depth and through a
 * plugin it dlopens and dlcloses again and again (so the unwinder keeps
 * missing its cache and working inside libdw), often in the middle of a
 * hook or of the runtime's own work. The handler allocates blocks it keeps
 * (malloc, calloc, realloc, posix_memalign; sizes 1000..1015, which nothing
 * else uses), grows some of them with realloc, and frees blocks of size
 * 777 the thread hands it. Nothing deadlocks, and at the end the table is
 * exact: no block of a size the handler freed or moved is left in it, each
 * block the handler allocated is in it with its size, or in the runtime's
 * own memory (a handler that interrupted the runtime's work is served like
 * that work), or counted in root.untraced; current bytes equal the table's.
 * Also after an out-of-memory stop (a child run of this program, with
 * MEMSNAP_TEST_MMAP_FAIL_AFTER): every allocation is counted in
 * root.untraced, those of a handler that interrupted the runtime's own
 * work too (they used to be missing from the count).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

extern struct memsnap_root memsnap_root;
extern unsigned long signal_safe_alloc_calls; /* tests/c/signal_safe_alloc.c */

#define GIFT_SIZE 777u
#define HANDLER_SIZE 1000u
#define HANDLER_SIZES 16u
#define KEPT_MAX 1500
#define GIFTS 8

static volatile sig_atomic_t ticks;
static void *kept[KEPT_MAX];
static size_t kept_size[KEPT_MAX];
static volatile int kept_count;
static void *gifts[GIFTS];

static void *handler_allocate(int n, size_t size)
{
    void *p = NULL;
    switch (n % 4) {
    case 0: return malloc(size);
    case 1: return calloc(1, size);
    case 2: return realloc(NULL, size);
    default: return posix_memalign(&p, 64, size) == 0 ? p : NULL;
    }
}

static void on_tick(int sig)
{
    (void)sig;
    int saved = errno;
    int n = ticks++;
    void *gift = __atomic_exchange_n(&gifts[n % GIFTS], NULL, __ATOMIC_ACQ_REL);
    free(gift);
    if (kept_count > 0 && n % 5 == 0) {
        /* grow an earlier block: realloc may move it */
        int k = n % kept_count;
        size_t size = kept_size[k] + 1 < HANDLER_SIZE + HANDLER_SIZES ? kept_size[k] + 1
                                                                       : kept_size[k];
        void *grown = realloc(kept[k], size);
        if (grown) {
            kept[k] = grown;
            kept_size[k] = size;
        }
    } else if (kept_count < KEPT_MAX) {
        size_t size = HANDLER_SIZE + (size_t)n % (HANDLER_SIZES / 2);
        void *p = handler_allocate(n, size);
        if (p) {
            memset(p, 1, size);
            kept[kept_count] = p;
            kept_size[kept_count] = size;
            kept_count++;
        }
    }
    errno = saved;
}

/* Allocations at `depth` more frames: new call paths for the unwinder. */
static void *__attribute__((noinline)) allocate_at(int depth, size_t size)
{
    void *p = depth > 0 ? allocate_at(depth - 1, size) : malloc(size);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return p;
}

static void churn(void *(*plugin_allocate)(size_t), long i, void *ring[256])
{
    int k = (int)(i % 256);
    free(ring[k]);
    ring[k] = (i & 3) == 0 ? plugin_allocate(16 + (size_t)(i % 64))
                           : allocate_at((int)(i % 13), 8 + (size_t)(i % 100));
    if ((i & 7) == 1)
        ring[k] = realloc(ring[k], 200 + (size_t)(i % 300));
    int g = (int)(i % GIFTS);
    if (!__atomic_load_n(&gifts[g], __ATOMIC_ACQUIRE)) {
        void *gift = malloc(GIFT_SIZE);
        void *none = NULL;
        if (!__atomic_compare_exchange_n(&gifts[g], &none, gift, 0, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE))
            free(gift);
    }
}

/* What the table holds of the handler's sizes and the gifts'. */
struct leftovers {
    long gifts, handler_found, handler_stray;
};

static void classify(const struct read_block *block, void *arg)
{
    struct leftovers *l = arg;
    if (block->size == GIFT_SIZE) {
        l->gifts++;
        return;
    }
    if (block->size < HANDLER_SIZE || block->size >= HANDLER_SIZE + HANDLER_SIZES)
        return;
    for (int k = 0; k < kept_count; k++)
        if ((uint64_t)(uintptr_t)kept[k] == block->addr && kept_size[k] == block->size) {
            l->handler_found++;
            return;
        }
    l->handler_stray++; /* a freed or moved block left in the table */
}

/* True when ptr lies in one of the runtime's MISC mappings (its own
 * memory: the internal heap). */
static int in_runtime_memory(const void *ptr)
{
    uint64_t at = (uint64_t)(uintptr_t)ptr;
    for (uint64_t m = memsnap_root.mappings; m;) {
        const struct memsnap_mapping *mapping = (const void *)(uintptr_t)m;
        if (mapping->kind == MEMSNAP_MAP_MISC && at - m < mapping->size)
            return 1;
        m = mapping->next;
    }
    return 0;
}

static void test_handlers_allocate_and_free(void **state)
{
    (void)state;
    void *plugin = NULL;
    void *(*plugin_allocate)(size_t) = malloc;
    const char *plugin_path = getenv("MEMSNAP_TEST_DESCRIPTOR_PLUGIN");
    assert_non_null(plugin_path);
    assert_int_equal(memsnap_start(16), 0);
    assert_int_equal(memsnap_root.unwinder, MEMSNAP_UNWINDER_DWARF);
    uint64_t untraced_before = memsnap_root.untraced;

    timer_t timer = tick_timer_start(on_tick, 20000);

    static void *ring[256];
    for (long i = 0; ticks < 2000 && i < 100000000; i++) {
        if (i % 20000 == 0) { /* a plugin again: every cached rule goes */
            if (plugin)
                dlclose(plugin);
            plugin = dlopen(plugin_path, RTLD_NOW);
            assert_non_null(plugin);
            plugin_allocate = (void *(*)(size_t))dlsym(plugin, "plugin_allocate");
        }
        churn(plugin_allocate, i, ring);
    }
    tick_timer_stop(timer);
    assert_true(ticks >= 2000);
    assert_true(signal_safe_alloc_calls > 100000); /* the runtime's real allocator */
    for (int g = 0; g < GIFTS; g++)
        free(gifts[g]);

    static struct leftovers left;
    struct table_walk walk;
    assert_int_equal(reader_blocks(own_reader(), classify, &left, &walk), 0);
    long in_runtime = 0;
    for (int k = 0; k < kept_count; k++)
        in_runtime += in_runtime_memory(kept[k]);
    uint64_t untraced = memsnap_root.untraced - untraced_before;
    print_message("%d ticks, %d blocks kept: %ld in the table, %ld runtime memory, %lu untraced\n",
                  (int)ticks, kept_count, left.handler_found, in_runtime,
                  (unsigned long)untraced);
    assert_int_equal(left.gifts, 0);
    assert_int_equal(left.handler_stray, 0);
    /* every handler allocation (moves by realloc included) accounted once */
    assert_true(left.handler_found + in_runtime <= kept_count);
    assert_true(left.handler_found + in_runtime + (long)untraced >= kept_count);
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(walk.bytes, current);
    assert_int_equal(walk.in_flight, 0);
    for (int k = 0; k < 256; k++)
        free(ring[k]);
    for (int k = 0; k < kept_count; k++)
        free(kept[k]);
    dlclose(plugin);
    memsnap_stop();
}

/* ---- after an out-of-memory stop ---- */

#define AFTER_STOP_TICKS 300
#define FILL 400000

static void *after_stop_kept[AFTER_STOP_TICKS];
static volatile sig_atomic_t after_stop_ticks;

static void on_tick_after_stop(int sig)
{
    (void)sig;
    int saved = errno;
    if (after_stop_ticks < AFTER_STOP_TICKS)
        after_stop_kept[after_stop_ticks] = malloc(24);
    after_stop_ticks++;
    errno = saved;
}

/* The child: traces until the injected mmap failure stops it, then frees,
 * allocates and clears the traces (memsnap_clear_traces: runtime work that
 * takes a while, so the handler lands in it often) while a handler
 * allocates; prints "N made, M counted" (allocations since the stop, and
 * root.untraced's growth). */
static int after_stop_child(void)
{
    static void *fill[FILL];
    if (memsnap_start(8) != 0)
        return 2;
    for (long i = 0; i < FILL && !(memsnap_root.state & MEMSNAP_STATE_TRUNCATED); i++)
        fill[i] = malloc(16);
    if (!(memsnap_root.state & MEMSNAP_STATE_TRUNCATED))
        return 3;
    uint64_t before = memsnap_root.untraced;
    unsigned long made = 0;
    timer_t timer = tick_timer_start(on_tick_after_stop, 20000);
    for (long i = 0; after_stop_ticks < AFTER_STOP_TICKS; i = (i + 1) % FILL) {
        free(fill[i]);
        fill[i] = malloc(16);
        made++;
        memsnap_clear_traces();
    }
    tick_timer_stop(timer);
    made += AFTER_STOP_TICKS;
    unsigned long counted = (unsigned long)(memsnap_root.untraced - before);
    printf("%lu made, %lu counted\n", made, counted);
    return 0;
}

static void test_counted_after_out_of_memory(void **state)
{
    (void)state;
    char *argv[] = {"/proc/self/exe", "after-stop", NULL};
    const char *env[] = {"MEMSNAP_TEST_MMAP_FAIL_AFTER=12", NULL};
    static struct child_result result;
    assert_int_equal(run_child(argv, env, &result), 0);
    assert_int_equal(result.exit_code, 0);
    unsigned long made = 0, counted = 0;
    assert_int_equal(sscanf(result.out, "%lu made, %lu counted", &made, &counted), 2);
    print_message("after the stop: %lu allocations, %lu counted untraced\n", made, counted);
    assert_true(made > AFTER_STOP_TICKS);
    assert_int_equal(counted, made);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "after-stop") == 0)
        return after_stop_child();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handlers_allocate_and_free),
        cmocka_unit_test(test_counted_after_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
