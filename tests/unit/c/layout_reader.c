/*
 * The tests' reader of the trace table (see layout_reader.h): everything
 * beyond the fixed header is found by name in the field table, exactly as
 * docs/layout.md tells a reader to, and in-flight records are skipped the
 * documented way (a locked shard's pending_addr; a depot mapping's `used`).
 */
#define _GNU_SOURCE
#include "layout_reader.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int read_own_memory(void *ctx, uint64_t addr, void *buf, size_t len)
{
    (void)ctx;
    memcpy(buf, (const void *)(uintptr_t)addr, len);
    return 0;
}

int read_proc_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
    int fd = *(int *)ctx;
    ssize_t n = pread(fd, buf, len, (off_t)addr);
    return n == (ssize_t)len ? 0 : -EIO;
}

int reader_open(struct layout_reader *r, read_memory_fn read, void *ctx, uint64_t root)
{
    struct {
        uint64_t magic;
        uint16_t major, minor;
        uint32_t root_size;
        uint64_t fields;
        uint32_t fields_count, field_size;
    } header;
    memset(r, 0, sizeof *r);
    r->read = read;
    r->ctx = ctx;
    r->root = root;
    if (read(ctx, root, &header, sizeof header) != 0)
        return -EIO;
    if (header.magic != MEMSNAP_MAGIC)
        return -EINVAL;
    if (header.major != MEMSNAP_LAYOUT_MAJOR)
        return -EPROTO;
    if (header.field_size != sizeof(struct memsnap_field) || header.fields_count == 0 ||
        header.fields_count > sizeof r->fields / sizeof r->fields[0])
        return -EPROTO;
    r->nfields = header.fields_count;
    if (read(ctx, header.fields, r->fields, r->nfields * sizeof(struct memsnap_field)) != 0)
        return -EIO;
    return 0;
}

int reader_field(const struct layout_reader *r, const char *name, uint32_t *offset,
                 uint32_t *size)
{
    for (uint32_t i = 0; i < r->nfields; i++) {
        if (strncmp(r->fields[i].name, name, sizeof r->fields[i].name) == 0) {
            if (offset)
                *offset = r->fields[i].offset;
            if (size)
                *size = r->fields[i].size;
            return 0;
        }
    }
    return -ENOENT;
}

uint64_t reader_get(const struct layout_reader *r, uint64_t base, const char *name)
{
    uint32_t offset, size;
    if (reader_field(r, name, &offset, &size) != 0 || size > 8)
        return 0;
    uint64_t value = 0;
    if (r->read(r->ctx, base + offset, &value, size) != 0)
        return 0;
    return value;
}

static uint32_t record_size(const struct layout_reader *r, const char *record)
{
    uint32_t size = 0;
    reader_field(r, record, NULL, &size);
    return size;
}

