/*
 * The override layer: the malloc family and every C++ operator new/delete
 * (defined here under their mangled names) replace the allocator's when the
 * library is preloaded or linked. Each hook calls the real function, then
 * records the block (sizes are the requested sizes); a free forgets the
 * block before the real free. Allocations during start-up (dlsym's) come
 * from a bootstrap arena; allocations made by the runtime's own work
 * (libdw, pthread_getattr_np...) come from the internal heap, which every
 * free, realloc and malloc_usable_size recognises by address; allocations
 * made while a hook runs (a signal handler interrupting it) pass through
 * untraced and are counted, as is everything allocated after the runtime
 * ran out of memory (until memsnap_stop). A failed operator new is
 * retried by the real operator new, which throws or calls the new_handler.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "tracer.h"

#define HOOK __attribute__((visibility("default")))

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

enum route {
    ROUTE_TRACE,     /* guard now held by this hook: trace, then leave() */
    ROUTE_REAL,      /* real allocator, untraced (not tracing) */
    ROUTE_NESTED,    /* real allocator, untraced, counted (a hook is running) */
    ROUTE_INTERNAL,  /* internal heap: the runtime's own work */
    ROUTE_BOOTSTRAP, /* this thread is resolving the real allocator */
    ROUTE_LIBC,      /* another thread is starting the runtime */
};

static enum route early_route(void)
{
    if (resolving_here())
        return ROUTE_BOOTSTRAP;
    ensure_initialized();
    if (doing_internal_work() && internal_heap_ready())
        return ROUTE_INTERNAL; /* start-up's own work (atfork, libdw) */
    if (__atomic_load_n(&memsnap_ready, __ATOMIC_ACQUIRE))
        return memsnap_in_runtime ? (doing_internal_work() ? ROUTE_INTERNAL : ROUTE_NESTED)
                                  : ROUTE_REAL;
    return real.malloc ? ROUTE_REAL : ROUTE_LIBC;
}

static inline enum route enter(void)
{
    if (MEMSNAP_UNLIKELY(!__atomic_load_n(&memsnap_ready, __ATOMIC_ACQUIRE))) {
        enum route r = early_route();
        if (r != ROUTE_REAL || !__atomic_load_n(&memsnap_ready, __ATOMIC_ACQUIRE))
            return r;
    }
    if (MEMSNAP_UNLIKELY(memsnap_in_runtime))
        return doing_internal_work() ? ROUTE_INTERNAL : ROUTE_NESTED;
    if (!tracing_enabled())
        return ROUTE_REAL;
    memsnap_in_runtime = 1;
    return ROUTE_TRACE;
}

static inline void leave(void)
{
    guard_leave();
}

/* Counts in root.untraced what a hook gave the program without recording
 * it while tracing was asked for: nested in a hook or other runtime work
 * (while tracing, or after the runtime ran out of memory), or any after
 * the runtime ran out of memory. */
static inline void *untraced(enum route r, void *ptr)
{
    int skipping = __atomic_load_n(&hot.skipping, __ATOMIC_RELAXED);
    if (ptr && (skipping || (r == ROUTE_NESTED && tracing_enabled())))
        __atomic_fetch_add(&memsnap_root.untraced, 1, __ATOMIC_RELAXED);
    return ptr;
}

/* ---- the malloc family ---- */

HOOK void *malloc(size_t size)
{
    enum route r = enter();
    if (MEMSNAP_LIKELY(r == ROUTE_TRACE)) {
        void *ptr = real.malloc(size);
        if (ptr)
            trace_alloc(ptr, size);
        leave();
        return ptr;
    }
    if (r == ROUTE_INTERNAL)
        return internal_malloc(size);
    if (r == ROUTE_BOOTSTRAP)
        return bootstrap_alloc(size, 16);
    if (r == ROUTE_LIBC)
        return __libc_malloc(size);
    return untraced(r, real.malloc(size));
}

/* Forgets ptr, then frees it; bootstrap blocks are never freed; internal
 * blocks go back to the internal heap. */
static inline __attribute__((always_inline)) void release(void *ptr)
{
    if (!ptr || bootstrap_owns(ptr))
        return;
    if (MEMSNAP_UNLIKELY(internal_heap_owns(ptr))) {
        internal_free(ptr);
        return;
    }
    if (MEMSNAP_UNLIKELY(!__atomic_load_n(&memsnap_ready, __ATOMIC_ACQUIRE))) {
        if (real.free)
            real.free(ptr);
        else
            __libc_free(ptr);
        return;
    }
    if (!memsnap_in_runtime) {
        memsnap_in_runtime = 1;
        /* The real free reads the block's header: start that miss now, it
         * overlaps with forgetting the block. */
        __builtin_prefetch((const char *)ptr - 16, 1);
        trace_free(ptr);
        guard_leave();
    } else if (defer_free(ptr) == 0) {
        return; /* a signal handler inside the runtime: done when it leaves */
    }
    real.free(ptr);
}

