/*
 * The tests' reader of the trace table (see layout_reader.h): everything
 * beyond the fixed header is found by name in the field table, exactly as
 * docs/layout.md tells a reader to. Blocks come from the chunks of current
 * thread records; site counters are the sums over current records; each
 * record's operation in flight is left out the documented way (its slot
 * skipped, its counters corrected by its stage), and depot sites are read
 * only up to a mapping's `used`. A site's peak pair is each current
 * record's peak pair where its stamp is root.peak_gen, its live pair
 * elsewhere (layout 2.1, "the peak snapshot").
 */
#define _GNU_SOURCE
#include "layout_reader.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define MAX_RECORDS 4096
#define MAX_SITE_IDS (1u << 18)

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

/* ---- thread records ---- */

struct record_view {
    uint64_t addr, counters, pend_slot, pend_meta, pend_count, pend_bytes;
    uint64_t pend_live, pend_total;
    uint32_t pend_op;
    int64_t current, pend_current;
    int is_current;
};

/* A counter's fields, found by name (a 2.0 table has no peak fields: its
 * peak is its live pair). */
struct counter_fields {
    uint32_t size, live_count, live_bytes, total_count, total_bytes;
    uint32_t peak_count, peak_bytes, peak_gen;
    int has_peak;
};

static int counter_fields(const struct layout_reader *r, struct counter_fields *f)
{
    f->size = record_size(r, "counter");
    f->has_peak = reader_field(r, "counter.peak_gen", &f->peak_gen, NULL) == 0 &&
                  reader_field(r, "counter.peak_count", &f->peak_count, NULL) == 0 &&
                  reader_field(r, "counter.peak_bytes", &f->peak_bytes, NULL) == 0;
    if (f->size < 32 || f->size > 256 ||
        reader_field(r, "counter.live_count", &f->live_count, NULL) != 0 ||
        reader_field(r, "counter.live_bytes", &f->live_bytes, NULL) != 0 ||
        reader_field(r, "counter.total_count", &f->total_count, NULL) != 0 ||
        reader_field(r, "counter.total_bytes", &f->total_bytes, NULL) != 0)
        return -EPROTO;
    return 0;
}

static uint64_t word_at(const unsigned char *counter, uint32_t offset)
{
    uint64_t value;
    memcpy(&value, counter + offset, 8);
    return value;
}

/* True when the counter's peak pair holds its value at the current peak
 * (its stamp is root.peak_gen); else the live pair is that value. */
static int peak_pair_valid(const struct layout_reader *r, const struct counter_fields *f,
                           const unsigned char *counter)
{
    return f->has_peak && word_at(counter, f->peak_gen) == reader_get(r, r->root, "root.peak_gen");
}

/* The record's counter of site `id` into *out (zeros when it has none). */
static int read_counter(const struct layout_reader *r, uint64_t dir, uint32_t id,
                        unsigned char out[256])
{
    struct counter_fields f;
    memset(out, 0, 256);
    uint32_t page_at, per_page = (uint32_t)reader_get(r, r->root, "root.counters_per_page");
    if (!dir || reader_field(r, "counters.page", &page_at, NULL) != 0 || per_page == 0 ||
        counter_fields(r, &f) != 0)
        return 0;
    uint64_t page = 0;
    if (id / per_page >= reader_get(r, dir, "counters.npages"))
        return 0;
    if (r->read(r->ctx, dir + page_at + 8u * (id / per_page), &page, 8) != 0)
        return -EIO;
    if (page && r->read(r->ctx, page + (uint64_t)f.size * (id % per_page), out, f.size) != 0)
        return -EIO;
    return 0;
}

/* What a record's operation in flight already changed (1 each) and a
 * FREE has not yet taken out (-1): taken back out, the operation is left
 * out entirely. A counter was updated when it moved from its value
 * before the operation. */
struct in_flight_share {
    int live, total, current;
    int peak_saved; /* the site's peak pair is valid: the operation is not in it */
};

static struct in_flight_share share_of(const struct layout_reader *r, const struct record_view *v)
{
    struct in_flight_share s = {0, 0, 0, 0};
    unsigned char now[256];
    struct counter_fields f;
    if (v->pend_op == MEMSNAP_OP_NONE || counter_fields(r, &f) != 0 ||
        read_counter(r, v->counters, MEMSNAP_SLOT_SITE(v->pend_meta), now) != 0)
        return s;
    s.peak_saved = peak_pair_valid(r, &f, now);
    int live_done = word_at(now, f.live_count) != v->pend_live;
    int total_done = word_at(now, f.total_count) != v->pend_total;
    int current_done = v->current != v->pend_current;
    if (v->pend_op == MEMSNAP_OP_ALLOC) {
        s.live = live_done;
        s.total = total_done;
        s.current = current_done;
    } else {
        /* still counted: taken out here */
        s.live = !live_done;
        s.current = !current_done;
    }
    return s;
}

