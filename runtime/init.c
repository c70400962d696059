/*
 * Start-up and fork. The runtime starts on its constructor or on the first
 * hooked call, whichever comes first: resolve the real allocator, fill the
 * root, parse the environment, map the shards and the depot, pick the
 * unwinder, register the fork handlers, then start tracing if asked
 * (MEMSNAP, or 16 frames by default when preloaded). Around fork() every
 * runtime lock is held so the child inherits a consistent table and keeps
 * tracing with it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "unwind.h"

#define SHARD_COUNT 64u
#define DEFAULT_PRELOAD_DEPTH 16u

static int init_state; /* 0 not started, 1 running, 2 done */

/* Is this library named in LD_PRELOAD (a token whose basename is
 * "libmemsnap.so" or "libmemsnap.so.<version>")? */
static int preloaded(void)
{
    const char *list = getenv("LD_PRELOAD");
    if (!list)
        return 0;
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ':')
            p++;
        const char *end = p;
        while (*end && *end != ' ' && *end != ':')
            end++;
        const char *base = p;
        for (const char *q = p; q < end; q++)
            if (*q == '/')
                base = q + 1;
        size_t n = (size_t)(end - base);
        if (n >= 13 && strncmp(base, "libmemsnap.so", 13) == 0 && (n == 13 || base[13] == '.'))
            return 1;
        p = end;
    }
    return 0;
}

static void before_fork(void)
{
    memsnap_in_runtime++;
    internal_heap_lock(); /* it takes the pool's lock while holding its own */
    depot_lock();
    table_lock_all();
    pool_lock_all();
}

static void after_fork_parent(void)
{
    pool_unlock_all();
    table_unlock_all();
    depot_unlock();
    internal_heap_unlock();
    memsnap_in_runtime--;
}

static void after_fork_child(void)
{
    forget_cached_tid();
    pool_reset_lock();
    table_reset_locks();
    depot_reset_lock();
    internal_heap_reset_lock();
    memsnap_in_runtime--;
}

static uint32_t choose_unwinder(void)
{
#ifdef MEMSNAP_HAVE_DWARF
    if (flags.unwind != UNWIND_FP) {
        if (unwind_dwarf_init() == 0)
            return MEMSNAP_UNWINDER_DWARF;
        if (flags.unwind == UNWIND_DWARF)
            say("MEMSNAP_UNWIND=dwarf: the DWARF unwinder cannot start; using fp", "", "", "");
    }
#else
    if (flags.unwind == UNWIND_DWARF)
        say("MEMSNAP_UNWIND=dwarf: built without libdw; using fp", "", "", "");
#endif
    return MEMSNAP_UNWINDER_FP;
}

void ensure_initialized(void)
{
    if (MEMSNAP_LIKELY(__atomic_load_n(&memsnap_ready, __ATOMIC_ACQUIRE)))
        return;
    int expected = 0;
    if (!__atomic_compare_exchange_n(&init_state, &expected, 1, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return; /* done, or running (on this thread, or another: callers pass through) */
    int saved_errno = errno; /* start-up runs inside the program's first call */
    internal_work_begin(); /* what start-up allocates is the runtime's */
    resolve_real_allocator();
    internal_heap_init(); /* after dlsym's bootstrap allocations */
    root_fill_header();
    int flags_ok = flags_parse() == 0;
    if (flags.help)
        flags_print_help();
    pool_fail_after(flags.test_mmap_fail_after);
    runtime_owns_pc(0); /* finds the runtime's own code range now */
    int mapped = table_init(SHARD_COUNT) == 0 && depot_init() == 0;
    /* Registered before the unwinder starts: fork handlers that prepare run
     * in reverse order, so the DWARF unwinder's lock (held while it maps
     * memory from the pool) is taken before the runtime's own locks. */
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    memsnap_root.unwinder = choose_unwinder();
    uint32_t state = MEMSNAP_STATE_INITIALIZED;
    long depth = flags.depth >= 0 ? flags.depth : (preloaded() ? (long)DEFAULT_PRELOAD_DEPTH : 0);
    if (!flags_ok)
        depth = 0;
    if (!mapped) {
        say("out of memory for the trace table; tracing stopped, traces truncated", "", "", "");
        state |= MEMSNAP_STATE_TRUNCATED;
        memsnap_root.shards = 0;
        hot.skipping = depth > 0; /* tracing was asked for: count what it misses */
    } else if (depth > 0) {
        memsnap_root.traceback_limit = (uint32_t)depth;
        state |= MEMSNAP_STATE_TRACING;
    }
    __atomic_store_n(&memsnap_root.state, state, __ATOMIC_RELEASE);
    hot.unwinder = memsnap_root.unwinder;
    publish_state();
    __atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
    __atomic_store_n(&memsnap_ready, 1, __ATOMIC_RELEASE);
    internal_work_end();
    errno = saved_errno;
}

__attribute__((constructor)) static void memsnap_constructor(void)
{
    ensure_initialized();
}
