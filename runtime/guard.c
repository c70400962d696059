/*
 * Per-thread state of the runtime, in initial-exec TLS so reading it never
 * allocates or takes a lock: the reentrancy guard (set while the thread runs
 * runtime code, so allocations made meanwhile pass through untraced; its
 * value tells the runtime's own work, served by the internal heap, from a
 * hook in progress), the cached kernel tid that owns a shard lock, and the
 * frees a signal handler made inside the runtime, deferred until the
 * thread leaves it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

__thread int memsnap_in_runtime __attribute__((tls_model("initial-exec")));
__thread uint32_t memsnap_cached_tid __attribute__((tls_model("initial-exec")));
__thread struct deferred_frees memsnap_deferred __attribute__((tls_model("initial-exec")));

int defer_free(void *ptr)
{
    /* One instruction claims the slot: a handler interrupting this one
     * claims the next. The drain runs only when no handler is inside. */
    unsigned i = __atomic_fetch_add(&memsnap_deferred.count, 1, __ATOMIC_RELAXED);
    if (i >= DEFERRED_FREES) {
        __atomic_fetch_sub(&memsnap_deferred.count, 1, __ATOMIC_RELAXED);
        return -ENOSPC;
    }
    memsnap_deferred.ptr[i] = ptr;
    return 0;
}

uint32_t fetch_tid(void)
{
    memsnap_cached_tid = (uint32_t)syscall(SYS_gettid);
    return memsnap_cached_tid;
}

void forget_cached_tid(void)
{
    memsnap_cached_tid = 0;
}
