/*
 * The allocator the runtime interposes on, found with dlsym(RTLD_NEXT) the
 * first time a hook runs. dlsym may itself allocate (its error buffer), so
 * while the resolving thread is inside dlsym its allocations come from a
 * static bootstrap arena; pointers into the arena are recognised by every
 * hook and never handed to the real allocator (free ignores them).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "internal.h"

/* glibc's own entry points: used if RTLD_NEXT finds nothing. */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

/* Every field is set once, by resolve_real_allocator(), each with one
 * aligned store. `free` is glibc's from the start, so that free() needs
 * no test of start-up to hand a block that is none of the runtime's to it
 * (override.c); until start-up, those are blocks glibc allocated. */
struct real_allocator real __attribute__((aligned(64))) = {.free = __libc_free};

/* 0 = not resolved, 1 = being resolved, 2 = done */
static int real_state;

/* Before each bootstrap block: its size, then OWN_HEADER_MARK. */
#define BOOTSTRAP_HEADER 16
unsigned char bootstrap_arena[BOOTSTRAP_BYTES] __attribute__((aligned(4096)));
static size_t bootstrap_used;

void *bootstrap_alloc(size_t size, size_t align)
{
    if (align < BOOTSTRAP_HEADER)
        align = BOOTSTRAP_HEADER;
    if (align & (align - 1))
        return NULL;
    for (;;) {
        size_t used = __atomic_load_n(&bootstrap_used, __ATOMIC_RELAXED);
        size_t start = (used + BOOTSTRAP_HEADER + align - 1) & ~(align - 1);
        size_t end = start + ((size + 15) & ~(size_t)15);
        if (size > BOOTSTRAP_BYTES || end > BOOTSTRAP_BYTES)
            return NULL;
        if (__atomic_compare_exchange_n(&bootstrap_used, &used, end, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            uint64_t mark = OWN_HEADER_MARK;
            memcpy(bootstrap_arena + start - BOOTSTRAP_HEADER, &size, sizeof size);
            memcpy(bootstrap_arena + start - sizeof mark, &mark, sizeof mark);
            return bootstrap_arena + start; /* static storage: already zero */
        }
    }
}

size_t bootstrap_usable_size(const void *ptr)
{
    size_t size;
    memcpy(&size, (const unsigned char *)ptr - BOOTSTRAP_HEADER, sizeof size);
    return size;
}

int resolving_here(void)
{
    return memsnap_tls.resolving;
}

void *next_symbol(const char *name)
{
    int saved_errno = errno;
    internal_work_begin(); /* dlsym's error buffer is the runtime's */
    void *sym = dlsym(RTLD_NEXT, name);
    internal_work_end();
    errno = saved_errno;
    return sym;
}

#define RESOLVE(field, fallback)                                   \
    do {                                                           \
        void *sym_ = dlsym(RTLD_NEXT, #field);                     \
        if (sym_)                                                  \
            memcpy(&resolved.field, &sym_, sizeof sym_);           \
        else                                                       \
            resolved.field = (fallback);                           \
    } while (0)
/* One field of `real` from `resolved`, in one store (free() may read it
 * meanwhile on another thread). */
#define PUBLISH(field) __atomic_store_n(&real.field, resolved.field, __ATOMIC_RELAXED)

void resolve_real_allocator(void)
{
    int expected = 0;
    if (__atomic_load_n(&real_state, __ATOMIC_ACQUIRE) == 2)
        return;
    if (!__atomic_compare_exchange_n(&real_state, &expected, 1, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&real_state, __ATOMIC_ACQUIRE) != 2)
            __builtin_ia32_pause();
        return;
    }
    int was = memsnap_tls.in_runtime;
    memsnap_tls.in_runtime = 1;
    memsnap_tls.resolving = 1;
    struct real_allocator resolved = {0};
    RESOLVE(malloc, __libc_malloc);
    RESOLVE(free, __libc_free);
    RESOLVE(calloc, __libc_calloc);
    RESOLVE(realloc, __libc_realloc);
    RESOLVE(posix_memalign, NULL);
    RESOLVE(aligned_alloc, __libc_memalign);
    RESOLVE(memalign, __libc_memalign);
    RESOLVE(valloc, __libc_valloc);
    RESOLVE(pvalloc, __libc_pvalloc);
    RESOLVE(malloc_usable_size, NULL);
    PUBLISH(free);
    PUBLISH(calloc);
    PUBLISH(realloc);
    PUBLISH(posix_memalign);
    PUBLISH(aligned_alloc);
    PUBLISH(memalign);
    PUBLISH(valloc);
    PUBLISH(pvalloc);
    PUBLISH(malloc_usable_size);
    __atomic_store_n(&real.malloc, resolved.malloc, __ATOMIC_RELEASE); /* last: "resolved" */
    memsnap_tls.resolving = 0;
    memsnap_tls.in_runtime = was;
    __atomic_store_n(&real_state, 2, __ATOMIC_RELEASE);
}
