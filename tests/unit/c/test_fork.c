/*
 * fork: while other threads allocate and free each other's blocks, the
 * process forks; the child (whose only thread is the forking one) finds
 * every runtime lock free and no operation left in flight (the records of
 * the threads that did not follow it are repaired and adoptable), keeps
 * tracing with the inherited table (blocks allocated before the fork are
 * still there and can be freed, a new thread works), and its totals are
 * exact: sites, blocks and current agree; the parent's table is untouched
 * by the child.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

extern struct memsnap_root memsnap_root;

static int busy_stop;
static void *exchange[64]; /* blocks one busy thread leaves for another */

static void *busy(void *arg)
{
    unsigned k = (unsigned)(uintptr_t)arg;
    while (!__atomic_load_n(&busy_stop, __ATOMIC_RELAXED)) {
        void *p = malloc(64);
        free(p);
        k = (k * 7 + 3) % 64;
        free(__atomic_exchange_n(&exchange[k], malloc(32 + k), __ATOMIC_ACQ_REL));
    }
    return NULL;
}

static void sum_live(const struct read_site *site, void *arg)
{
    *(uint64_t *)arg += site->live_bytes;
}

static void *thread_in_child(void *arg)
{
    free(malloc(100));
    *(void **)arg = malloc(7);
    return NULL;
}

struct expected_blocks {
    void **blocks;
    int n;
    int found;
};

static void count_expected(const struct read_block *block, void *arg)
{
    struct expected_blocks *e = arg;
    for (int i = 0; i < e->n; i++)
        if ((uintptr_t)e->blocks[i] == block->addr && block->size == 10)
            e->found++;
}

/* Runs in the child: returns the number of failed checks. */
static int child_checks(void *before)
{
    int failures = 0;
    struct table_walk walk = walk_table();
    uint64_t live = 0;
    reader_sites(own_reader(), sum_live, &live);
    failures += walk.in_flight != 0; /* repaired */
    failures += live != walk.bytes;
    failures += (uint64_t)walk.current != walk.bytes;
    failures += !memsnap_is_tracing();
    failures += !find_block((uintptr_t)before, MEMSNAP_DOMAIN_HEAP, NULL);
    size_t base, peak, current;
    memsnap_get_traced_memory(&base, &peak);
    void *blocks[1000];
    for (int i = 0; i < 1000; i++)
        blocks[i] = malloc(10);
    memsnap_get_traced_memory(&current, &peak);
    failures += current != base + 10000;
    struct expected_blocks expected = {blocks, 1000, 0};
    reader_blocks(own_reader(), count_expected, &expected, &walk);
    failures += expected.found != 1000;
    for (int i = 0; i < 1000; i++)
        free(blocks[i]);
    free(before);
    memsnap_get_traced_memory(&current, &peak);
    failures += current != base - 5000;
    failures += walk_table().bytes != current;
    void *from_thread = NULL;
    pthread_t t;
    failures += pthread_create(&t, NULL, thread_in_child, &from_thread) != 0;
    pthread_join(t, NULL);
    memsnap_get_traced_memory(&current, &peak);
    failures += current != base - 5000 + 7;
    free(from_thread);
    return failures;
}

static void test_child_keeps_tracing(void **state)
{
    (void)state;
    assert_int_equal(memsnap_start(8), 0);
    void *before = malloc(5000);
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, busy, (void *)(uintptr_t)i);
    for (int round = 0; round < 40; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(child_checks(before) == 0 ? 0 : 1);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    __atomic_store_n(&busy_stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    for (int k = 0; k < 64; k++)
        free(exchange[k]);
    /* the parent's table did not see the child's work */
    assert_true(find_block((uintptr_t)before, MEMSNAP_DOMAIN_HEAP, NULL));
    size_t current, peak, after;
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(walk_table().bytes, current);
    free(before);
    memsnap_get_traced_memory(&after, &peak);
    assert_int_equal(after, current - 5000);
    memsnap_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_keeps_tracing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
