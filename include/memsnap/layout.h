/*
 * The trace table's memory layout: the one contract between the runtime that
 * writes it (libmemsnap.so, inside the traced program) and every reader (the
 * Python core under GDB or LLDB, reading a stopped process or a core dump).
 * Every record is defined here with fixed-width fields, explicit padding and
 * addresses as uint64_t; _Static_asserts pin sizes and offsets. Readers find
 * the root through the exported symbol `memsnap_root`; the root starts with
 * a fixed header (magic, version, where the field table is) and the field
 * table names the offset and size of every field a reader uses, so a reader
 * hard-codes only the fixed header. docs/layout.md explains how to read the
 * table: the thread records and their per-site counters, the block chunks,
 * the depot, the peak snapshot kept in the counters (2.1), the order of
 * writes that lets a reader of a stopped process skip the one operation
 * each thread may have in flight, and what readers
 * must ignore so that minor versions can add records.
 */
#ifndef MEMSNAP_LAYOUT_H
#define MEMSNAP_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define MEMSNAP_STATIC_ASSERT static_assert
#else
#define MEMSNAP_STATIC_ASSERT _Static_assert
#endif

/* ---- fixed header: its meaning never changes, whatever the version ---- */

/* "MEMSNAP\0" read as a little-endian uint64_t. */
#define MEMSNAP_MAGIC 0x0050414E534D454DULL
/* A reader refuses any other major version; minors only append fields,
 * records and mapping kinds, which older readers of the major ignore. */
#define MEMSNAP_LAYOUT_MAJOR 2
#define MEMSNAP_LAYOUT_MINOR 1
/* Name of the exported symbol whose address is the root. */
#define MEMSNAP_ROOT_SYMBOL "memsnap_root"

/* ---- constants of layout major version 2 ---- */

/* root.state bits */
#define MEMSNAP_STATE_INITIALIZED 0x1u /* runtime constructor has run */
#define MEMSNAP_STATE_TRACING 0x2u     /* new allocations are recorded */
#define MEMSNAP_STATE_TRUNCATED 0x4u   /* runtime ran out of memory: traces incomplete */
#define MEMSNAP_STATE_SAMPLED 0x8u     /* heap blocks are sampled (root.sample_bytes) */
/* (2.1) a thread has changed current/peak while the process had several
 * threads: they, and the peak snapshot, are folded at a bounded drift
 * (docs/layout.md), no longer exact */
#define MEMSNAP_STATE_DRIFT 0x10u

/* root.unwinder */
#define MEMSNAP_UNWINDER_NONE 0u
#define MEMSNAP_UNWINDER_FP 1u    /* frame-pointer walk */
#define MEMSNAP_UNWINDER_DWARF 2u /* CFA walk from .eh_frame rules */

/* memsnap_mapping.kind. Readers skip kinds they do not know. */
#define MEMSNAP_MAP_DEPOT 1u    /* holds memsnap_site records */
#define MEMSNAP_MAP_CHUNK 2u    /* one memsnap_chunk: block slots of one thread */
#define MEMSNAP_MAP_THREADS 3u  /* holds memsnap_thread records (and runtime state) */
#define MEMSNAP_MAP_COUNTERS 4u /* holds per-thread counter pages and directories */
#define MEMSNAP_MAP_MISC 5u     /* anything else of the runtime's */

/* memsnap_thread.status */
#define MEMSNAP_THREAD_LIVE 1u    /* its thread runs and writes it */
#define MEMSNAP_THREAD_EXITING 2u /* its thread exited (or is exiting): a new
                                   * thread may adopt it, counts and all */

/* memsnap_thread.pend_op: the one operation a record's thread has in flight */
#define MEMSNAP_OP_NONE 0u
#define MEMSNAP_OP_ALLOC 1u /* recording pend_addr in pend_slot */
#define MEMSNAP_OP_FREE 2u  /* forgetting pend_addr, whose record is pend_slot */

/* memsnap_slot.addr: 0 = free slot (no block) */
#define MEMSNAP_SLOT_FREE 0ULL

/* memsnap_slot.meta = (size << MEMSNAP_SITE_ID_BITS) | site_id */
#define MEMSNAP_SITE_ID_BITS 24u
#define MEMSNAP_SITE_ID_MAX ((1u << MEMSNAP_SITE_ID_BITS) - 1u)
#define MEMSNAP_BLOCK_SIZE_MAX ((1ULL << (64u - MEMSNAP_SITE_ID_BITS)) - 1u)
#define MEMSNAP_SLOT_SITE(meta) ((uint32_t)((meta) & MEMSNAP_SITE_ID_MAX))
#define MEMSNAP_SLOT_SIZE(meta) ((uint64_t)(meta) >> MEMSNAP_SITE_ID_BITS)
#define MEMSNAP_SLOT_META(size, site) (((uint64_t)(size) << MEMSNAP_SITE_ID_BITS) | (uint64_t)(site))

