/*
 * The exported root of the trace table (memsnap_root, found by readers by
 * name) with its field table generated from MEMSNAP_RECORDS/MEMSNAP_FIELDS
 * (include/memsnap/layout.h), and `hot`, the hooks' read-mostly copy of the
 * root's state on a cache line of its own (internal.h).
 *
 * Who writes what (every global of the runtime says which lock or rule
 * protects it; these are the root's):
 *  - the fixed header and max_frames, site_id_bits, counters_per_page,
 *    fold_bytes: static initialisers; `fields`: start-up (init.c), before
 *    `hot.ready` is published;
 *  - state, traceback_limit, sample_bytes: atomic read-modify-writes by the
 *    API and the out-of-memory stop, then publish_state() (lock-free); the
 *    state's DRIFT bit by a thread's first fold (counters.c), which no
 *    hook reads;
 *  - current_bytes, peak_bytes, peak_gen, clear_gen: under the fold lock
 *    (counters.c; peak.h), or by the only thread of a process that never
 *    had a second one;
 *  - runtime_bytes, mappings: under the pool lock (mmap_pool.c);
 *  - threads: under the threads lock (threads.c);
 *  - nsites: under the depot lock (depot.c);
 *  - untraced: atomic adds, from anywhere;
 *  - epoch: written by a debugger, read (relaxed) by every traced
 *    allocation.
 */
#include "field_size.h"
#include "internal.h"
#include "memsnap.h"

#define RECORD_COUNT(rec) +1
#define FIELD_COUNT(rec, fld) +1
enum { FIELD_TABLE_LENGTH = 0 MEMSNAP_RECORDS(RECORD_COUNT) MEMSNAP_FIELDS(FIELD_COUNT) };

static const struct memsnap_field field_table[FIELD_TABLE_LENGTH] = {
#define RECORD_ENTRY(rec) {#rec, 0, sizeof(struct memsnap_##rec)},
#define FIELD_ENTRY(rec, fld) \
    {#rec "." #fld, offsetof(struct memsnap_##rec, fld), MEMSNAP_FIELD_SIZE(rec, fld)},
    MEMSNAP_RECORDS(RECORD_ENTRY) MEMSNAP_FIELDS(FIELD_ENTRY)
};

/* Folds happen when a thread's unfolded drift passes this many bytes. */
#define FOLD_BYTES (64u * 1024u)

MEMSNAP_API struct memsnap_root memsnap_root __attribute__((aligned(64))) = {
    .magic = MEMSNAP_MAGIC,
    .major = MEMSNAP_LAYOUT_MAJOR,
    .minor = MEMSNAP_LAYOUT_MINOR,
    .root_size = sizeof(struct memsnap_root),
    .fields_count = FIELD_TABLE_LENGTH,
    .field_size = sizeof(struct memsnap_field),
    .max_frames = MEMSNAP_MAX_FRAMES,
    .site_id_bits = MEMSNAP_SITE_ID_BITS,
    .counters_per_page = MEMSNAP_COUNTERS_PER_PAGE,
    .fold_bytes = FOLD_BYTES,
    .clear_gen = 1,
    .peak_gen = 1, /* never a wiped counter's 0 (peak.h) */
};

/* Written by publish_state() and start-up only. */
struct runtime_hot hot = {.clear_gen = 1};

void publish_state(void)
{
    for (;;) {
        uint32_t state = __atomic_load_n(&memsnap_root.state, __ATOMIC_SEQ_CST);
        uint32_t limit = __atomic_load_n(&memsnap_root.traceback_limit, __ATOMIC_SEQ_CST);
        uint64_t sample = __atomic_load_n(&memsnap_root.sample_bytes, __ATOMIC_SEQ_CST);
        uint32_t gen = __atomic_load_n(&memsnap_root.clear_gen, __ATOMIC_SEQ_CST);
        __atomic_store_n(&hot.limit, limit < MEMSNAP_MAX_FRAMES ? limit : MEMSNAP_MAX_FRAMES,
                         __ATOMIC_SEQ_CST);
        __atomic_store_n(&hot.sample_bytes, sample, __ATOMIC_SEQ_CST);
        __atomic_store_n(&hot.clear_gen, gen, __ATOMIC_SEQ_CST);
        __atomic_store_n(&hot.tracing, (state & MEMSNAP_STATE_TRACING) != 0, __ATOMIC_SEQ_CST);
        int ready = __atomic_load_n(&hot.ready, __ATOMIC_SEQ_CST);
        intptr_t tls_offset = __atomic_load_n(&hot.tls_offset, __ATOMIC_RELAXED);
        int fast = ready && (state & MEMSNAP_STATE_TRACING) && tls_offset != 0 &&
                   (tls_offset & HOOKS_MODE_MASK) == 0; /* aligned: always, in practice */
        intptr_t hooks = !fast ? HOOKS_ROUTE : tls_offset + (sample ? HOOKS_SAMPLE : HOOKS_TRACE);
        __atomic_store_n(&hot.hooks, hooks, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&hot.ready, __ATOMIC_SEQ_CST) == ready &&
            __atomic_load_n(&memsnap_root.state, __ATOMIC_SEQ_CST) == state &&
            __atomic_load_n(&memsnap_root.traceback_limit, __ATOMIC_SEQ_CST) == limit &&
            __atomic_load_n(&memsnap_root.sample_bytes, __ATOMIC_SEQ_CST) == sample &&
            __atomic_load_n(&memsnap_root.clear_gen, __ATOMIC_SEQ_CST) == gen)
            return;
    }
}

void root_fill_header(void)
{
    memsnap_root.fields = (uint64_t)(uintptr_t)field_table;
}
