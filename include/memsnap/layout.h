/*
 * The trace table's memory layout: the one contract between the runtime that
 * writes it (libmemsnap.so, inside the traced program) and every reader (the
 * Python core under GDB or LLDB, reading a stopped process or a core dump).
 * Every record is defined here with fixed-width fields, explicit padding and
 * addresses as uint64_t; _Static_asserts pin sizes and offsets. Readers find
 * the root through the exported symbol `memsnap_root`; the root starts with
 * a fixed header (magic, version, where the field table is) and the field
 * table names the offset and size of every field a reader uses, so a reader
 * hard-codes only the fixed header. docs/layout.md explains the order of
 * writes that lets a reader of a stopped process skip an in-flight record.
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
/* A reader refuses any other major version; minors only append fields. */
#define MEMSNAP_LAYOUT_MAJOR 1
#define MEMSNAP_LAYOUT_MINOR 0
/* Name of the exported symbol whose address is the root. */
#define MEMSNAP_ROOT_SYMBOL "memsnap_root"

/* ---- constants of layout major version 1 ---- */

/* root.state bits */
#define MEMSNAP_STATE_INITIALIZED 0x1u /* runtime constructor has run */
#define MEMSNAP_STATE_TRACING 0x2u     /* new allocations are recorded */
#define MEMSNAP_STATE_TRUNCATED 0x4u   /* runtime ran out of memory: traces incomplete */

/* root.unwinder */
#define MEMSNAP_UNWINDER_NONE 0u
#define MEMSNAP_UNWINDER_FP 1u    /* frame-pointer walk */
#define MEMSNAP_UNWINDER_DWARF 2u /* CFA walk from .eh_frame rules */

/* memsnap_mapping.kind */
#define MEMSNAP_MAP_DEPOT 1u /* holds memsnap_site records */
#define MEMSNAP_MAP_SLOTS 2u /* holds one shard's memsnap_slots */
#define MEMSNAP_MAP_INDEX 3u /* runtime-private index (site id -> site) */
#define MEMSNAP_MAP_MISC 4u  /* anything else of the runtime's */

/* memsnap_shard.pending_op: what the lock holder is doing */
#define MEMSNAP_OP_NONE 0u
#define MEMSNAP_OP_INSERT 1u /* adding pending_addr */
#define MEMSNAP_OP_REMOVE 2u /* removing pending_addr */
#define MEMSNAP_OP_RESIZE 3u /* rehashing into a new slot array */
#define MEMSNAP_OP_CLEAR 4u  /* emptying the shard */

/* memsnap_slot.addr special values */
#define MEMSNAP_SLOT_EMPTY 0ULL
#define MEMSNAP_SLOT_TOMBSTONE UINT64_MAX

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
 * are linked from root.mappings. Readers use it to find depot records and
 * to exclude the runtime's own memory (e.g. from a leak scan).
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
 * never moved or freed. Record size = round_up(64 + 8 * nframes, 16).
 * live_count/live_bytes are updated together by one 16-byte atomic
 * compare-and-swap, as are total_count/total_bytes, so neither pair is
 * ever seen torn.
 */
struct memsnap_site {
    uint64_t live_count;  /* blocks now live with this site */
    uint64_t live_bytes;  /* their requested bytes */
    uint64_t total_count; /* blocks ever allocated with this site (since clear) */
    uint64_t total_bytes; /* their requested bytes */
    uint64_t next;        /* runtime's hash chain (address), 0 = end */
    uint64_t hash;        /* hash of (domain, pcs) */
    uint32_t id;          /* 1..MEMSNAP_SITE_ID_MAX, dense; 0 = no site */
    uint32_t domain;      /* MEMSNAP_DOMAIN_HEAP or a track() domain */
    uint16_t nframes;     /* entries in pcs[], <= MEMSNAP_MAX_FRAMES */
    uint16_t reserved;
    uint32_t total_nframes; /* true depth at capture, >= nframes */
    /* Return addresses, innermost first; pcs[0] is the caller of the
     * allocation function. Look them up at pc - 1. */
    uint64_t pcs[];
};

/* One live block. Written meta first, then addr (release): a reader sees
 * an empty/tombstone slot or a complete one, never half of it. */