/* The heap's domain (malloc family, operator new). track() uses others. */
#define MEMSNAP_DOMAIN_HEAP 0u

/* Hard upper bound of frames kept per stack (MEMSNAP=N must be <= this). */
#define MEMSNAP_MAX_FRAMES 256u

/* memsnap_site.total_nframes when the walk stopped at the traceback limit
 * without reaching the stack's end: the true depth is unknown (>= nframes),
 * tracemalloc's total_nframe None. */
#define MEMSNAP_TOTAL_UNKNOWN 0xFFFFFFFFu

/* Site counters per counter page (a power of two): the page of site id i
 * is memsnap_counters.page[i / MEMSNAP_COUNTERS_PER_PAGE]. */
#define MEMSNAP_COUNTERS_PER_PAGE 128u

/* ---- records ---- */

/*
 * One entry of the field table: "record.field" -> offset and size, or
 * "record" -> offset 0 and sizeof(record). Names are NUL-padded.
 */
struct memsnap_field {
    char name[40];
    uint32_t offset;
    uint32_t size;
};

/*
 * Every region the runtime maps starts with this header, and all mappings
 * are linked from root.mappings. Readers use it to find the depot and the
 * block chunks and to exclude the runtime's own memory (e.g. from a leak
 * scan).
 */
struct memsnap_mapping {
    uint64_t next; /* address of the next mapping, 0 = end of list */
    uint64_t size; /* bytes of the mapping, this header included */
    uint32_t kind; /* MEMSNAP_MAP_* */
    uint32_t reserved;
    /* Bytes of the mapping in use, header included. For a DEPOT mapping the
     * records in [sizeof(header), used) are complete: `used` is advanced
     * (release store) only after a record is fully written. */
    uint64_t used;
};

/*
 * A site: one (domain, call stack) pair, interned once in the depot and
 * never moved or freed. Record size = round_up(32 + 8 * nframes, 16). Its
 * counters are per thread (memsnap_counter), summed by the reader.
 */
struct memsnap_site {
    uint64_t next;    /* runtime's hash chain (address), 0 = end */
    uint64_t hash;    /* hash of (domain, pcs, total_nframes) */
    uint32_t id;      /* 1..MEMSNAP_SITE_ID_MAX, dense; 0 = no site */
    uint32_t domain;  /* MEMSNAP_DOMAIN_HEAP or a track() domain */
    uint16_t nframes; /* entries in pcs[], <= MEMSNAP_MAX_FRAMES */
    uint16_t reserved;
    /* true depth at capture (>= nframes), or MEMSNAP_TOTAL_UNKNOWN when the
     * walk stopped at the limit */
    uint32_t total_nframes;
    /* Return addresses, innermost first; pcs[0] is the caller of the
     * allocation function. Look them up at pc - 1. */
    uint64_t pcs[];
};

/*
 * One thread's counters of one site. Written only by the thread that owns
 * the record, each pair by one 16-byte store: never torn. Values are that
 * thread's share and may be negative as int64 (a block allocated by one
 * thread and freed by another): the sum over all thread records, modulo
 * 2^64, is the site's count. In a sampled table (root.state SAMPLED) they
 * are unbiased estimates (docs/layout.md, "sampling").
 *
 * The peak pair (2.1) is the live pair as it was when root.peak_gen
 * became `peak_gen`: valid only while peak_gen == root.peak_gen; otherwise
 * the live pair has not changed since the last peak and is its value
 * there (docs/layout.md, "the peak snapshot"). The thread saves the live
 * pair into it (one 16-byte store, then peak_gen) before its first change
 * of the live pair after each new peak.
 */
struct memsnap_counter {
    uint64_t live_count;  /* blocks now live */
    uint64_t live_bytes;  /* their requested bytes */
    uint64_t total_count; /* blocks allocated since the last clear */
    uint64_t total_bytes; /* their requested bytes */
    uint64_t peak_count;  /* live_count at peak number peak_gen */
    uint64_t peak_bytes;  /* live_bytes there */
    uint64_t peak_gen;    /* root.peak_gen when the peak pair was saved; 0 = never */
    uint64_t reserved;
};

