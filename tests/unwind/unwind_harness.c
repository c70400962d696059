/*
 * A stand-in for the runtime services the DWARF unwinder needs
 * (thread_stack_bounds, runtime_owns_pc, pool_map) and the runtime's
 * reentrancy guard,
 * so that the DWARF unwinder (runtime/unwind_dwarf.c, unwind_cfi.c,
 * unwind_rule_cache.c) can be built into a small shared library of its own
 * and tested, or benchmarked, without the rest of the runtime; it registers
 * the miss lock's fork hooks as runtime/init.c does.
 * "The runtime's own text" is this shared library's executable segment, as
 * in libmemsnap.so. harness_walk_rule_memo walks as the runtime's hooks
 * do, through the calling thread's rule memo (walk_memo.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "internal.h"
#include "unwind.h"
#include "unwind_cfi.h"
#include "walk_memo.h"

struct memsnap_mapping *pool_map(uint32_t kind, uint64_t size)
{
    size = (size + 4095) & ~4095ULL;
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    struct memsnap_mapping *mapping = mem;
    mapping->size = size;
    mapping->kind = kind;
    mapping->used = sizeof *mapping;
    return mapping;
}

__thread struct thread_tls memsnap_tls __attribute__((tls_model("initial-exec")));

static __thread struct stack_bounds cached_bounds;

int thread_stack_bounds(struct stack_bounds *out)
{
    if (cached_bounds.hi == 0) {
        pthread_attr_t attr;
        void *addr;
        size_t size;
        if (pthread_getattr_np(pthread_self(), &attr) != 0)
            return -EINVAL;
        int rc = pthread_attr_getstack(&attr, &addr, &size);
        pthread_attr_destroy(&attr);
        if (rc != 0)
            return -rc;
        cached_bounds.lo = (uint64_t)addr;
        cached_bounds.hi = (uint64_t)addr + size;
    }
    *out = cached_bounds;
    return 0;
}

uint64_t runtime_text_lo = UINT64_MAX, runtime_text_hi;

static int find_own_text(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uint64_t self = (uint64_t)data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uint64_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (self >= lo && self < hi) {
            runtime_text_hi = hi;
            runtime_text_lo = lo;
            return 1;
        }
    }
    return 0;
}

int runtime_owns_pc(uint64_t pc)
{
    return pc >= runtime_text_lo && pc < runtime_text_hi;
}

/* Finds this library's text, then starts the unwinder. 0 or -errno. */
int harness_init(void)
{
    dl_iterate_phdr(find_own_text, (void *)(uintptr_t)&runtime_owns_pc);
    if (runtime_text_hi == 0)
        return -ENOENT;
    /* the miss lock's part of the runtime's fork sequence (runtime/init.c) */
    static int atfork_done;
    if (!atfork_done && pthread_atfork(unwind_fork_prepare, unwind_fork_parent,
                                       unwind_fork_child) == 0)
        atfork_done = 1;
    return unwind_dwarf_init();
}

/* Does nothing; the test calls it through its PLT in a loop and interrupts
 * that loop with signals to catch a thread inside a PLT stub. */
__attribute__((noinline)) void harness_nop(void)
{
    __asm__ volatile("");
}

/* The walk from the caller, through the calling thread's rule memo (mapped
 * on first use) as the hooks' walks are; unwind_dwarf's way when the
 * thread is already walking with it (a signal handler interrupting it:
 * the runtime's reentrancy guard keeps its walks from nesting so). */
__attribute__((noinline)) unsigned harness_walk_rule_memo(uint64_t *pcs, unsigned max,
                                                          uint32_t *total)
{
    static __thread struct walk_state *ws;
    static __thread int walking;
    if (!ws) {
        void *mem = mmap(NULL, sizeof *ws, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
        if (mem == MAP_FAILED)
            return unwind_dwarf(pcs, max, total);
        ws = mem;
    }
    if (walking)
        return unwind_dwarf(pcs, max, total);
    walking = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    struct walk_start start;
    memsnap_unwind_capture(&start);
    unsigned n = unwind_dwarf_walk(&start, ws, pcs, max, total, NULL);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    walking = 0;
    return n;
}