struct memsnap_slot {
    uint64_t addr; /* block start; MEMSNAP_SLOT_EMPTY or MEMSNAP_SLOT_TOMBSTONE */
    uint64_t meta; /* MEMSNAP_SLOT_META(requested size, site id) */
};

/* A shard's open-addressing array: published by one pointer store. */
struct memsnap_slots {
    struct memsnap_mapping map; /* kind MEMSNAP_MAP_SLOTS */
    uint64_t capacity;          /* power of two */
    uint64_t reserved;
    struct memsnap_slot slot[];
};

/*
 * One shard of the block table, one cache line. A writer takes `lock`,
 * records what it is about to do in pending_op/pending_addr, updates the
 * slots and the site counters, then sets pending_op back to NONE and
 * releases the lock. A reader of a stopped process that finds a shard
 * locked skips the slot at pending_addr and counts it as in flight.
 */
struct memsnap_shard {
    uint32_t lock;       /* 0 = free, otherwise the owner's kernel tid */
    uint32_t pending_op; /* MEMSNAP_OP_* */
    uint64_t pending_addr;
    uint64_t slots;      /* address of struct memsnap_slots, 0 = none yet */
    uint64_t count;      /* live slots */
    uint64_t tombstones; /* tombstone slots */
    uint64_t reserved[3];
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
    uint64_t current_bytes;   /* traced bytes now live (all domains) */
    uint64_t peak_bytes;      /* highest current_bytes since start/reset */
    uint64_t runtime_bytes;   /* bytes the runtime has mapped for itself */
    uint64_t mappings;        /* head of the memsnap_mapping list */
    uint64_t shards;          /* address of struct memsnap_shard[nshards] */
    uint32_t nshards;         /* power of two */
    uint32_t site_id_bits;    /* MEMSNAP_SITE_ID_BITS */
    uint64_t nsites;          /* sites created (ids 1..nsites are in use) */
    uint64_t untraced;        /* allocations not recorded (reentrant, OOM) */
    uint64_t reserved[4];
};

/* ---- pinned sizes and offsets ---- */
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_field) == 48, "field");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_mapping) == 32, "mapping");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_site) == 64, "site");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_site, live_count) % 16 == 0, "site live pair");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_site, total_count) % 16 == 0, "site total pair");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_site, pcs) == 64, "site pcs");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_slot) == 16, "slot");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_slots) == 48, "slots");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_slots, slot) == 48, "slots array");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_shard) == 64, "shard");
MEMSNAP_STATIC_ASSERT(offsetof(struct memsnap_root, state) == 32, "fixed header");
MEMSNAP_STATIC_ASSERT(sizeof(struct memsnap_root) == 144, "root");

/*
 * The field table, defined once: X(record, field) for every field a reader
 * may use. The runtime expands it into the table root.fields points to;
 * tests check each entry against offsetof/sizeof.
 */
#define MEMSNAP_RECORDS(R) \
    R(root) R(shard) R(slots) R(slot) R(site) R(mapping) R(field)

#define MEMSNAP_FIELDS(X)                                                     \
    X(root, magic) X(root, major) X(root, minor) X(root, root_size)           \
    X(root, fields) X(root, fields_count) X(root, field_size)                 \
    X(root, state) X(root, traceback_limit) X(root, max_frames)               \
    X(root, unwinder) X(root, current_bytes) X(root, peak_bytes)              \
    X(root, runtime_bytes) X(root, mappings) X(root, shards)                  \
    X(root, nshards) X(root, site_id_bits) X(root, nsites) X(root, untraced)  \
    X(shard, lock) X(shard, pending_op) X(shard, pending_addr)                \
    X(shard, slots) X(shard, count) X(shard, tombstones)                      \
    X(slots, capacity) X(slots, slot)                                         \
    X(slot, addr) X(slot, meta)                                               \
    X(site, live_count) X(site, live_bytes) X(site, total_count)              \
    X(site, total_bytes) X(site, next) X(site, hash) X(site, id)              \
    X(site, domain) X(site, nframes) X(site, total_nframes) X(site, pcs)      \
    X(mapping, next) X(mapping, size) X(mapping, kind) X(mapping, used)       \
    X(field, name) X(field, offset) X(field, size)

#endif /* MEMSNAP_LAYOUT_H */
