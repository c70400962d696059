/*
 * fork: while other threads allocate, the process forks; the child (whose
 * only thread is the forking one) finds every runtime lock free, keeps
 * tracing with the inherited table (blocks allocated before the fork are
 * still there and can be freed), and its totals are exact; the parent's
 * table is untouched by the child.
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

static void *busy(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&busy_stop, __ATOMIC_RELAXED)) {
        void *p = malloc(64);
        free(p);
    }
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
    const struct memsnap_shard *shards = (const struct memsnap_shard *)(uintptr_t)memsnap_root.shards;
    for (uint32_t s = 0; s < memsnap_root.nshards; s++)
        failures += shards[s].lock != 0;
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
    struct table_walk walk;
    reader_blocks(own_reader(), count_expected, &expected, &walk);
    failures += expected.found != 1000;
    for (int i = 0; i < 1000; i++)
        free(blocks[i]);
    free(before);
    memsnap_get_traced_memory(&current, &peak);
    failures += current != base - 5000;
    failures += walk_table().bytes != current;
    return failures;
}

static void test_child_keeps_tracing(void **state)
{
    (void)state;
    assert_int_equal(memsnap_start(8), 0);
    void *before = malloc(5000);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&threads[i], NULL, busy, NULL);
    for (int round = 0; round < 20; round++) {
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
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
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
