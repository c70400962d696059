/*
 * Declarations shared by the runtime's files (never installed, never
 * exported: the library is built with -fvisibility=hidden). Each group below
 * names the file that implements it: the per-thread TLS and reentrancy
 * guard, the real allocator, the runtime's mmap pool and internal heap, the
 * stack depot, the root and the hooks' copy of it, the flags and start-up.
 * The tracing machinery has headers of its own: threads.h (thread records),
 * chunks.h (block slots), counters.h (per-thread counters), block_header.h
 * (the header before each traced block), sampling.h and tracer.h.
 */
#ifndef MEMSNAP_RUNTIME_INTERNAL_H
#define MEMSNAP_RUNTIME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "memsnap/layout.h"

#define MEMSNAP_LIKELY(x) __builtin_expect(!!(x), 1)
#define MEMSNAP_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* On the runtime's own globals that the hooks read: defined in this
 * library (-fvisibility=hidden), so code reaches them directly, not
 * through the GOT. */
#define RUNTIME_LOCAL __attribute__((visibility("hidden")))

/* ---- guard.c: the runtime's per-thread TLS (one block, TLS descriptors) ---- */

struct thread_state; /* threads.h */

/*
 * Everything the runtime keeps in TLS, in one small block reached through
 * a TLS descriptor (runtime/meson.build): preloaded or linked, the block is
 * in static TLS and reading it never allocates, takes a lock or calls
 * __tls_get_addr; dlopen'ed into a running process (runtime/inject_got.c)
 * it needs no static TLS, and the dynamic linker allocates a thread's
 * block (with libc's malloc, not the hooks) on that thread's first call
 * into the runtime. The rest of a thread's
 * state lives in its thread record (threads.h), found through `self`.
 */
struct thread_tls {
    /* The thread's record and state, NULL until its first traced call. */
    struct thread_state *self;
    /* The reentrancy guard: nonzero while this thread runs runtime code:
     * nothing allocated meanwhile is traced. A hook sets it to 1; the
     * runtime's own work that calls code which allocates (libdw,
     * pthread_getattr_np, dlsym, start-up) adds INTERNAL_WORK_UNIT, and what
     * that code allocates is the runtime's memory: it comes from the
     * internal heap (internal_heap.c). Allocations made while only a hook
     * holds it (a signal handler interrupting the hook) go to the real
     * allocator and are counted in root.untraced. */
    int in_runtime;
    uint32_t tid;        /* cached kernel tid, 0 = not fetched yet */
    uint64_t stack_lo;   /* stack_bounds.c: the thread's stack */
    uint64_t stack_hi;
    int32_t stack_state; /* 1 known, 0 not looked up, -errno */
    uint16_t resolving;  /* real_alloc.c: inside resolve_real_allocator */
    uint16_t in_miss;    /* the DWARF unwinder's miss path runs */
    /* sampling.h: minus the bytes left before the next sampled heap
     * block (< 0), or >= 0 when none is drawn for the next allocation;
     * each allocation adds its size to it. Changed only by a single
     * instruction outside the guard (a signal handler's hook comes before
     * or after it, never inside) */
    int64_t countup;
    uint64_t rng;        /* sampling.c: xorshift state, 0 = not seeded */
};
extern __thread struct thread_tls memsnap_tls;

