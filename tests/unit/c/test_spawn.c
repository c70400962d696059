/*
 * vfork and posix_spawn under the runtime (issue 13), tracing with the
 * default unwinder while two other threads keep allocating. A vfork child
 * shares the parent's memory and, until it execs, its thread's TLS: one
 * that execs at once, and one that allocates first (undefined by POSIX,
 * common in practice: the block is then a real one of the parent's heap,
 * and the table says so); posix_spawn (glibc's clone(CLONE_VM|CLONE_VFORK)
 * on a stack of its own) with file actions, of children that are traced
 * themselves (LD_PRELOAD in their environment). Every child exits as it
 * should, and the parent's table stays exact: no shard left locked, no
 * record in flight, current bytes equal to the table's, its own blocks
 * all there.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

extern struct memsnap_root memsnap_root;
extern char **environ;

#define CHILDREN 40
#define KEPT 64

static int stop_churn;

static void *churn(void *arg)
{
    (void)arg;
    void *ring[128] = {0};
    for (unsigned long i = 0; !__atomic_load_n(&stop_churn, __ATOMIC_RELAXED); i++) {
        free(ring[i % 128]);
        ring[i % 128] = malloc(16 + i % 500);
    }
    for (int k = 0; k < 128; k++)
        free(ring[k]);
    return NULL;
}

static pthread_t churners[2];
static void *kept[KEPT];

static int start(void **state)
{
    (void)state;
    if (memsnap_start(16) != 0)
        return -1;
    for (int k = 0; k < KEPT; k++)
        kept[k] = malloc(1000 + (size_t)k);
    __atomic_store_n(&stop_churn, 0, __ATOMIC_RELAXED);
    for (int t = 0; t < 2; t++)
        if (pthread_create(&churners[t], NULL, churn, NULL) != 0)
            return -1;
    return 0;
}

/* Stops the threads, checks the table, frees, stops tracing. */
static int check_and_stop(void **state)
{
    (void)state;
    __atomic_store_n(&stop_churn, 1, __ATOMIC_RELAXED);
    for (int t = 0; t < 2; t++)
        pthread_join(churners[t], NULL);
    for (int k = 0; k < KEPT; k++) {
        struct read_block block;
        assert_true(find_block((uint64_t)(uintptr_t)kept[k], MEMSNAP_DOMAIN_HEAP, &block));
        assert_int_equal(block.size, 1000 + (uint64_t)k);
    }
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    struct table_walk walk = walk_table();
    assert_int_equal(walk.in_flight, 0);
    assert_int_equal(walk.bytes, current);
    for (int k = 0; k < KEPT; k++)
        free(kept[k]);
    return memsnap_stop();
}

static int exit_code_of(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *const exit_7[] = {"/bin/sh", "-c", "exit 7", NULL};

static void test_vfork_exec(void **state)
{
    (void)state;
    for (int i = 0; i < CHILDREN; i++) {
        void *before = malloc(64);
        pid_t pid = vfork();
        if (pid == 0) {
            execve(exit_7[0], exit_7, environ);
            _exit(127);
        }
        assert_true(pid > 0);
        assert_int_equal(exit_code_of(pid), 7);
        free(before);
    }
}

static void test_vfork_child_allocates(void **state)
{
    (void)state;
    static void *from_child[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        pid_t pid = vfork();
        if (pid == 0) {
            /* the child's block lives in the parent's heap from now on */
            from_child[i] = malloc(2000 + (size_t)i);
            execve(exit_7[0], exit_7, environ);
            _exit(127);
        }
        assert_true(pid > 0);
        assert_int_equal(exit_code_of(pid), 7);
    }
    for (int i = 0; i < CHILDREN; i++) {
        struct read_block block;
        assert_non_null(from_child[i]);
        assert_true(find_block((uint64_t)(uintptr_t)from_child[i], MEMSNAP_DOMAIN_HEAP, &block));
        assert_int_equal(block.size, 2000 + (uint64_t)i);
        free(from_child[i]);
    }
}

static void test_posix_spawn_traced_children(void **state)
{
    (void)state;
    static char preload[4200];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", getenv("MEMSNAP_TEST_LIB"));
    char *env[] = {preload, "PATH=/usr/bin:/bin", NULL};
    char *argv[] = {"/bin/sh", "-c", "read line; test \"$line\" = hello && exit 5", NULL};
    for (int i = 0; i < CHILDREN; i++) {
        int in[2];
        assert_int_equal(pipe(in), 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in[0], 0);
        posix_spawn_file_actions_addclose(&actions, in[1]);
        pid_t pid;
        assert_int_equal(posix_spawn(&pid, argv[0], &actions, NULL, argv, env), 0);
        posix_spawn_file_actions_destroy(&actions);
        close(in[0]);
        assert_int_equal(write(in[1], "hello\n", 6), 6);
        close(in[1]);
        assert_int_equal(exit_code_of(pid), 5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vfork_exec, start, check_and_stop),
        cmocka_unit_test_setup_teardown(test_vfork_child_allocates, start, check_and_stop),
        cmocka_unit_test_setup_teardown(test_posix_spawn_traced_children, start, check_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
