/*
 * Where an unwinder may read: the calling thread's stack bounds (from
 * pthread_getattr_np, once per thread, cached in the runtime's TLS block of
 * guard.c; it may allocate, which is fine because the caller holds the
 * reentrancy guard), and the runtime's own code range (from its ELF program
 * headers, found through the linker's __ehdr_start), so hook frames are
 * never recorded.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <pthread.h>

#include "internal.h"
#include "unwind.h"

int thread_stack_bounds(struct stack_bounds *out)
{
    struct thread_tls *tls = tls_block();
    if (MEMSNAP_UNLIKELY(tls->stack_state == 0)) {
        pthread_attr_t attr;
        void *addr = NULL;
        size_t size = 0;
        int saved_errno = errno; /* it reads /proc/self/maps for the main thread */
        internal_work_begin(); /* it allocates: the internal heap's */
        int rc = pthread_getattr_np(pthread_self(), &attr);
        if (rc == 0) {
            rc = pthread_attr_getstack(&attr, &addr, &size);
            pthread_attr_destroy(&attr);
        }
        internal_work_end();
        errno = saved_errno;
        if (rc == 0 && size != 0) {
            tls->stack_lo = (uint64_t)(uintptr_t)addr;
            tls->stack_hi = tls->stack_lo + size;
            tls->stack_state = 1;
        } else {
            tls->stack_state = rc ? -rc : -EINVAL;
        }
    }
    if (tls->stack_state < 0)
        return tls->stack_state;
    out->lo = tls->stack_lo;
    out->hi = tls->stack_hi;
    return 0;
}

extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

uint64_t runtime_text_lo = UINT64_MAX, runtime_text_hi;

static void find_own_text(void)
{
    const ElfW(Ehdr) *ehdr = &__ehdr_start;
    const ElfW(Phdr) *phdr = (const ElfW(Phdr) *)((const char *)ehdr + ehdr->e_phoff);
    uint64_t bias = UINT64_MAX;
    for (unsigned i = 0; i < ehdr->e_phnum; i++)
        if (phdr[i].p_type == PT_LOAD && phdr[i].p_offset == 0)
            bias = (uint64_t)(uintptr_t)ehdr - phdr[i].p_vaddr;
    if (bias == UINT64_MAX)
        return;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < ehdr->e_phnum; i++) {
        if (phdr[i].p_type != PT_LOAD || !(phdr[i].p_flags & PF_X))
            continue;
        if (bias + phdr[i].p_vaddr < lo)
            lo = bias + phdr[i].p_vaddr;
        if (bias + phdr[i].p_vaddr + phdr[i].p_memsz > hi)
            hi = bias + phdr[i].p_vaddr + phdr[i].p_memsz;
    }
    runtime_text_hi = hi;
    __atomic_store_n(&runtime_text_lo, lo, __ATOMIC_RELEASE);
}

int runtime_owns_pc(uint64_t pc)
{
    if (MEMSNAP_UNLIKELY(runtime_text_lo == UINT64_MAX))
        find_own_text();
    return pc >= runtime_text_lo && pc < runtime_text_hi;
}