/*
 * A thread's counter directory: page[i] is the address of an array of
 * MEMSNAP_COUNTERS_PER_PAGE memsnap_counter for site ids
 * [i * PER_PAGE, (i + 1) * PER_PAGE), or 0 (all zero). The thread replaces
 * a directory by a larger copy, published by one store to
 * memsnap_thread.counters.
 */
struct memsnap_counters {
    uint64_t npages; /* entries in page[] */
    uint64_t reserved;
    uint64_t page[];
};

/*
 * A thread record: one per thread that ever called the runtime (reused by
 * a new thread once its thread exited), never freed, linked from
 * root.threads. The first cache line is written rarely; the next two on
 * every traced operation, by the record's thread only. An operation in
 * flight is announced in pend_* (written before pend_op); each of its
 * counter updates is detected by comparing the counter with its value
 * before the operation, kept here (docs/layout.md, "order of writes").
 * Runtime-private state follows the record in memory (not part of the
 * layout).
 */
struct memsnap_thread {
    uint64_t next;      /* next record, 0 = end */
    uint32_t tid;       /* kernel tid of the thread that owns it (or did) */
    uint32_t status;    /* MEMSNAP_THREAD_* */
    uint32_t clear_gen; /* counters and chunks count only when == root.clear_gen */
    uint32_t reserved0;
    uint64_t counters;  /* address of struct memsnap_counters, 0 = none yet */
    uint64_t reserved1[4];
    /* second cache line: the operation in flight */
    uint32_t pend_op;    /* MEMSNAP_OP_*; written last when an op begins */
    uint32_t reserved2;
    uint64_t pend_slot;  /* address of the memsnap_slot being changed */
    uint64_t pend_addr;  /* the block's address */
    uint64_t pend_meta;  /* its MEMSNAP_SLOT_META */
    uint64_t pend_count; /* what the op adds to (or takes from) the live and */
    uint64_t pend_bytes; /* total pairs and `current`: 1 and the size, or the
                          * block's weights in a sampled table */
    int64_t current;      /* bytes traced through this record: allocated - freed */
    int64_t pend_current; /* `current` before the op */
    /* third cache line */
    uint64_t pend_live;  /* this record's live_count of the op's site before the op */
    uint64_t pend_total; /* ... and its total_count */
    uint64_t reserved3[6];
};

/* One live block. */
struct memsnap_slot {
    uint64_t addr; /* block start; MEMSNAP_SLOT_FREE when no block */
    uint64_t meta; /* MEMSNAP_SLOT_META(requested size, site id); runtime's
                    * own use while the slot is free */
};

/*
 * A chunk of block slots, owned by one thread record: its thread records
 * blocks in the chunk's slots; any thread may free one. A mapping of kind
 * CHUNK, aligned to its size. Slots [0, high) have been used; births[i] is
 * the root.epoch in which the block of slot[i] was allocated.
 */
struct memsnap_chunk {
    struct memsnap_mapping map; /* kind MEMSNAP_MAP_CHUNK */
    uint64_t owner;             /* address of the owning memsnap_thread */
    uint32_t capacity;          /* slots */
    uint32_t high;              /* slots [0, high) may hold blocks */
    uint64_t births;            /* offset of uint32_t births[capacity] from the chunk */
    uint64_t reserved;
    /* second cache line: the runtime's (frees by other threads) */
    uint64_t remote;
    uint64_t next_owned; /* the owner's list of its chunks */
    uint64_t reserved2[6];
    struct memsnap_slot slot[];
};

/*
 * The root: a global of the runtime, exported as `memsnap_root`.
 * The first 32 bytes are the fixed header; the rest is found through the
 * field table.
 */