#define INTERNAL_WORK_UNIT 0x10000
static inline int doing_internal_work(void)
{
    return memsnap_tls.in_runtime >= INTERNAL_WORK_UNIT;
}
static inline void internal_work_begin(void)
{
    memsnap_tls.in_runtime += INTERNAL_WORK_UNIT;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
static inline void internal_work_end(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    memsnap_tls.in_runtime -= INTERNAL_WORK_UNIT;
}
/* The calling thread's kernel tid (cached; reset in a fork child). */
uint32_t fetch_tid(void);
static inline uint32_t current_tid(void)
{
    uint32_t tid = memsnap_tls.tid;
    return __builtin_expect(tid != 0, 1) ? tid : fetch_tid();
}
void forget_cached_tid(void);

/*
 * Bit 3 of the 8 bytes right before a block: set in every header the
 * runtime writes before a block it hands out (a traced block's cookie,
 * block_header.h; the internal heap's and the bootstrap arena's headers),
 * never in glibc's (the chunk's size there is a multiple of 16, its flags
 * in bits 0-2). So free hands a pointer without it to the real allocator
 * at once; any other allocator's pointer may have it and takes the full
 * checks.
 */
#define OWN_HEADER_MARK 8ULL
static inline int has_own_mark(const void *ptr)
{
    return (((const uint64_t *)ptr)[-1] & OWN_HEADER_MARK) != 0;
}

/* ---- real_alloc.c: the allocator we interpose on (dlsym RTLD_NEXT) ---- */

struct real_allocator {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
};
extern struct real_allocator real RUNTIME_LOCAL;
/* Resolves `real` once (thread-safe); until it is done, the resolving
 * thread's allocations come from a static bootstrap arena. */
void resolve_real_allocator(void);
/* Bootstrap arena: allocation while resolving, and recognition of its
 * pointers (which are never freed; inline: every free asks). */
#define BOOTSTRAP_BYTES (256 * 1024)
extern unsigned char bootstrap_arena[BOOTSTRAP_BYTES] RUNTIME_LOCAL;
static inline int bootstrap_owns(const void *ptr)
{
    return (uintptr_t)ptr - (uintptr_t)bootstrap_arena < BOOTSTRAP_BYTES;
}
void *bootstrap_alloc(size_t size, size_t align);
size_t bootstrap_usable_size(const void *ptr);
/* True while the calling thread is inside resolve_real_allocator(). */
int resolving_here(void);
/* Address of the next definition of a symbol (e.g. the real operator new). */
void *next_symbol(const char *name);

/* ---- mmap_pool.c: every byte the runtime uses ---- */

/* Maps `size` bytes (rounded up to pages) of kind MEMSNAP_MAP_*, header
 * filled in (used = sizeof header), linked into root.mappings, counted in
 * root.runtime_bytes. NULL when out of memory (the caller stops tracing). */
struct memsnap_mapping *pool_map(uint32_t kind, uint64_t size);
/* Links `size` bytes at `mapping` (page-aligned, readable and writable,
 * mapped by the caller) like pool_map does: header filled in, on
 * root.mappings, counted in root.runtime_bytes. */
void pool_link(struct memsnap_mapping *mapping, uint32_t kind, uint64_t size);
/* Reserves address space (PROT_NONE, no memory) for the `nth` step of a
 * region the caller commits by parts (mprotect): 1 MiB for the first,
 * doubling up to 64 MiB, or `need` when larger; *bytes = what was
 * reserved. NULL when out of address space. The caller links what it
 * commits (pool_link). */
void *pool_reserve(unsigned nth, uint64_t need, uint64_t *bytes);
/* Consumes one mapping of the test failure budget: 0 when the next mapping
 * must fail (MEMSNAP_TEST_MMAP_FAIL_AFTER), else 1. */
int pool_take_budget(void);
/* Unlinks and unmaps a mapping from pool_map. */
void pool_unmap(struct memsnap_mapping *mapping);
/* Test-only failure injection: fail after `n` more successful mappings
 * (-1 = never). */
void pool_fail_after(long n);
void pool_lock_all(void);   /* fork: taken last */
void pool_unlock_all(void);
void pool_reset_lock(void);

/* ---- internal_heap.c: the runtime's own malloc'd memory ---- */

/* The address ranges the heap reserved (pool_reserve), in order: entries
 * [0, internal_heap_nranges) are set, each written once before nranges
 * counts it (release), so a reader that loads nranges (acquire) sees them.
 * Nearly always one range: telling an internal pointer from the program's
 * costs a compare per range. */
#define INTERNAL_HEAP_RANGES 16
struct heap_range {
    uintptr_t base;
    uintptr_t span;
};
extern struct heap_range internal_heap_ranges[INTERNAL_HEAP_RANGES] RUNTIME_LOCAL;
extern unsigned internal_heap_nranges RUNTIME_LOCAL;
static inline int internal_heap_owns(const void *ptr)
{
    unsigned n = __atomic_load_n(&internal_heap_nranges, __ATOMIC_ACQUIRE);
    if (MEMSNAP_LIKELY(n == 1)) /* the common case, without the loop */
        return (uintptr_t)ptr - internal_heap_ranges[0].base < internal_heap_ranges[0].span;
    for (unsigned i = 0; i < n; i++)
        if ((uintptr_t)ptr - internal_heap_ranges[i].base < internal_heap_ranges[i].span)
            return 1;
    return 0;
}
/* True once internal_heap_init() reserved the first range. */
static inline int internal_heap_ready(void)
{
    return __atomic_load_n(&internal_heap_nranges, __ATOMIC_ACQUIRE) != 0;
}
/* Reserves the first range (idempotent): 0 or -ENOMEM. */
int internal_heap_init(void);
/* The malloc family for the runtime's own work. A request the heap cannot
 * serve (out of memory, or re-entered by a signal handler on the thread
 * that holds its lock) goes to the real allocator and is counted in
 * root.untraced. */
void *internal_malloc(size_t size);
void *internal_calloc(size_t count, size_t size);
/* align: any value; rounded up to a power of two of at least 16. */
void *internal_memalign(size_t align, size_t size);
/* ptr: NULL, an internal pointer or a real-allocator pointer. */
void *internal_realloc(void *ptr, size_t size);
/* ptr: an internal pointer (internal_heap_owns). */
void internal_free(void *ptr);
size_t internal_usable_size(const void *ptr);
void internal_heap_lock(void);   /* fork: before the pool's lock */
void internal_heap_unlock(void);
void internal_heap_reset_lock(void);

/* ---- depot.c: interned (domain, stack) sites ---- */

int depot_init(void);
/* 1 once depot_init succeeded: the runtime can trace. */
int depot_ready(void);
/* The site of (domain, pcs[0..nframes), total); created if new. NULL when
 * the runtime is out of memory or of site ids. Lock-free for a known
 * stack; a new one takes the depot lock. */
struct memsnap_site *depot_intern(uint32_t domain, const uint64_t *pcs, unsigned nframes,
                                  uint32_t total_nframes);
void depot_lock(void);
void depot_unlock(void);
void depot_reset_lock(void);

/* ---- root.c: the root, and the hooks' read-mostly copy of it ---- */

extern struct memsnap_root memsnap_root;
void root_fill_header(void);

/*
 * What every hook reads, on a cache line of its own that is written only
 * when tracing starts, stops or is cleared: root.state shares its line
 * with root.current_bytes, which folds write, and root.epoch, which a
 * debugger writes. `tracing`, `limit`, `sample_bytes` and `clear_gen`
 * mirror the root's, and `hooks` follows them and `ready`
 * (publish_state() keeps them equal).
 */
enum hooks_mode { /* one bit each, so that a hook tests its mode in one instruction */
    HOOKS_ROUTE = 0,  /* start-up not finished, not tracing, or the TLS block
                       * not static: each hook finds its route */
    HOOKS_TRACE = 1,  /* tracing every heap block */
    HOOKS_SAMPLE = 2, /* tracing a sampled table */
    HOOKS_MODE_MASK = 3,
};
_Static_assert(_Alignof(struct thread_tls) > HOOKS_MODE_MASK, "hot.hooks: mode in the low bits");
struct runtime_hot {
    int ready;             /* start-up finished (init.c) */
    uint32_t tracing;      /* root.state & MEMSNAP_STATE_TRACING, as 0/1 */
    uint32_t limit;        /* root.traceback_limit, capped at MEMSNAP_MAX_FRAMES */
    uint32_t unwinder;     /* root.unwinder */
    uint32_t clear_gen;    /* root.clear_gen */
    /* 1 while tracing is off because the runtime ran out of memory (set
     * before TRACING is cleared, cleared by memsnap_stop): allocations
     * made meanwhile are counted in root.untraced. */
    uint32_t skipping;
    uint64_t sample_bytes; /* root.sample_bytes: 0 = every heap block */
    uint64_t cookie_key;   /* block_header.h: the per-process secret */
    /* The offset of the runtime's TLS block from the thread pointer when
     * it lies in the static TLS area, the same in every thread (preloaded
     * or linked: always; dlopen'ed: when the dynamic linker had room),
     * else 0: tls_block() below. Set once by start-up (init.c). */
    intptr_t tls_offset;
    /* What the allocation hooks' fast path reads, one word for ready,
     * tracing, sample_bytes and tls_offset: HOOKS_ROUTE (0), or, when the
     * TLS block is static, its offset (tls_offset, aligned) plus the mode,
     * HOOKS_TRACE or HOOKS_SAMPLE: the hook reaches the thread's block
     * from the thread pointer with no other load (STATIC_TLS_FIELD). */
    intptr_t hooks;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct runtime_hot) == 64, "hot: one cache line");
