/*
 * Start-up and fork. The runtime starts on its constructor or on the first
 * hooked call, whichever comes first: resolve the real allocator, fill the
 * root, parse the environment, draw the block headers' secret, map the
 * depot, pick the unwinder, register the fork handlers and the thread-exit
 * key, then start tracing if asked (MEMSNAP, or 16 frames by default when
 * preloaded; MEMSNAP_SAMPLE for sampling).
 *
 * Fork: the one fork sequence of the runtime. Before fork() every runtime
 * lock is taken, in the order every path that nests them follows
 * (outermost first):
 *
 *   1. the DWARF unwinder's miss lock (a cache miss allocates from the
 *      internal heap and maps memory);
 *   2. the track lock (tracer.c; held while recording a tracked range,
 *      never while walking);
 *   3. the threads lock (threads.c; creating or adopting a record maps);
 *   4. the fold lock (counters.c; nothing nested);
 *   5. the depot lock (depot.c; appending a site maps);
 *   6. the internal heap's lock (it links what it commits through the pool);
 *   7. the pool lock (mmap_pool.c; innermost).
 *
 * The parent releases them in reverse. The child, whose only thread is the
 * forking one, resets them and adopts the records of the threads that did
 * not follow it (threads_after_fork_child: what they had in flight is
 * rolled back), so it keeps tracing with a consistent table. Hooks take no
 * lock, so another thread may be in the middle of one when fork() runs:
 * that is what the roll-back repairs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <time.h>

#include "counters.h"
#include "tracer.h"
#ifdef MEMSNAP_HAVE_DWARF
#include "unwind_cfi.h"
#else
static inline void unwind_fork_prepare(void) {}
static inline void unwind_fork_parent(void) {}
static inline void unwind_fork_child(void) {}
#endif

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
    memsnap_tls.in_runtime++;
    unwind_fork_prepare();
    track_lock();
    threads_lock();
    fold_lock();
    depot_lock();
    internal_heap_lock();
    pool_lock_all();
}

static void after_fork_parent(void)
{
    pool_unlock_all();
    internal_heap_unlock();
    depot_unlock();
    fold_unlock();
    threads_unlock();
    track_unlock();
    unwind_fork_parent();
    memsnap_tls.in_runtime--;
}

static void after_fork_child(void)
{
    forget_cached_tid();
    pool_reset_lock();
    internal_heap_reset_lock();
    depot_reset_lock();
    fold_reset_lock();
    threads_after_fork_child(); /* resets the threads lock */
    track_reset_lock();
    unwind_fork_child();
    memsnap_tls.in_runtime--;
}

/*
 * hot.tls_offset (internal.h): the offset of this thread's TLS block
 * from the thread pointer, when the TLS descriptor says the block is in
 * the static TLS area, else 0. The x86-64 descriptor is a pair {resolver,
 * argument} in the GOT; for a block in static TLS the dynamic linker's
 * resolver returns the argument, the block's offset, the same in every
 * thread; for a dynamic block the argument points to the linker's own
 * data, which is never that offset (it would put the block outside the
 * address space). The block's address is taken first: that resolves a
 * lazily bound descriptor.
 */
static intptr_t static_tls_offset(void)
{
#if defined(__x86_64__) && defined(__PIC__)
    struct thread_tls *block = &memsnap_tls;
    __asm__ volatile("" : "+r"(block) : : "memory");
    const uintptr_t *descriptor;
    __asm__("leaq memsnap_tls@TLSDESC(%%rip), %0" : "=a"(descriptor));
    intptr_t offset = (intptr_t)((uintptr_t)block - (uintptr_t)__builtin_thread_pointer());
    return offset != 0 && __atomic_load_n(&descriptor[1], __ATOMIC_RELAXED) == (uintptr_t)offset
               ? offset
               : 0;
#else
    return 0;
#endif
}

/* The block headers' secret (block_header.h): random, never 0. */
static uint64_t draw_cookie_key(void)
{
    uint64_t key = 0;
    if (getrandom(&key, sizeof key, GRND_NONBLOCK) != (ssize_t)sizeof key) {
        const unsigned char *bytes = (const unsigned char *)getauxval(AT_RANDOM);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (bytes)
            memcpy(&key, bytes + 8, sizeof key);
        key ^= (uint64_t)now.tv_nsec * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)&key;
    }
    return key | 1;
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
    hot.cookie_key = draw_cookie_key();
    __atomic_store_n(&hot.tls_offset, static_tls_offset(), __ATOMIC_RELAXED);
    int mapped = depot_init() == 0;
    threads_init();
    /* The one fork sequence (see the top of this file): the DWARF
     * unwinder's miss lock first, then the runtime's own locks. */
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    memsnap_root.unwinder = choose_unwinder();
    uint32_t state = MEMSNAP_STATE_INITIALIZED;
    long depth = flags.depth >= 0 ? flags.depth : (preloaded() ? (long)DEFAULT_PRELOAD_DEPTH : 0);
    if (!flags_ok)
        depth = 0;
    if (flags.sample > 0) {
        memsnap_root.sample_bytes = (uint64_t)flags.sample;
        state |= MEMSNAP_STATE_SAMPLED;
    }
    if (!mapped) {
        say("out of memory for the trace table; tracing stopped, traces truncated", "", "", "");
        state |= MEMSNAP_STATE_TRUNCATED;
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
    publish_state(); /* hot.hooks, now that start-up is done */
    internal_work_end();
    errno = saved_errno;
}

__attribute__((constructor)) static void memsnap_constructor(void)
{
    ensure_initialized();
}