struct memsnap_root {
    /* fixed header */
    uint64_t magic;         /* MEMSNAP_MAGIC */
    uint16_t major;         /* MEMSNAP_LAYOUT_MAJOR */
    uint16_t minor;         /* MEMSNAP_LAYOUT_MINOR */
    uint32_t root_size;     /* sizeof(struct memsnap_root) */
    uint64_t fields;        /* address of struct memsnap_field[fields_count] */
    uint32_t fields_count;
    uint32_t field_size;    /* sizeof(struct memsnap_field) */
    /* described fields */
    uint32_t state;           /* MEMSNAP_STATE_* bits */
    uint32_t traceback_limit; /* frames kept per stack now */
    uint32_t max_frames;      /* MEMSNAP_MAX_FRAMES */
    uint32_t unwinder;        /* MEMSNAP_UNWINDER_* */
    /* current and peak as folded from the threads: within
     * threads * fold_bytes of the exact values (exact while state has no
     * DRIFT bit: a single thread); readers sum thread records instead */
    uint64_t current_bytes;
    uint64_t peak_bytes;
    uint64_t runtime_bytes;     /* bytes the runtime has mapped for itself */
    uint64_t mappings;          /* head of the memsnap_mapping list */
    uint64_t threads;           /* head of the memsnap_thread list */
    uint64_t nsites;            /* sites created (ids 1..nsites are in use) */
    uint64_t untraced;          /* allocations not recorded (reentrant, OOM) */
    uint64_t sample_bytes;      /* mean sampling interval R; 0 = every block */
    uint32_t site_id_bits;      /* MEMSNAP_SITE_ID_BITS */
    uint32_t counters_per_page; /* MEMSNAP_COUNTERS_PER_PAGE */
    uint32_t clear_gen;         /* bumped by clear_traces/stop */
    uint32_t epoch;             /* a debugger adds 1 when it snapshots a live process */
    uint32_t fold_bytes;        /* a thread folds its drift into current/peak past this */
    uint32_t reserved0;
    /* (2.1) bumped each time peak_bytes is raised, reset or cleared:
     * counters whose peak_gen equals it hold their live pair at that peak */
    uint64_t peak_gen;
    uint64_t reserved[2];
};

/* ---- pinned sizes and offsets ---- */
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_field) == 48, "field");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_mapping) == 32, "mapping");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_site) == 32, "site");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_site, pcs) == 32, "site pcs");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_counter) == 64, "counter");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_counter, total_count) == 16, "counter pairs");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_counter, peak_count) == 32, "counter peak pair");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_root, peak_gen) == 136, "root peak_gen");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_counters) == 16, "counters");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_thread) == 192, "thread");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_thread, pend_op) == 64, "thread pend line");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_thread, pend_live) == 128, "thread third line");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_slot) == 16, "slot");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_chunk, remote) == 64, "chunk remote line");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_chunk, slot) == 128, "chunk slots");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_root, state) == 32, "fixed header");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_root) == 160, "root");

/*
 * The field table, defined once: X(record, field) for every field a reader
 * may use. The runtime expands it into the table root.fields points to;
 * tests check each entry against offsetof/sizeof.
 */
#define MEMSNAP_RECORDS(R) \
    R(root) R(thread) R(counters) R(counter) R(chunk) R(slot) R(site) R(mapping) R(field)

#define MEMSNAP_FIELDS(X)                                                       \
    X(root, magic) X(root, major) X(root, minor) X(root, root_size)             \
    X(root, fields) X(root, fields_count) X(root, field_size)                   \
    X(root, state) X(root, traceback_limit) X(root, max_frames)                 \
    X(root, unwinder) X(root, current_bytes) X(root, peak_bytes)                \
    X(root, runtime_bytes) X(root, mappings) X(root, threads) X(root, nsites)   \
    X(root, untraced) X(root, sample_bytes) X(root, site_id_bits)               \
    X(root, counters_per_page) X(root, clear_gen) X(root, epoch)                \
    X(root, fold_bytes) X(root, peak_gen)                                       \
    X(thread, next) X(thread, tid) X(thread, status) X(thread, clear_gen)       \
    X(thread, counters) X(thread, pend_op) X(thread, pend_slot)                 \
    X(thread, pend_addr) X(thread, pend_meta) X(thread, pend_count)             \
    X(thread, pend_bytes) X(thread, current) X(thread, pend_current)            \
    X(thread, pend_live) X(thread, pend_total)                                  \
    X(counters, npages) X(counters, page)                                       \
    X(counter, live_count) X(counter, live_bytes) X(counter, total_count)       \
    X(counter, total_bytes) X(counter, peak_count) X(counter, peak_bytes)       \
    X(counter, peak_gen)                                                        \
    X(chunk, owner) X(chunk, capacity) X(chunk, high) X(chunk, births)          \
    X(chunk, slot)                                                              \
    X(slot, addr) X(slot, meta)                                                 \
    X(site, next) X(site, hash) X(site, id) X(site, domain) X(site, nframes)    \
    X(site, total_nframes) X(site, pcs)                                         \
    X(mapping, next) X(mapping, size) X(mapping, kind) X(mapping, used)         \
    X(field, name) X(field, offset) X(field, size)

#endif /* MEMSNAP_LAYOUT_H */