extern struct runtime_hot hot RUNTIME_LOCAL;

/* The calling thread's TLS block. Through the TLS descriptor, each access
 * to memsnap_tls costs a call (and the compiler does not reuse one across
 * calls or asm): a hook takes this pointer once and passes it on. In
 * static TLS the block is found from the thread pointer, with no call:
 * tls_static_block(offset) gives it then (only then: the allocation hooks'
 * fast paths, which must make no call, run only when hot.hooks says
 * so and gives the offset, and read the block's fields with
 * STATIC_TLS_FIELD); tls_block() gives it always. The empty asm makes the compiler keep the address in a
 * register. */
static inline __attribute__((always_inline)) struct thread_tls *
tls_static_block(intptr_t offset)
{
    return (struct thread_tls *)((char *)__builtin_thread_pointer() + offset);
}
/* A field of the calling thread's TLS block at `offset` (static TLS) from
 * the thread pointer, as an lvalue: where the compiler knows the %fs
 * segment, one %fs-relative access with the offset in a register and the
 * field's position as displacement (no address computed); elsewhere, from
 * the thread pointer. */
#if defined(__x86_64__) && defined(__SEG_FS)
#define STATIC_TLS_FIELD(offset, field)                          \
    (*(__typeof__(((struct thread_tls *)0)->field) __seg_fs *)(  \
        (offset) + (intptr_t)offsetof(struct thread_tls, field)))
