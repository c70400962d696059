/*
 * Declarations shared by the runtime's files (never installed, never
 * exported: the library is built with -fvisibility=hidden). Each group below
 * names the file that implements it: the reentrancy guard and per-thread
 * state, the real allocator, the runtime's mmap pool, the block table, the
 * stack depot, the tracer that ties them together, the flags and start-up.
 */
#ifndef MEMSNAP_RUNTIME_INTERNAL_H
#define MEMSNAP_RUNTIME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "memsnap/layout.h"

#define MEMSNAP_LIKELY(x) __builtin_expect(!!(x), 1)
#define MEMSNAP_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- guard.c: per-thread state (initial-exec TLS) ---- */

/* Nonzero while this thread runs runtime code: nothing allocated meanwhile
 * is traced. A hook sets it to 1; the runtime's own work that calls code
 * which allocates (libdw, pthread_getattr_np, dlsym, start-up) adds
 * INTERNAL_WORK_UNIT, and what that code allocates is the runtime's memory:
 * it comes from the internal heap (internal_heap.c). Allocations made while
 * only a hook holds it (a signal handler interrupting the hook) go to the
 * real allocator and are counted in root.untraced. */
extern __thread int memsnap_in_runtime __attribute__((tls_model("initial-exec")));
#define INTERNAL_WORK_UNIT 0x10000
static inline int doing_internal_work(void)
{
    return memsnap_in_runtime >= INTERNAL_WORK_UNIT;
}
static inline void internal_work_begin(void)
{
    memsnap_in_runtime += INTERNAL_WORK_UNIT;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
/*
 * Blocks freed by a signal handler that interrupted this thread inside the
 * runtime (a hook, or the runtime's own work): such a block may be in the
 * table, which the interrupted code may be changing, so forgetting it and
 * the real free wait until the thread leaves the runtime. Written by
 * defer_free (slots claimed by one instruction, so a handler interrupting
 * another handler's push is safe), drained by run_deferred_frees (tracer.c).
 */
#define DEFERRED_FREES 16
struct deferred_frees {
    unsigned count;
    void *ptr[DEFERRED_FREES];
};
extern __thread struct deferred_frees memsnap_deferred __attribute__((tls_model("initial-exec")));
/* Queues ptr: 0, or -ENOSPC when the queue is full (the caller frees it
 * at once; its record stays until its address is recorded again). */
int defer_free(void *ptr);
/* Forgets and frees every queued block. The guard is 0. */
void run_deferred_frees(void);
/* A hook (or an API call) leaves the runtime: the guard back to 0, then
 * the frees a handler deferred meanwhile. (Frees deferred during the
 * runtime's own work outside any hook wait for the thread's next hook.) */
static inline void guard_leave(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    memsnap_in_runtime = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (MEMSNAP_UNLIKELY(__atomic_load_n(&memsnap_deferred.count, __ATOMIC_RELAXED) != 0))
        run_deferred_frees();
}
static inline void internal_work_end(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    memsnap_in_runtime -= INTERNAL_WORK_UNIT;
}
/* The calling thread's kernel tid (cached; reset in a fork child). */
extern __thread uint32_t memsnap_cached_tid __attribute__((tls_model("initial-exec")));
uint32_t fetch_tid(void);
static inline uint32_t current_tid(void)
{
    uint32_t tid = memsnap_cached_tid;
    return __builtin_expect(tid != 0, 1) ? tid : fetch_tid();
}
void forget_cached_tid(void);

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
extern struct real_allocator real;
/* Resolves `real` once (thread-safe); until it is done, the resolving
 * thread's allocations come from a static bootstrap arena. */
void resolve_real_allocator(void);
/* Bootstrap arena: allocation while resolving, and recognition of its
 * pointers (which are never freed; inline: every free asks). */
#define BOOTSTRAP_BYTES (256 * 1024)
extern unsigned char bootstrap_arena[BOOTSTRAP_BYTES];
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
extern struct heap_range internal_heap_ranges[INTERNAL_HEAP_RANGES];
extern unsigned internal_heap_nranges;
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

/* ---- spinlock.h is used by table.c and depot.c ---- */

/* ---- table.c: the sharded block table ---- */

int table_init(uint32_t nshards);
/* Records a block (addr, size, site); replaces an existing record with the
 * same (addr, domain). Updates the site's live pair, its total pair when
 * count_total, and current/peak. 0 or -ENOMEM. */
int table_insert(uint64_t addr, uint64_t size, struct memsnap_site *site, int count_total);
/* Removes the record (addr, domain) and updates the counters; stores the
 * removed slot's meta in *meta when meta != NULL. 0, or -ENOENT. */
int table_remove(uint64_t addr, uint32_t domain, uint64_t *meta);
/* Empties every shard and zeroes all counters (site pairs, current, peak). */
void table_clear_all(void);
void table_lock_all(void);
void table_unlock_all(void);
void table_reset_locks(void);
/* Shard index and first probe slot of an address (docs/layout.md). */
static inline uint64_t table_hash(uint64_t addr)
{
    /* murmur3's 64-bit finalizer */
    addr ^= addr >> 33;
    addr *= 0xff51afd7ed558ccdULL;
    addr ^= addr >> 33;
    addr *= 0xc4ceb9fe1a85ec53ULL;
    addr ^= addr >> 33;
    return addr;
}
/* The runtime's private view of a shard: its slot array and capacity - 1
 * (a copy of what shard->slots says, without reading the array's header). */
struct shard_view {
    struct memsnap_slots *slots;
    uint64_t mask;
};
extern struct shard_view *table_views;
extern uint32_t table_shard_mask;
extern unsigned table_shard_bits;
/* Starts loading the slot where addr's record would be: the hooks call it
 * before the stack walk, which then hides the cache miss. Reads without
 * the lock: a prefetch never faults, whatever it is given. */
static inline void table_prefetch(uint64_t addr)
{
    struct shard_view *views = table_views;
    if (MEMSNAP_UNLIKELY(!views))
        return;
    uint64_t hash = table_hash(addr);
    struct shard_view *view = &views[hash & table_shard_mask];
    struct memsnap_slots *slots = __atomic_load_n(&view->slots, __ATOMIC_RELAXED);
    uint64_t mask = __atomic_load_n(&view->mask, __ATOMIC_RELAXED);
    if (slots)
        __builtin_prefetch(&slots->slot[(hash >> table_shard_bits) & mask], 1);
}

/* ---- depot.c: interned (domain, stack) sites ---- */

int depot_init(void);
/* The site of (domain, pcs[0..nframes), total); created if new. NULL when
 * the runtime is out of memory or of site ids. */
struct memsnap_site *depot_intern(uint32_t domain, const uint64_t *pcs, unsigned nframes,
                                  uint32_t total_nframes);
struct memsnap_site *depot_site(uint32_t id);
/* Zeroes every site's live and total pairs (under all shard locks). */
void depot_zero_counters(void);
void depot_lock(void);
void depot_unlock(void);
void depot_reset_lock(void);

/* ---- counters.h: 16-byte pairs and root.current/peak (inline) ---- */

/* ---- tracer.c (and tracer.h): what a hook does ---- */

/* trace_alloc, trace_free, trace_record and capture_stack are inline, in
 * tracer.h. */
/* Puts back a block trace_free removed (a failed realloc). */
void trace_restore(void *ptr, uint64_t meta);
/* Stops tracing for good after an out-of-memory; prints one line once.
 * From then on (until memsnap_stop) every allocation counts as untraced. */
void trace_out_of_memory(void);
int tracer_track(uint32_t domain, uint64_t addr, uint64_t size);
int tracer_untrack(uint32_t domain, uint64_t addr);

/* ---- api.c: the root, and the hooks' read-mostly copy of it ---- */

extern struct memsnap_root memsnap_root;
void root_fill_header(void);

/*
 * What every hook reads, on a cache line of its own that is written only
 * when tracing starts or stops: root.state shares its line with
 * root.current_bytes, which every traced call writes, so reading the
 * state there would make two threads fight over that line even more.
 * `tracing` and `limit` mirror root.state's TRACING bit and
 * root.traceback_limit (publish_state() keeps them equal).
 */
struct runtime_hot {
    int ready;         /* start-up finished (init.c) */
    uint32_t tracing;  /* root.state & MEMSNAP_STATE_TRACING, as 0/1 */
    uint32_t limit;    /* root.traceback_limit, capped at MEMSNAP_MAX_FRAMES */
    uint32_t unwinder; /* root.unwinder */
    /* 1 while tracing is off because the runtime ran out of memory (set
     * before TRACING is cleared, cleared by memsnap_stop): allocations
     * made meanwhile are counted in root.untraced. */
    uint32_t skipping;
    char pad[44];
} __attribute__((aligned(64)));
extern struct runtime_hot hot;

/* Copies root.state/traceback_limit into `hot` after any change to them.
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

/* ---- stack_bounds.c: fast inline views of its caches ---- */

/* The calling thread's stack bounds once thread_stack_bounds() has found
 * them (state 1), else -errno or 0 (not looked up yet). */
extern __thread uint64_t memsnap_stack_lo __attribute__((tls_model("initial-exec")));
extern __thread uint64_t memsnap_stack_hi __attribute__((tls_model("initial-exec")));
extern __thread int memsnap_stack_state __attribute__((tls_model("initial-exec")));

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

#endif /* MEMSNAP_RUNTIME_INTERNAL_H */
