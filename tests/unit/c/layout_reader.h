/*
 * A small reader of the trace table for the C tests, written against the
 * documented layout alone (docs/layout.md): it hard-codes only the fixed
 * header and the constants of layout major 2, finds every other field by
 * name in the field table, and reads memory through a callback, so the same
 * code reads this process (memcpy) or a stopped child (/proc/PID/mem). It
 * reads the way a debugger must: thread records whose clear_gen is behind
 * the root's are empty, and each record's operation in flight is left out
 * (its slot skipped, its counters corrected by its stage).
 */
#ifndef MEMSNAP_TESTS_LAYOUT_READER_H
#define MEMSNAP_TESTS_LAYOUT_READER_H

#include <stddef.h>
#include <stdint.h>

#include "memsnap/layout.h"

typedef int (*read_memory_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

struct layout_reader {
    read_memory_fn read;
    void *ctx;
    uint64_t root;
    uint32_t nfields;
    struct memsnap_field fields[128];
};

/* A site as read back, with its counters summed over the thread records. */
struct read_site {
    uint64_t addr;
    uint64_t live_count, live_bytes, total_count, total_bytes;
    uint64_t peak_count, peak_bytes; /* live at the last peak (docs/layout.md) */
    uint32_t id, domain, nframes, total_nframes;
    uint64_t pcs[MEMSNAP_MAX_FRAMES];
};

/* A live block as read back. */
struct read_block {
    uint64_t addr;
    uint64_t size;
    uint32_t site_id;
    uint32_t birth; /* root.epoch when it was allocated */
};

/* Summary of one walk of the table. */
struct table_walk {
    uint64_t blocks;    /* complete live slots seen */
    uint64_t bytes;     /* their sizes */
    uint64_t in_flight; /* operations in flight left out (one per record at most) */
    uint64_t capacity;  /* slots of the chunks of current records */
    uint64_t chunks;    /* chunks of current records */
    uint64_t threads;   /* thread records, all */
    int64_t current;    /* sum of the current records' `current`, in-flight ops left out */
};

/* Reads the fixed header at `root` and the field table: 0 or -errno
 * (-EPROTO for another major version). */
int reader_open(struct layout_reader *r, read_memory_fn read, void *ctx, uint64_t root);
/* Offset and size of "record.field" ("record" gives 0 and the record size):
 * 0, or -ENOENT. */
int reader_field(const struct layout_reader *r, const char *name, uint32_t *offset,
                 uint32_t *size);
/* The value of an integer field (1, 2, 4 or 8 bytes) of the record at base. */
uint64_t reader_get(const struct layout_reader *r, uint64_t base, const char *name);
/* Calls `each` for every complete live block; fills *walk. 0 or -errno. */
int reader_blocks(const struct layout_reader *r, void (*each)(const struct read_block *, void *),
                  void *arg, struct table_walk *walk);
/* Calls `each` for every complete site of every DEPOT mapping, with its
 * counters. Returns the number of sites, or -errno. */
long reader_sites(const struct layout_reader *r, void (*each)(const struct read_site *, void *),
                  void *arg);
/* Reads the site at address `addr` (counters left 0): 0 or -errno. */
int reader_site_at(const struct layout_reader *r, uint64_t addr, struct read_site *out);

/* memcpy reader for this process (ctx unused). */
int read_own_memory(void *ctx, uint64_t addr, void *buf, size_t len);
/* pread on /proc/PID/mem; ctx points at an int fd. */
int read_proc_mem(void *ctx, uint64_t addr, void *buf, size_t len);

#endif /* MEMSNAP_TESTS_LAYOUT_READER_H */
