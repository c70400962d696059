/*
 * Per-thread state of the runtime, in initial-exec TLS so reading it never
 * allocates or takes a lock: the reentrancy guard (set while the thread runs
 * runtime code, so allocations made meanwhile pass through untraced; its
 * value tells the runtime's own work, served by the internal heap, from a
 * hook in progress) and the cached kernel tid that owns a shard lock.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

__thread int memsnap_in_runtime __attribute__((tls_model("initial-exec")));
__thread uint32_t memsnap_cached_tid __attribute__((tls_model("initial-exec")));

uint32_t fetch_tid(void)
{
    memsnap_cached_tid = (uint32_t)syscall(SYS_gettid);
    return memsnap_cached_tid;
}

void forget_cached_tid(void)
{
    memsnap_cached_tid = 0;
}
