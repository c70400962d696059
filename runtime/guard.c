/*
 * The runtime's thread-local storage: one small block
 * (struct thread_tls, internal.h) holding the reentrancy guard, the pointer
 * to the thread's record (threads.c), the cached kernel tid that owns a
 * spin lock, the stack bounds the unwinders check loads against and two
 * flags of rare paths. It is reached through a TLS descriptor, so the
 * library needs no static TLS and can be dlopen'ed into a running process
 * (internal.h says what that costs), or, once start-up found it in the
 * static TLS area (init.c), from the thread pointer (hot.tls_offset).
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

__thread struct thread_tls memsnap_tls;

uint32_t fetch_tid(void)
{
    memsnap_tls.tid = (uint32_t)syscall(SYS_gettid);
    return memsnap_tls.tid;
}

void forget_cached_tid(void)
{
    memsnap_tls.tid = 0;
}
