/*
 * The public C API of include/memsnap.h, mirroring tracemalloc's module
 * functions. Each call that changes the table holds the reentrancy guard
 * while it works, so nothing it does is traced. Current and peak come from
 * the thread records (threads_current) and the folded root.peak_bytes
 * (counters.h), whose reset also makes now the peak snapshot (peak.h); a
 * clear bumps root.clear_gen under the fold lock, and each
 * thread wipes its own record when it next calls the runtime (threads.c),
 * readers ignoring records that have not yet.
 */
#include <errno.h>

#include "counters.h"
#include "memsnap.h"
#include "tracer.h"

/* Runs `body` with the guard held (after start-up). A call made while
 * this thread is already inside the runtime (from a signal handler that
 * interrupted a hook) could wait for a lock its own thread holds: it
 * returns -EBUSY instead. */
#define GUARDED(body)                        \
    do {                                     \
        ensure_initialized();                \
        struct thread_tls *tls = tls_block(); \
        if (tls->in_runtime)                 \
            return -EBUSY;                   \
        tls->in_runtime = 1;                 \
        body;                                \
        guard_leave(tls, tls->self);         \
    } while (0)

/* Forgets every block and zeroes every counter, current and peak: the
 * track index now, the thread records lazily. Guard held. */
static void clear_all(void)
{
    track_lock();
    track_forget_all();
    fold_lock();
    __atomic_store_n(&memsnap_root.clear_gen, memsnap_root.clear_gen + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&memsnap_root.current_bytes, 0, __ATOMIC_RELAXED);
    peak_mark(0);
    publish_state();
    fold_unlock();
    track_unlock();
    struct thread_state *self = memsnap_tls.self;
    if (self)
        thread_check_clear(self);
}

int memsnap_start(unsigned nframes)
{
    if (nframes < 1 || nframes > MEMSNAP_MAX_FRAMES)
        return -EINVAL;
    ensure_initialized();
    if (!depot_ready())
        return -ENOMEM;
    if (tracing_enabled())
        return 0;
    __atomic_store_n(&memsnap_root.traceback_limit, nframes, __ATOMIC_RELAXED);
    __atomic_fetch_or(&memsnap_root.state, MEMSNAP_STATE_TRACING, __ATOMIC_ACQ_REL);
    publish_state();
    return 0;
}

int memsnap_stop(void)
{
    GUARDED({
        __atomic_fetch_and(&memsnap_root.state,
                           ~(MEMSNAP_STATE_TRACING | MEMSNAP_STATE_TRUNCATED), __ATOMIC_ACQ_REL);
        publish_state();
        __atomic_store_n(&hot.skipping, 0, __ATOMIC_RELAXED); /* not tracing: by choice */
        clear_all();
    });
    return 0;
}

int memsnap_is_tracing(void)
{
    ensure_initialized();
    return tracing_enabled();
}

int memsnap_get_traceback_limit(void)
{
    ensure_initialized();
    return (int)memsnap_root.traceback_limit;
}

int memsnap_get_traced_memory(size_t *current, size_t *peak)
{
    ensure_initialized();
    int on = tracing_enabled();
    int64_t now = on ? threads_current() : 0;
    int64_t high = on ? (int64_t)__atomic_load_n(&memsnap_root.peak_bytes, __ATOMIC_RELAXED) : 0;
    if (now < 0)
        now = 0; /* a thread between its free and its allocation's fold */
    if (high < now)
        high = now; /* the peak is folded at a bounded drift (counters.h) */
    if (current)
        *current = (size_t)now;
    if (peak)
        *peak = (size_t)high;
    return 0;
}

int memsnap_reset_peak(void)
{
    GUARDED({
        fold_lock();
        peak_mark((uint64_t)threads_current()); /* the peak snapshot is now */
        fold_unlock();
    });
    return 0;
}

int memsnap_clear_traces(void)
{
    GUARDED(clear_all());
    return 0;
}

size_t memsnap_get_runtime_memory(void)
{
    ensure_initialized();
    return __atomic_load_n(&memsnap_root.runtime_bytes, __ATOMIC_RELAXED);
}

int memsnap_track(unsigned domain, uintptr_t ptr, size_t size)
{
    int rc;
    GUARDED(rc = tracer_track(domain, ptr, size));
    return rc;
}

int memsnap_untrack(unsigned domain, uintptr_t ptr)
{
    int rc;
    GUARDED(rc = tracer_untrack(domain, ptr));
    return rc;
}