/* The thread records (up to MAX_RECORDS): count, or -errno. */
static long read_records(const struct layout_reader *r, struct record_view *out)
{
    uint64_t gen = reader_get(r, r->root, "root.clear_gen");
    long n = 0;
    for (uint64_t at = reader_get(r, r->root, "root.threads"); at;
         at = reader_get(r, at, "thread.next")) {
        if (n >= MAX_RECORDS)
            return -E2BIG;
        struct record_view *v = &out[n++];
        v->addr = at;
        v->is_current = reader_get(r, at, "thread.clear_gen") == gen;
        v->counters = reader_get(r, at, "thread.counters");
        v->pend_op = (uint32_t)reader_get(r, at, "thread.pend_op");
        v->pend_slot = reader_get(r, at, "thread.pend_slot");
        v->pend_meta = reader_get(r, at, "thread.pend_meta");
        v->pend_count = reader_get(r, at, "thread.pend_count");
        v->pend_bytes = reader_get(r, at, "thread.pend_bytes");
        v->pend_live = reader_get(r, at, "thread.pend_live");
        v->pend_total = reader_get(r, at, "thread.pend_total");
        v->current = (int64_t)reader_get(r, at, "thread.current");
        v->pend_current = (int64_t)reader_get(r, at, "thread.pend_current");
    }
    return n;
}

static struct record_view records[MAX_RECORDS];

/* ---- blocks ---- */

static int skipped(const struct record_view *views, long n, uint64_t slot)
{
    for (long i = 0; i < n; i++)
        if (views[i].is_current && views[i].pend_op != MEMSNAP_OP_NONE && views[i].pend_slot == slot)
            return 1;
    return 0;
}

static int is_current_owner(const struct record_view *views, long n, uint64_t owner)
{
    for (long i = 0; i < n; i++)
        if (views[i].addr == owner)
            return views[i].is_current;
    return 0;
}

/* Every block of one chunk. */
static int chunk_blocks(const struct layout_reader *r, uint64_t chunk, long nrecords,
                        void (*each)(const struct read_block *, void *), void *arg,
                        struct table_walk *walk)
{
    uint32_t slot_at, addr_at, meta_at, slot_size = record_size(r, "slot");
    if (reader_field(r, "chunk.slot", &slot_at, NULL) != 0 ||
        reader_field(r, "slot.addr", &addr_at, NULL) != 0 ||
        reader_field(r, "slot.meta", &meta_at, NULL) != 0 || slot_size < 16)
        return -EPROTO;
    uint64_t high = reader_get(r, chunk, "chunk.high");
    uint64_t births = chunk + reader_get(r, chunk, "chunk.births");
    walk->capacity += reader_get(r, chunk, "chunk.capacity");
    walk->chunks++;
    unsigned char buf[4096];
    uint32_t birth[4096 / 16];
    uint64_t per_read = sizeof buf / slot_size;
    for (uint64_t first = 0; first < high; first += per_read) {
        uint64_t n = high - first < per_read ? high - first : per_read;
        uint64_t base = chunk + slot_at + first * slot_size;
        if (r->read(r->ctx, base, buf, n * slot_size) != 0 ||
            r->read(r->ctx, births + 4 * first, birth, 4 * n) != 0)
            return -EIO;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t addr, meta;
            memcpy(&addr, buf + i * slot_size + addr_at, 8);
            if (addr == MEMSNAP_SLOT_FREE)
                continue;
            if (skipped(records, nrecords, base + i * slot_size))
                continue;
            memcpy(&meta, buf + i * slot_size + meta_at, 8);
            struct read_block block = {addr, MEMSNAP_SLOT_SIZE(meta), MEMSNAP_SLOT_SITE(meta),
                                       birth[i]};
            walk->blocks++;
            walk->bytes += block.size;
            if (each)
                each(&block, arg);
        }
    }
    return 0;
}

