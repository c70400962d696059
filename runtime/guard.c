/*
 * Per-thread state of the runtime, in initial-exec TLS so reading it never
 * allocates or takes a lock: the reentrancy guard (set while the thread runs
 * runtime code, so allocations made meanwhile pass through untraced) and the
 * cached kernel tid that owns a shard lock.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

__thread int memsnap_in_runtime __attribute__((tls_model("initial-exec")));
static __thread uint32_t cached_tid __attribute__((tls_model("initial-exec")));

uint32_t current_tid(void)
{
    uint32_t tid = cached_tid;
    if (MEMSNAP_UNLIKELY(tid == 0)) {
        tid = (uint32_t)syscall(SYS_gettid);
        cached_tid = tid;
    }
    return tid;
}

void forget_cached_tid(void)
{
    cached_tid = 0;
}