/* realloc by a signal handler that interrupted this thread inside the
 * runtime: the old block may be in the table, which the interrupted code
 * may be changing, so the contents move to a new block and the old one is
 * freed (and forgotten) when the thread leaves the runtime: its address is
 * not reused before its record is gone. */
static __attribute__((noinline, cold)) void *realloc_inside_runtime(enum route r, void *ptr,
                                                               size_t size)
{
    if (size == 0) {
        release(ptr); /* glibc's realloc(ptr, 0) frees */
        return NULL;
    }
    void *fresh = r == ROUTE_INTERNAL ? internal_malloc(size) : real.malloc(size);
    if (!fresh)
        return NULL;
    size_t old = real.malloc_usable_size ? real.malloc_usable_size(ptr) : size;
    memcpy(fresh, ptr, old < size ? old : size);
    release(ptr);
    return r == ROUTE_INTERNAL ? fresh : untraced(r, fresh);
}

HOOK void free(void *ptr)
{
    release(ptr);
}

HOOK void *calloc(size_t count, size_t size)
{
    enum route r = enter();
    if (MEMSNAP_LIKELY(r == ROUTE_TRACE)) {
        void *ptr = real.calloc(count, size);
        if (ptr)
            trace_alloc(ptr, count * size);
        leave();
        return ptr;
    }
    if (r == ROUTE_INTERNAL)
        return internal_calloc(count, size);
    if (r == ROUTE_BOOTSTRAP) {
        size_t bytes;
        if (__builtin_mul_overflow(count, size, &bytes))
            return NULL;
        return bootstrap_alloc(bytes, 16); /* static storage: zeroed */
    }
    if (r == ROUTE_LIBC)
        return __libc_calloc(count, size);
    return untraced(r, real.calloc(count, size));
}

/* realloc of a bootstrap block: a fresh block with a copy. */
static void *realloc_bootstrap(void *ptr, size_t size)
{
    size_t old = bootstrap_usable_size(ptr);
    void *fresh = malloc(size ? size : 1);
    if (fresh)
        memcpy(fresh, ptr, old < size ? old : size);
    return fresh;
}

HOOK void *realloc(void *ptr, size_t size)
{
    if (!ptr)
        return malloc(size);
    if (bootstrap_owns(ptr))
        return realloc_bootstrap(ptr, size);
    if (MEMSNAP_UNLIKELY(internal_heap_owns(ptr)))
        return internal_realloc(ptr, size); /* stays the runtime's memory */
    enum route r = enter();
    if (MEMSNAP_LIKELY(r == ROUTE_TRACE)) {
        /* Forget the old block first: once the real realloc has moved it,
         * another thread may get its address. Peak never counts both. */
        uint64_t old_meta = trace_free(ptr);
        void *fresh = real.realloc(ptr, size);
        if (fresh)
            trace_alloc(fresh, size);
        else if (size != 0 && old_meta)
            trace_restore(ptr, old_meta); /* failed: the old block lives on */
        leave();
        return fresh;
    }
    if (r == ROUTE_INTERNAL || r == ROUTE_NESTED)
        return realloc_inside_runtime(r, ptr, size); /* a program block: ptr is not internal */
    if (r == ROUTE_LIBC || r == ROUTE_BOOTSTRAP)
        return __libc_realloc(ptr, size);
    if (r == ROUTE_REAL && __atomic_load_n(&memsnap_ready, __ATOMIC_ACQUIRE)) {
        /* not tracing: the old block may still be in the table */
        memsnap_in_runtime = 1;
        trace_free(ptr);
        guard_leave();
    }
    return untraced(r, real.realloc(ptr, size));
}

HOOK void *reallocarray(void *ptr, size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, bytes);
}

/* The aligned forms share one body: `call` is the real function's call. */
#define ALIGNED_HOOK(call, align, size)                       \
    enum route r = enter();                                   \
    if (MEMSNAP_LIKELY(r == ROUTE_TRACE)) {                   \
        void *ptr = (call);                                   \
        if (ptr)                                              \
            trace_alloc(ptr, (size));                         \
        leave();                                              \
        return ptr;                                           \
    }                                                         \
    if (r == ROUTE_INTERNAL)                                  \
        return internal_memalign((align), (size));            \
    if (r == ROUTE_BOOTSTRAP)                                 \
        return bootstrap_alloc((size), (align));              \
    if (r == ROUTE_LIBC)                                      \
        return __libc_memalign((align), (size));              \
    return untraced(r, (call))

HOOK void *aligned_alloc(size_t align, size_t size)
{
    ALIGNED_HOOK(real.aligned_alloc(align, size), align, size);
}

HOOK void *memalign(size_t align, size_t size)
{
    ALIGNED_HOOK(real.memalign(align, size), align, size);
}

