/*
 * Helpers for the in-process C tests (linked with libmemsnap.so): a layout
 * reader over this process's own trace table, lookups of a block and of a
 * site by id, running a child program with a given environment while
 * capturing its output, and the cmocka fixtures that start and stop tracing.
 */
#ifndef MEMSNAP_TESTS_SUPPORT_H
#define MEMSNAP_TESTS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "layout_reader.h"

/* Reader over memsnap_root of this process (opened once). */
const struct layout_reader *own_reader(void);
/* The live block at addr in domain: 1 found (filled), 0 not found. */
int find_block(uint64_t addr, uint32_t domain, struct read_block *out);
/* The site with this id: 0 or -ENOENT. */
int site_by_id(uint32_t id, struct read_site *out);
/* Walk of the whole table. */
struct table_walk walk_table(void);
/* Number of sites in the depot. */
long count_sites(void);

/* cmocka setup/teardown: start tracing with 8 (or 32) frames per stack;
 * stop tracing (which clears every trace, like tracemalloc.stop). */
int start_tracing_8_frames(void **state);
int start_tracing_32_frames(void **state);
int stop_tracing(void **state);

/* Calls `handler` (SA_RESTART) on SIGPROF every `interval_ns` of this
 * thread's CPU time; tick_timer_stop disarms it and ignores SIGPROF. */
timer_t tick_timer_start(void (*handler)(int), long interval_ns);
void tick_timer_stop(timer_t timer);

/* Copies the file `from` to a new file `to` (O_EXCL) of mode `mode`:
 * 0 or -errno. */
int copy_file(const char *from, const char *to, unsigned mode);

/* Output of a child run. */
struct child_result {
    int exit_code; /* -signal when killed */
    char out[8192];
    char err[8192];
};
/* Runs argv with `env` (NULL-terminated "K=V" list added to a clean copy of
 * this environment minus every MEMSNAP* and LD_PRELOAD variable). */
int run_child(char *const argv[], const char *const env[], struct child_result *result);
/* What run_child_with adds. */
struct child_options {
    uint64_t address_limit; /* RLIMIT_AS (ulimit -v) in bytes; 0 = inherited */
    /* Called while the child is stopped (ptrace) at its exit, its memory
     * intact (NULL: not traced). */
    void (*at_exit)(pid_t pid, void *arg);
    void *arg;
};
int run_child_with(char *const argv[], const char *const env[],
                   const struct child_options *options, struct child_result *result);

#endif /* MEMSNAP_TESTS_SUPPORT_H */
