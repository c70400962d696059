/*
 * The override layer: every symbol the runtime interposes is defined here —
 * the malloc family, every C++ operator new/delete (under their mangled
 * names) and dlclose (the DWARF unwinder forgets unloaded code's rules) —
 * and calls into the rest. While tracing, a block is
 * allocated 16 bytes larger (more for an aligned one) and carries a header
 * (block_header.h) that leads free, realloc and malloc_usable_size to its
 * record in O(1); the tracer (tracer.h) records and forgets it. A pointer
 * without a valid header (allocated before the runtime started tracing or
 * was loaded, or by another allocator) goes to the real allocator
 * untouched. Sizes are the requested sizes.
 *
 * Routes: allocations during start-up (dlsym's) come from a bootstrap
 * arena; allocations made by the runtime's own work (libdw,
 * pthread_getattr_np...) come from the internal heap, which every free,
 * realloc and malloc_usable_size recognises by address; allocations made
 * while a hook runs (a signal handler interrupting it) pass through
 * untraced and are counted, as is everything allocated after the runtime
 * ran out of memory (until memsnap_stop); frees of traced blocks made
 * while the thread is inside the runtime are deferred until it leaves. A
 * failed operator new is
 * retried by the real operator new, which throws or calls the new_handler.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_header.h"
#include "tracer.h"
#ifdef MEMSNAP_HAVE_DWARF
#include "unwind_cfi.h"
#endif

#define HOOK __attribute__((visibility("default")))
#define PAGE 4096u

extern void *__libc_malloc(size_t);
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

static enum route early_route(struct thread_tls *tls)
{
    if (resolving_here())
        return ROUTE_BOOTSTRAP;
    ensure_initialized();
    if (doing_internal_work() && internal_heap_ready())
        return ROUTE_INTERNAL; /* start-up's own work (atfork, libdw) */
    if (__atomic_load_n(&memsnap_ready, __ATOMIC_ACQUIRE))
        return tls->in_runtime ? (doing_internal_work() ? ROUTE_INTERNAL : ROUTE_NESTED)
                               : ROUTE_REAL;
    return real.malloc ? ROUTE_REAL : ROUTE_LIBC;
}

/* The guard taken for runtime work on the calling thread's record: its
 * state, or NULL (guard released) when the record cannot be had. */
static inline struct thread_state *take_record(struct thread_tls *tls)
{
    tls->in_runtime = 1;
    struct thread_state *self = tls->self;
    if (MEMSNAP_UNLIKELY(!self)) {
        self = thread_self_slow();
        if (!self) {
            tls->in_runtime = 0;
            return NULL;
        }
    }
    thread_check_clear(self);
    return self;
}

/* The route of a hook's call, before the guard is taken: ROUTE_TRACE when
 * the calling thread may trace now (start-up done, not inside the runtime,
 * tracing on), else how to serve it untraced. */
static inline __attribute__((always_inline)) enum route route_of(struct thread_tls *tls)
{
    if (MEMSNAP_UNLIKELY(!__atomic_load_n(&memsnap_ready, __ATOMIC_ACQUIRE))) {
        enum route r = early_route(tls);
        if (r != ROUTE_REAL || !__atomic_load_n(&memsnap_ready, __ATOMIC_ACQUIRE))
            return r;
    }
    if (MEMSNAP_UNLIKELY(tls->in_runtime))
        return doing_internal_work() ? ROUTE_INTERNAL : ROUTE_NESTED;
    if (!tracing_enabled())
        return ROUTE_REAL;
    return ROUTE_TRACE;
}

/* route_of, with the guard and the thread's record taken for ROUTE_TRACE. */
static inline enum route enter(struct thread_tls *tls, struct thread_state **self)
{
    enum route r = route_of(tls);
    if (r != ROUTE_TRACE)
        return r;
    *self = take_record(tls);
    if (MEMSNAP_UNLIKELY(!*self)) {
        trace_out_of_memory(); /* no record for this thread: no memory */
        return ROUTE_REAL;
    }
    return ROUTE_TRACE;
}