int reader_blocks(const struct layout_reader *r, void (*each)(const struct read_block *, void *),
                  void *arg, struct table_walk *walk)
{
    memset(walk, 0, sizeof *walk);
    long n = read_records(r, records);
    if (n < 0)
        return (int)n;
    walk->threads = (uint64_t)n;
    for (long i = 0; i < n; i++) {
        if (!records[i].is_current)
            continue;
        walk->current += records[i].current;
        if (records[i].pend_op != MEMSNAP_OP_NONE) {
            walk->in_flight++;
            walk->current -= share_of(r, &records[i]).current * (int64_t)records[i].pend_bytes;
        }
    }
    unsigned hops = 0;
    for (uint64_t m = reader_get(r, r->root, "root.mappings"); m;
         m = reader_get(r, m, "mapping.next")) {
        if (++hops > 1000000)
            return -ELOOP;
        if (reader_get(r, m, "mapping.kind") != MEMSNAP_MAP_CHUNK ||
            !is_current_owner(records, n, reader_get(r, m, "chunk.owner")))
            continue;
        int rc = chunk_blocks(r, m, n, each, arg, walk);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- sites and their counters ---- */

struct site_sum {
    uint64_t live_count, live_bytes, total_count, total_bytes, peak_count, peak_bytes;
};

static struct site_sum sums[MAX_SITE_IDS];
static uint64_t sums_used; /* sums[sums_used..] are zero */

/* Adds one record's counter pages into sums. */
static int add_counters(const struct layout_reader *r, uint64_t dir)
{
    static unsigned char page_bytes[1024 * 256];
    struct counter_fields f;
    uint32_t page_at, per_page = (uint32_t)reader_get(r, r->root, "root.counters_per_page");
    if (reader_field(r, "counters.page", &page_at, NULL) != 0 || counter_fields(r, &f) != 0 ||
        per_page == 0 || per_page > 1024)
        return -EPROTO;
    uint64_t npages = reader_get(r, dir, "counters.npages");
    for (uint64_t p = 0; p < npages && p * per_page < MAX_SITE_IDS; p++) {
        uint64_t page = 0;
        if (r->read(r->ctx, dir + page_at + 8 * p, &page, 8) != 0)
            return -EIO;
        if (!page)
            continue;
        if (r->read(r->ctx, page, page_bytes, (size_t)per_page * f.size) != 0)
            return -EIO;
        if ((p + 1) * per_page > sums_used)
            sums_used = (p + 1) * per_page < MAX_SITE_IDS ? (p + 1) * per_page : MAX_SITE_IDS;
        for (uint32_t i = 0; i < per_page && p * per_page + i < MAX_SITE_IDS; i++) {
            const unsigned char *c = page_bytes + (size_t)i * f.size;
            struct site_sum *s = &sums[p * per_page + i];
            s->live_count += word_at(c, f.live_count);
            s->live_bytes += word_at(c, f.live_bytes);
            s->total_count += word_at(c, f.total_count);
            s->total_bytes += word_at(c, f.total_bytes);
            int peak = peak_pair_valid(r, &f, c);
            s->peak_count += word_at(c, peak ? f.peak_count : f.live_count);
            s->peak_bytes += word_at(c, peak ? f.peak_bytes : f.live_bytes);
        }
    }
    return 0;
}

/* sums[] = every site's counters over the current records, in-flight
 * operations left out. */
static int sum_counters(const struct layout_reader *r)
{
    memset(sums, 0, sums_used * sizeof sums[0]);
    sums_used = 0;
    long n = read_records(r, records);
    if (n < 0)
        return (int)n;
    for (long i = 0; i < n; i++) {
        const struct record_view *v = &records[i];
        if (!v->is_current)
            continue;
        if (v->counters) {
            int rc = add_counters(r, v->counters);
            if (rc != 0)
                return rc;
        }
        uint32_t id = MEMSNAP_SLOT_SITE(v->pend_meta);
        if (v->pend_op == MEMSNAP_OP_NONE || id >= MAX_SITE_IDS)
            continue;
        struct in_flight_share share = share_of(r, v);
        if (id >= sums_used)
            sums_used = id + 1;
        sums[id].live_count -= (uint64_t)share.live * v->pend_count;
        sums[id].live_bytes -= (uint64_t)share.live * v->pend_bytes;
        if (!share.peak_saved) {
            /* the peak is the live pair: the same operation left out */
            sums[id].peak_count -= (uint64_t)share.live * v->pend_count;
            sums[id].peak_bytes -= (uint64_t)share.live * v->pend_bytes;
        }
        sums[id].total_count -= (uint64_t)share.total * v->pend_count;
        sums[id].total_bytes -= (uint64_t)share.total * v->pend_bytes;
    }
    return 0;
}

int reader_site_at(const struct layout_reader *r, uint64_t addr, struct read_site *out)
{
    uint32_t pcs_offset, pc_size;
    if (reader_field(r, "site.pcs", &pcs_offset, &pc_size) != 0 || pc_size != 8)
        return -EPROTO;
    memset(out, 0, offsetof(struct read_site, pcs));
    out->addr = addr;
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
    int rc = sum_counters(r);
    if (rc != 0)
        return rc;
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
            static struct read_site site;
            rc = reader_site_at(r, at, &site);
            if (rc != 0)
                return rc;
            if (site.id < MAX_SITE_IDS) {
                site.live_count = sums[site.id].live_count;
                site.live_bytes = sums[site.id].live_bytes;
                site.total_count = sums[site.id].total_count;
                site.total_bytes = sums[site.id].total_bytes;
                site.peak_count = sums[site.id].peak_count;
                site.peak_bytes = sums[site.id].peak_bytes;
            }
            count++;
            if (each)
                each(&site, arg);
            at += (pcs_offset + 8u * site.nframes + 15u) & ~(uint64_t)15u;
        }
    }
    return count;
}