#else
#define STATIC_TLS_FIELD(offset, field) \
    (((struct thread_tls *)((char *)__builtin_thread_pointer() + (offset)))->field)
#endif
static inline __attribute__((always_inline)) struct thread_tls *tls_block(void)
{
    intptr_t offset = __atomic_load_n(&hot.tls_offset, __ATOMIC_RELAXED);
    struct thread_tls *tls;
    if (MEMSNAP_LIKELY(offset != 0))
        tls = (struct thread_tls *)((char *)__builtin_thread_pointer() + offset);
    else
        tls = &memsnap_tls;
    __asm__("" : "+r"(tls));
    return tls;
}

/* Copies root.state/traceback_limit/sample_bytes/clear_gen into `hot`
 * (and sets hot.hooks) after any change to them or to hot.ready.
 * Lock-free and safe against concurrent changers: each one stores, then
 * checks the root still says what it stored, and repeats if not. */
void publish_state(void);

static inline int tracing_enabled(void)
{
    return __atomic_load_n(&hot.tracing, __ATOMIC_RELAXED) != 0;
}

/* ---- flags.c: environment variables (flags.def) ---- */

enum unwind_choice { UNWIND_AUTO, UNWIND_FP, UNWIND_DWARF };
struct runtime_flags {
#define MEMSNAP_FLAG_FIELD(env, field, kind, dflt, help) long field;
#include "flags.def"
#undef MEMSNAP_FLAG_FIELD
};
extern struct runtime_flags flags;
/* Parses the environment; on a bad value prints one line and returns -EINVAL
 * (the caller leaves tracing off). */
int flags_parse(void);
void flags_print_help(void);
/* One line on stderr ("memsnap: " + parts + "\n"), without stdio or malloc. */
void say(const char *a, const char *b, const char *c, const char *d);

/* ---- stack_bounds.c ---- */

/* The runtime's own code [runtime_text_lo, runtime_text_hi), filled at
 * start-up (runtime_owns_pc() fills it on first use otherwise). */
extern uint64_t runtime_text_lo, runtime_text_hi;
static inline int runtime_owns_pc_fast(uint64_t pc)
{
    return pc - runtime_text_lo < runtime_text_hi - runtime_text_lo;
}

/* ---- init.c ---- */

/* Runs the runtime's start-up once; cheap after the first call. */
void ensure_initialized(void);
#define memsnap_ready (hot.ready) /* start-up finished */

/* ---- tracer.c ---- */

/* Stops tracing for good after an out-of-memory; prints one line once.
 * From then on (until memsnap_stop) every allocation counts as untraced. */
void trace_out_of_memory(void);

#endif /* MEMSNAP_RUNTIME_INTERNAL_H */