/* Releases the guard, after the frees a signal handler deferred meanwhile. */
static inline void leave(struct thread_tls *tls, struct thread_state *self)
{
    guard_leave(tls, self);
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

/* ---- what the hooks share ---- */

/* An untraced block from the real allocator: align 0 = malloc's. */
static inline __attribute__((always_inline)) void *real_block(size_t size, size_t align, int zero)
{
    if (align)
        return real.memalign(align, size);
    return zero ? real.calloc(1, size) : real.malloc(size);
}

/*
 * A traced block the program may use `room` >= size bytes of, recorded as
 * `size` bytes, aligned to `align` (0 = malloc's 16, else a power of two
 * above 16), zeroed if asked. Guard held; in a sampled table the caller
 * chose to record it.
 */
static inline __attribute__((always_inline)) void *
traced_alloc(struct thread_state *self, size_t size, size_t room, size_t align, int zero)
{
    size_t offset = align ? align : HEADER_BYTES, total;
    if (MEMSNAP_UNLIKELY(__builtin_add_overflow(room, offset, &total))) {
        errno = ENOMEM;
        return NULL;
    }
    char *base = real_block(total, align, zero);
    if (MEMSNAP_UNLIKELY(!base))
        return NULL;
    char *user = base + offset;
    struct memsnap_slot *slot = trace_heap_block(self, user, size);
    header_write(user, header_link(slot, offset));
    return user;
}

/*
 * The allocation hooks' fast path: one load of hot.hooks (internal.h) and,
 * when it says the TLS block is static, the thread's block from the thread
 * pointer (STATIC_TLS_FIELD). In a sampled table, a hook that may trace
 * counts the block up the thread's count-up first (sampling.h), and a
 * block that passes it (unsampled) goes to the real allocator as is:
 * FAST_UNSAMPLED — no guard, no record, no header; only the count-up
 * changed, in one instruction. FAST_TRACE: the thread may trace now (*tls
 * is its TLS block), and *left tells trace_alloc what to do: the bytes left before this block,
 * which did not pass (sample_crossed decides), or COUNTDOWN_RECORD (a
 * table of every block). FAST_ROUTE: the hook's out-of-line part
 * (*_routed) asks route_of, and COUNTDOWN_NOT_TAKEN tells trace_alloc to
 * decide under the guard.
 */
#define COUNTDOWN_NOT_TAKEN INT64_MAX
#define COUNTDOWN_RECORD INT64_MIN
enum fast_path { FAST_UNSAMPLED, FAST_TRACE, FAST_ROUTE };

static inline __attribute__((always_inline)) enum fast_path
fast_path(size_t size, int64_t *left, struct thread_tls **tls)
{
    intptr_t hooks = __atomic_load_n(&hot.hooks, __ATOMIC_RELAXED);
    if (MEMSNAP_LIKELY(hooks & HOOKS_SAMPLE)) { /* one bit test */
        intptr_t at = hooks - HOOKS_SAMPLE;
        if (MEMSNAP_UNLIKELY(STATIC_TLS_FIELD(at, in_runtime)))
            return FAST_ROUTE;
        int64_t before;
        int passes;
        COUNT_UP(STATIC_TLS_FIELD(at, countup), size, before, passes);
        if (MEMSNAP_LIKELY(passes))
            return FAST_UNSAMPLED;
        *left = bytes_left(before);
        *tls = tls_static_block(at);
        return FAST_TRACE;
    }
    if ((hooks & HOOKS_TRACE) &&
        MEMSNAP_LIKELY(!STATIC_TLS_FIELD(hooks - HOOKS_TRACE, in_runtime))) {
        *left = COUNTDOWN_RECORD;
        *tls = tls_static_block(hooks - HOOKS_TRACE);
        return FAST_TRACE;
    }
    return FAST_ROUTE;
}

/* Under the guard: 1 when a block of `size` is to be recorded, 0 when it
 * goes to the real allocator as is (a sampled table's unsampled block);
 * `left` as fast_path says. */
static inline __attribute__((always_inline)) int records(struct thread_tls *tls, int64_t left,
                                                         size_t size)
{
    if (MEMSNAP_LIKELY(left == COUNTDOWN_RECORD))
        return 1;
    if (left == COUNTDOWN_NOT_TAKEN)
        return hot.sample_bytes == 0 || sample_take(tls, size);
    return sample_crossed(tls, size, left);
}

/*
 * The allocation hooks' traced path: the guard and the record taken, the
 * block recorded — in a sampled table only if sample_crossed says so (see
 * fast_path for `left`). Each hook has its own copy out of line
 * (trace_malloc...), so that the hooks' fast path needs no frame.
 */
static inline __attribute__((always_inline)) void *
trace_alloc(struct thread_tls *tls, int64_t left, size_t size, size_t room, size_t align, int zero)
{
    struct thread_state *self = take_record(tls);
    if (MEMSNAP_UNLIKELY(!self)) {
        trace_out_of_memory(); /* no record for this thread: no memory */
        return untraced(ROUTE_REAL, real_block(room, align, zero));
    }
    void *ptr = records(tls, left, size) ? traced_alloc(self, size, room, align, zero)
                                         : real_block(room, align, zero);
    leave(tls, self);
    return ptr;
}

static __attribute__((noinline)) void *trace_malloc(struct thread_tls *tls, int64_t left,
                                                    size_t size)
{
    return trace_alloc(tls, left, size, size, 0, 0);
}

static __attribute__((noinline)) void *trace_calloc(struct thread_tls *tls, int64_t left,
                                                    size_t bytes)
{
    return trace_alloc(tls, left, bytes, bytes, 0, 1);
}

/* align: a power of two; malloc's alignment up to 16. */
static __attribute__((noinline)) void *trace_aligned(struct thread_tls *tls, int64_t left,
                                                     size_t size, size_t room, size_t align)
{
    return trace_alloc(tls, left, size, room, align > HEADER_BYTES ? align : 0, 0);
}

/* Forgets (if recorded) and frees the block at user whose header says
 * link. Guard held, self current. */
static inline void traced_free(struct thread_state *self, void *user, uint64_t link)
{
    struct memsnap_slot *slot = link_slot(link);
    if (slot)
        forget_heap_block(self, user, slot);
    header_erase(user);
    real.free(link_base(user, link));
}

/* Bytes the program may use at user (a block with a header). */
static size_t usable_of(void *user, uint64_t link)
{
    return real.malloc_usable_size(link_base(user, link)) - link_offset(link);
}

/* ---- the malloc family ---- */

/* malloc's calls the fast path does not take (may not trace now, or the
 * TLS block is not in static TLS). */
static __attribute__((noinline)) void *malloc_routed(size_t size)
{
    struct thread_tls *tls = tls_block();
    enum route r = route_of(tls);
    if (r == ROUTE_TRACE) /* tracing started meanwhile */
        return trace_malloc(tls, COUNTDOWN_NOT_TAKEN, size);
    if (r == ROUTE_INTERNAL)
        return internal_malloc(size);
    if (r == ROUTE_BOOTSTRAP)
        return bootstrap_alloc(size, 16);
    if (r == ROUTE_LIBC)
        return __libc_malloc(size);
    return untraced(r, real.malloc(size));
}

HOOK void *malloc(size_t size)
{
    int64_t left;
    struct thread_tls *tls;
    enum fast_path path = fast_path(size, &left, &tls);
    if (MEMSNAP_LIKELY(path == FAST_UNSAMPLED))
        return real.malloc(size);
    if (path == FAST_TRACE)
        return trace_malloc(tls, left, size);
    return malloc_routed(size);
}

/* The block at ptr with a header: forgotten, then freed; a signal handler's
 * free while this thread is inside the runtime (a hook, or the runtime's
 * own work) is deferred until it leaves: the interrupted code may be
 * changing the thread's record, and the address must not be reused before
 * its record is gone. (Deferred during own work outside any hook, it waits
 * for the thread's next hook.) */
static __attribute__((noinline)) void release_ours(void *ptr, uint64_t link)
{
    struct thread_tls *tls = tls_block();
    if (MEMSNAP_UNLIKELY(tls->in_runtime)) {
        struct thread_state *self = tls->self;
        if (link_slot(link) && self) {
            trace_defer_free(self, ptr);
            return;
        }
        header_erase(ptr);
        real.free(link_base(ptr, link));
        return;
    }
    struct thread_state *self = take_record(tls);
    if (MEMSNAP_UNLIKELY(!self)) {
        header_erase(ptr);
        real.free(link_base(ptr, link));
        return;
    }
    traced_free(self, ptr, link);
    leave(tls, self);
}

/* Frees ptr, which has OWN_HEADER_MARK before it: bootstrap blocks are
 * never freed; internal blocks go back to the internal heap; blocks
 * without a header go to the real allocator. */
static inline __attribute__((always_inline)) void release_marked(void *ptr)
{
    if (bootstrap_owns(ptr))
        return;
    if (MEMSNAP_UNLIKELY(internal_heap_owns(ptr))) {
        internal_free(ptr);
        return;
    }
    if (MEMSNAP_UNLIKELY(!__atomic_load_n(&memsnap_ready, __ATOMIC_ACQUIRE))) {
        real.free(ptr); /* glibc's until start-up resolved it */
        return;
    }
    uint64_t link;
    if (header_read(ptr, &link))
        release_ours(ptr, link);
    else
        real.free(ptr);
}

/* Frees ptr. A pointer without OWN_HEADER_MARK before it is none of the
 * runtime's (not traced, internal or bootstrap): the real allocator frees
 * it after that one test, also during start-up (real.free is glibc's free
 * until start-up resolves the next one, real_alloc.c). */
static inline __attribute__((always_inline)) void release(void *ptr)
{
    if (!ptr)
        return;
    if (MEMSNAP_LIKELY(!has_own_mark(ptr))) {
        real.free(ptr);
        return;
    }
    release_marked(ptr);
}

HOOK void free(void *ptr)
{
    release(ptr);
}

/* calloc's calls the fast path does not take. */
static __attribute__((noinline)) void *calloc_routed(size_t count, size_t size)
{
    size_t bytes = count * size; /* checked by calloc */
    struct thread_tls *tls = tls_block();
    enum route r = route_of(tls);
    if (r == ROUTE_TRACE)
        return trace_calloc(tls, COUNTDOWN_NOT_TAKEN, bytes);
    if (r == ROUTE_INTERNAL)
        return internal_calloc(count, size);
    if (r == ROUTE_BOOTSTRAP)
        return bootstrap_alloc(bytes, 16); /* static storage: zeroed */
    if (r == ROUTE_LIBC)
        return __libc_calloc(count, size);
    return untraced(r, real.calloc(count, size));
}

HOOK void *calloc(size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    int64_t left;
    struct thread_tls *tls;
    enum fast_path path = fast_path(bytes, &left, &tls);
    if (MEMSNAP_LIKELY(path == FAST_UNSAMPLED))
        return real.calloc(count, size);
    if (path == FAST_TRACE)
        return trace_calloc(tls, left, bytes);
    return calloc_routed(count, size);
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

/* `fresh` (a new block of `size` bytes, or NULL) with the old contents:
 * the first min(old_room, size) bytes at old. */
static inline void *moved(void *fresh, const void *old, size_t old_room, size_t size)
{
    if (fresh)
        memcpy(fresh, old, old_room < size ? old_room : size);
    return fresh;
}

/* realloc of a traced block (it has a header), while tracing. */
static void *realloc_traced(struct thread_tls *tls, struct thread_state *self, void *user,
                            uint64_t link, size_t size)
{
    if (size == 0) {
        traced_free(self, user, link); /* glibc's realloc(p, 0) frees */
        return NULL;
    }
    int keep_header = link_offset(link) == HEADER_BYTES &&
                      records(tls, COUNTDOWN_NOT_TAKEN, size);
    if (!keep_header) {
        /* an aligned block (whose alignment realloc need not keep), or an
         * unsampled new size: a fresh block */
        void *fresh = hot.sample_bytes == 0 ? traced_alloc(self, size, size, 0, 0)
                                            : real.malloc(size);
        if (moved(fresh, user, usable_of(user, link), size))
            traced_free(self, user, link);
        return fresh;
    }
    size_t total;
    if (__builtin_add_overflow(size, HEADER_BYTES, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    char *fresh = real.realloc(link_base(user, link), total);
    if (!fresh)
        return NULL; /* the old block lives on, still recorded */
    /* forgotten after the move: a reader may see the old record for a
     * moment, never a block without one */
    if (link_slot(link))
        forget_heap_block(self, user, link_slot(link));
    char *now = fresh + HEADER_BYTES;
    header_write(now, header_link(trace_heap_block(self, now, size), HEADER_BYTES));
    return now;
}

/* realloc of a block the hooks did not write (before tracing or before
 * the runtime was loaded, or a sampled table's unsampled block), while
 * tracing: the real allocator's realloc (in place when it can) for a new
 * size a sampled table does not record, else a traced copy. `left` as
 * fast_path says. Guard held. */
static void *realloc_foreign(struct thread_tls *tls, struct thread_state *self, int64_t left,
                             void *ptr, size_t size)
{
    if (size == 0 || !real.malloc_usable_size || !records(tls, left, size))
        return real.realloc(ptr, size);
    void *fresh = traced_alloc(self, size, size, 0, 0);
    if (moved(fresh, ptr, real.malloc_usable_size(ptr), size))
        real.free(ptr);
    return fresh;
}

/* realloc_foreign with the guard taken: realloc's fast path. */
static __attribute__((noinline)) void *trace_realloc_foreign(struct thread_tls *tls, int64_t left,
                                                             void *ptr, size_t size)
{
    struct thread_state *self = take_record(tls);
    if (MEMSNAP_UNLIKELY(!self)) {
        trace_out_of_memory(); /* no record for this thread: no memory */
        return untraced(ROUTE_REAL, real.realloc(ptr, size));
    }
    void *fresh = realloc_foreign(tls, self, left, ptr, size);
    leave(tls, self);
    return fresh;
}

/* realloc of a block with a header while not tracing (or from a signal
 * handler): the old record forgotten, a block without a record (the
 * internal heap's when the handler interrupted the runtime's own work,
 * which serves it like that work). */
static void *realloc_untraced(enum route r, void *user, uint64_t link, size_t size)
{
    if (size == 0) {
        release_ours(user, link);
        return NULL;
    }
    void *fresh = r == ROUTE_INTERNAL ? internal_malloc(size) : real.malloc(size);
    if (moved(fresh, user, usable_of(user, link), size))
        release_ours(user, link);
    return r == ROUTE_INTERNAL ? fresh : untraced(r, fresh);
}

HOOK void *realloc(void *ptr, size_t size)
{
    if (!ptr)
        return malloc(size);
    if (MEMSNAP_LIKELY(!has_own_mark(ptr)) && size != 0) {
        /* none of the runtime's blocks (not traced, internal or bootstrap),
         * as free tells them: the fast path, as malloc's */
        int64_t left;
        struct thread_tls *tls;
        enum fast_path path = fast_path(size, &left, &tls);
        if (MEMSNAP_LIKELY(path == FAST_UNSAMPLED))
            return real.realloc(ptr, size);
        if (path == FAST_TRACE)
            return trace_realloc_foreign(tls, left, ptr, size);
    }
    if (bootstrap_owns(ptr))
        return realloc_bootstrap(ptr, size);
    if (MEMSNAP_UNLIKELY(internal_heap_owns(ptr)))
        return internal_realloc(ptr, size); /* stays the runtime's memory */
    struct thread_tls *tls = tls_block();
    struct thread_state *self = NULL;
    enum route r = enter(tls, &self);
    uint64_t link = 0;
    int ours = __atomic_load_n(&memsnap_ready, __ATOMIC_ACQUIRE) && header_read(ptr, &link);
    if (MEMSNAP_LIKELY(r == ROUTE_TRACE)) {
        void *fresh = ours ? realloc_traced(tls, self, ptr, link, size)
                           : realloc_foreign(tls, self, COUNTDOWN_NOT_TAKEN, ptr, size);
        leave(tls, self);
        return fresh;
    }
    if (ours)
        return realloc_untraced(r, ptr, link, size);
    if (r == ROUTE_INTERNAL)
        return internal_realloc(ptr, size);
    if (r == ROUTE_LIBC || r == ROUTE_BOOTSTRAP)
        return __libc_realloc(ptr, size);
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

/*
 * The aligned forms share one body. `align` is a power of two; `room` the
 * bytes the program may use (pvalloc rounds up to pages); `call` the real
 * function's call for the untraced routes.
 */
/* The aligned forms' calls the fast path does not take. */
static __attribute__((noinline)) void *aligned_routed(size_t align, size_t size, size_t room,
                                                      void *(*call)(size_t, size_t),
                                                      size_t call_align, size_t call_size)
{
    struct thread_tls *tls = tls_block();
    enum route r = route_of(tls);
    if (r == ROUTE_TRACE)
        return trace_aligned(tls, COUNTDOWN_NOT_TAKEN, size, room, align);
    if (r == ROUTE_INTERNAL)
        return internal_memalign(align, room);
    if (r == ROUTE_BOOTSTRAP)
        return bootstrap_alloc(room, align);
    if (r == ROUTE_LIBC)
        return __libc_memalign(align, room);
    return untraced(r, call(call_align, call_size));
}

static inline __attribute__((always_inline)) void *
aligned_hook(size_t align, size_t size, size_t room, void *(*call)(size_t, size_t),
             size_t call_align, size_t call_size)
{
    int64_t left;
    struct thread_tls *tls;
    enum fast_path path = fast_path(size, &left, &tls);
    if (MEMSNAP_LIKELY(path == FAST_UNSAMPLED))
        return call(call_align, call_size);
    if (path == FAST_TRACE)
        return trace_aligned(tls, left, size, room, align);
    return aligned_routed(align, size, room, call, call_align, call_size);
}

/* glibc's memalign: a non-power-of-two alignment is rounded up. 0 when
 * impossible. */
static size_t power_of_two_at_least(size_t align)
{
    if (align > SIZE_MAX / 2 + 1)
        return 0;
    size_t a = 1;
    while (a < align)
        a <<= 1;
    return a;
}

static void *call_memalign(size_t align, size_t size)
{
    return real.memalign(align, size);
}

static void *call_aligned_alloc(size_t align, size_t size)
{
    return real.aligned_alloc(align, size);
}

static void *call_valloc(size_t align, size_t size)
{
    (void)align;
    return real.valloc(size);
}

static void *call_pvalloc(size_t align, size_t size)
{
    (void)align;
    return real.pvalloc(size);
}

HOOK void *memalign(size_t align, size_t size)
{
    size_t a = power_of_two_at_least(align);
    if (!a) {
        errno = EINVAL;
        return NULL;
    }
    return aligned_hook(a, size, size, call_memalign, align, size);
}

HOOK void *aligned_alloc(size_t align, size_t size)
{
    if (align & (align - 1)) /* left to the real one to accept or refuse */
        return real.aligned_alloc ? real.aligned_alloc(align, size) : memalign(align, size);
    return aligned_hook(align ? align : 1, size, size, call_aligned_alloc, align, size);
}

HOOK void *valloc(size_t size)
{
    return aligned_hook(PAGE, size, size, call_valloc, PAGE, size);
}

HOOK void *pvalloc(size_t size)
{
    size_t room = (size + PAGE - 1) & ~(size_t)(PAGE - 1);
    if (room < size) {
        errno = ENOMEM;
        return NULL;
    }
    return aligned_hook(PAGE, size, room ? room : PAGE, call_pvalloc, PAGE, size);
}

HOOK int posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    int saved = errno;
    errno = 0;
    void *ptr = memalign(align, size);
    int err = ptr ? 0 : (errno ? errno : ENOMEM);
    errno = saved;
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
    if (!real.malloc_usable_size)
        return 0;
    uint64_t link;
    if (__atomic_load_n(&memsnap_ready, __ATOMIC_ACQUIRE) && header_read(ptr, &link))
        return usable_of(ptr, link);
    return real.malloc_usable_size(ptr);
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

#ifdef MEMSNAP_HAVE_DWARF
/* Once a library is unloaded its address range may receive other code: the
 * DWARF unwinder forgets every cached rule (unwind_cfi.h). real_dlclose is
 * resolved on first use; racing threads store the same value. */
HOOK int dlclose(void *handle)
{
    static int (*real_dlclose)(void *);
    if (real_dlclose == NULL) {
        real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
        if (real_dlclose == NULL)
            return -1;
    }
    int rc = real_dlclose(handle);
    unwind_code_unloaded();
    return rc;
}
#endif