int reader_blocks(const struct layout_reader *r, void (*each)(const struct read_block *, void *),
                  void *arg, struct table_walk *walk)
{
    memset(walk, 0, sizeof *walk);
    uint64_t shards = reader_get(r, r->root, "root.shards");
    uint64_t nshards = reader_get(r, r->root, "root.nshards");
    uint32_t shard_size = record_size(r, "shard");
    uint32_t slot_size = record_size(r, "slot");
    uint32_t slot_array;
    if (reader_field(r, "slots.slot", &slot_array, NULL) != 0 || !shard_size || !slot_size)
        return -EPROTO;
    if (!shards)
        return 0;
    for (uint64_t s = 0; s < nshards; s++) {
        uint64_t shard = shards + s * shard_size;
        uint64_t lock = reader_get(r, shard, "shard.lock");
        uint64_t op = reader_get(r, shard, "shard.pending_op");
        uint64_t pending = reader_get(r, shard, "shard.pending_addr");
        uint64_t slots = reader_get(r, shard, "shard.slots");
        walk->tombstones += reader_get(r, shard, "shard.tombstones");
        if (!slots)
            continue;
        if (lock && op == MEMSNAP_OP_CLEAR) {
            walk->in_flight += reader_get(r, shard, "shard.count");
            continue;
        }
        uint64_t capacity = reader_get(r, slots, "slots.capacity");
        walk->capacity += capacity;
        uint32_t addr_at, meta_at;
        if (reader_field(r, "slot.addr", &addr_at, NULL) != 0 ||
            reader_field(r, "slot.meta", &meta_at, NULL) != 0 || addr_at + 8 > slot_size ||
            meta_at + 8 > slot_size)
            return -EPROTO;
        unsigned char chunk[4096];
        uint64_t per_chunk = sizeof chunk / slot_size;
        for (uint64_t first = 0; first < capacity; first += per_chunk) {
            uint64_t n = capacity - first < per_chunk ? capacity - first : per_chunk;
            if (r->read(r->ctx, slots + slot_array + first * slot_size, chunk, n * slot_size) != 0)
                return -EIO;
            for (uint64_t i = 0; i < n; i++) {
                uint64_t addr, meta;
                memcpy(&addr, chunk + i * slot_size + addr_at, 8);
                if (addr == MEMSNAP_SLOT_EMPTY || addr == MEMSNAP_SLOT_TOMBSTONE)
                    continue;
                if (lock && op != MEMSNAP_OP_NONE && addr == pending) {
                    walk->in_flight++;
                    continue;
                }
                memcpy(&meta, chunk + i * slot_size + meta_at, 8);
                struct read_block block = {addr, MEMSNAP_SLOT_SIZE(meta), MEMSNAP_SLOT_SITE(meta)};
                walk->blocks++;
                walk->bytes += block.size;
                if (each)
                    each(&block, arg);
            }
        }
    }
    return 0;
}

int reader_site_at(const struct layout_reader *r, uint64_t addr, struct read_site *out)
{
    uint32_t pcs_offset, pc_size;
    if (reader_field(r, "site.pcs", &pcs_offset, &pc_size) != 0 || pc_size != 8)
        return -EPROTO;
    out->addr = addr;
    out->live_count = reader_get(r, addr, "site.live_count");
    out->live_bytes = reader_get(r, addr, "site.live_bytes");
    out->total_count = reader_get(r, addr, "site.total_count");
    out->total_bytes = reader_get(r, addr, "site.total_bytes");
    out->id = (uint32_t)reader_get(r, addr, "site.id");
    out->domain = (uint32_t)reader_get(r, addr, "site.domain");
    out->nframes = (uint32_t)reader_get(r, addr, "site.nframes");
    out->total_nframes = (uint32_t)reader_get(r, addr, "site.total_nframes");
    if (out->nframes > MEMSNAP_MAX_FRAMES)
        return -EPROTO;
    if (out->nframes && r->read(r->ctx, addr + pcs_offset, out->pcs, 8u * out->nframes) != 0)
        return -EIO;
    return 0;
}

long reader_sites(const struct layout_reader *r, void (*each)(const struct read_site *, void *),
                  void *arg)
{
    uint32_t header = record_size(r, "mapping");
    uint32_t pcs_offset;
    if (!header || reader_field(r, "site.pcs", &pcs_offset, NULL) != 0)
        return -EPROTO;
    long count = 0;
    unsigned hops = 0;
    for (uint64_t m = reader_get(r, r->root, "root.mappings"); m;
         m = reader_get(r, m, "mapping.next")) {
        if (++hops > 1000000)
            return -ELOOP;
        if (reader_get(r, m, "mapping.kind") != MEMSNAP_MAP_DEPOT)
            continue;
        uint64_t used = reader_get(r, m, "mapping.used");
        uint64_t size = reader_get(r, m, "mapping.size");
        if (used > size)
            return -EPROTO;
        for (uint64_t at = m + header; at < m + used;) {
            struct read_site site;
            int rc = reader_site_at(r, at, &site);
            if (rc != 0)
                return rc;
            count++;
            if (each)
                each(&site, arg);
            at += (pcs_offset + 8u * site.nframes + 15u) & ~(uint64_t)15u;
        }
    }
    return count;
}