HOOK void *valloc(size_t size)
{
    ALIGNED_HOOK(real.valloc(size), 4096, size);
}

HOOK void *pvalloc(size_t size)
{
    ALIGNED_HOOK(real.pvalloc(size), 4096, size);
}

static void *real_posix_memalign(size_t align, size_t size, int *err)
{
    void *ptr = NULL;
    *err = real.posix_memalign ? real.posix_memalign(&ptr, align, size) : ENOSYS;
    return *err ? NULL : ptr;
}

HOOK int posix_memalign(void **out, size_t align, size_t size)
{
    int err = 0;
    enum route r = enter();
    void *ptr;
    if (MEMSNAP_LIKELY(r == ROUTE_TRACE)) {
        ptr = real_posix_memalign(align, size, &err);
        if (ptr)
            trace_alloc(ptr, size);
        leave();
    } else if (r == ROUTE_BOOTSTRAP || r == ROUTE_LIBC || r == ROUTE_INTERNAL) {
        if (align < sizeof(void *) || (align & (align - 1)))
            return EINVAL;
        ptr = r == ROUTE_LIBC       ? __libc_memalign(align, size)
              : r == ROUTE_INTERNAL ? internal_memalign(align, size)
                                    : bootstrap_alloc(size, align);
        err = ptr ? 0 : ENOMEM;
    } else {
        ptr = untraced(r, real_posix_memalign(align, size, &err));
    }
    if (!err)
        *out = ptr;
    return err;
}

HOOK size_t malloc_usable_size(void *ptr)
{
    if (!ptr)
        return 0;
    if (bootstrap_owns(ptr))
        return bootstrap_usable_size(ptr);
    if (internal_heap_owns(ptr))
        return internal_usable_size(ptr);
    if (!real.malloc_usable_size)
        resolve_real_allocator();
    return real.malloc_usable_size ? real.malloc_usable_size(ptr) : 0;
}

/* ---- C++ operator new and delete ---- */

/* The real operator new of that mangled name, for the failure path. */
static void *retry_new(const char *mangled, size_t size, size_t align, int has_align)
{
    void *fn = next_symbol(mangled);
    if (!fn) {
        if (strstr(mangled, "nothrow"))
            return NULL;
        abort();
    }
    if (has_align) {
        void *(*aligned_new)(size_t, size_t);
        memcpy(&aligned_new, &fn, sizeof fn);
        return aligned_new(size, align);
    }
    void *(*plain_new)(size_t);
    memcpy(&plain_new, &fn, sizeof fn);
    return plain_new(size);
}

/* nothrow forms take a `const std::nothrow_t &` they ignore: the retry
 * passes only size (and alignment), which the real nothrow new accepts in
 * the same registers. */
#define NEW_HOOK(name, mangled, has_align)                                \
    HOOK void *name(size_t size, size_t align_arg)                        \
    {                                                                     \
        size_t align = (has_align) ? align_arg : 0;                       \
        void *ptr = (has_align) ? memalign(align, size)                   \
                                : malloc(size);                          \
        return ptr ? ptr : retry_new(mangled, size, align, has_align);    \
    }

NEW_HOOK(_Znwm, "_Znwm", 0)
NEW_HOOK(_Znam, "_Znam", 0)
NEW_HOOK(_ZnwmRKSt9nothrow_t, "_ZnwmRKSt9nothrow_t", 0)
NEW_HOOK(_ZnamRKSt9nothrow_t, "_ZnamRKSt9nothrow_t", 0)
NEW_HOOK(_ZnwmSt11align_val_t, "_ZnwmSt11align_val_t", 1)
NEW_HOOK(_ZnamSt11align_val_t, "_ZnamSt11align_val_t", 1)
NEW_HOOK(_ZnwmSt11align_val_tRKSt9nothrow_t, "_ZnwmSt11align_val_tRKSt9nothrow_t", 1)
NEW_HOOK(_ZnamSt11align_val_tRKSt9nothrow_t, "_ZnamSt11align_val_tRKSt9nothrow_t", 1)

#define DELETE_HOOK(name) \
    HOOK void name(void *ptr) { release(ptr); }

DELETE_HOOK(_ZdlPv)
DELETE_HOOK(_ZdaPv)
DELETE_HOOK(_ZdlPvm)
DELETE_HOOK(_ZdaPvm)
DELETE_HOOK(_ZdlPvRKSt9nothrow_t)
DELETE_HOOK(_ZdaPvRKSt9nothrow_t)
DELETE_HOOK(_ZdlPvSt11align_val_t)
DELETE_HOOK(_ZdaPvSt11align_val_t)
DELETE_HOOK(_ZdlPvmSt11align_val_t)
DELETE_HOOK(_ZdaPvmSt11align_val_t)
DELETE_HOOK(_ZdlPvSt11align_val_tRKSt9nothrow_t)
DELETE_HOOK(_ZdaPvSt11align_val_tRKSt9nothrow_t)
