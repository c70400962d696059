/*
 * The block table: address -> (requested size, site), split into
 * root.nshards shards, each an open-addressing array with linear probing
 * behind a spin lock. Keys are (address, domain of the site): the same
 * address may be live once per domain (a pool's first object and the
 * malloc'd pool itself). docs/layout.md gives the hash, the probe sequence
 * and the order of writes that lets a reader of a stopped process skip the
 * one record a locked shard is changing.
 */
#include <errno.h>
#include <string.h>

#include "counters.h"
#include "internal.h"
#include "spinlock.h"

#define INITIAL_CAPACITY 128u

static struct memsnap_shard *shards;
uint32_t table_shard_mask;
unsigned table_shard_bits;
/* Runtime-private copy of each shard's (slots, capacity - 1), beside the
 * shards: a lookup reads it instead of the slots header's line. Written
 * under the shard lock together with shard->slots. */
struct shard_view *table_views;

int table_init(uint32_t nshards)
{
    uint64_t bytes =
        64 + (uint64_t)nshards * (sizeof(struct memsnap_shard) + sizeof(struct shard_view));
    struct memsnap_mapping *map = pool_map(MEMSNAP_MAP_MISC, bytes);
    if (!map)
        return -ENOMEM;
    shards = (struct memsnap_shard *)((char *)map + 64);
    table_views = (struct shard_view *)(shards + nshards);
    map->used = bytes;
    table_shard_mask = nshards - 1;
    table_shard_bits = (unsigned)__builtin_ctz(nshards);
    memsnap_root.nshards = nshards;
    __atomic_store_n(&memsnap_root.shards, (uint64_t)(uintptr_t)shards, __ATOMIC_RELEASE);
    return 0;
}

static inline struct memsnap_slots *slots_of(const struct memsnap_shard *shard)
{
    return (struct memsnap_slots *)(uintptr_t)shard->slots;
}

static inline struct shard_view *view_of(const struct memsnap_shard *shard)
{
    return &table_views[shard - shards];
}

/* Publishes a shard's slot array (or none) and its private view. */
static inline void set_slots(struct memsnap_shard *shard, struct memsnap_slots *slots)
{
    struct shard_view *view = view_of(shard);
    __atomic_store_n(&view->slots, slots, __ATOMIC_RELAXED);
    __atomic_store_n(&view->mask, slots ? slots->capacity - 1 : 0, __ATOMIC_RELAXED);
    __atomic_store_n(&shard->slots, (uint64_t)(uintptr_t)slots, __ATOMIC_RELEASE);
}

static inline void set_pending(struct memsnap_shard *shard, uint32_t op, uint64_t addr)
{
    __atomic_store_n(&shard->pending_addr, addr, __ATOMIC_RELAXED);
    __atomic_store_n(&shard->pending_op, op, __ATOMIC_RELEASE);
}

static inline uint32_t slot_domain(uint64_t meta)
{
    struct memsnap_site *site = depot_site(MEMSNAP_SLOT_SITE(meta));
    return site ? site->domain : UINT32_MAX;
}

/* Moves every live slot into a new array of a capacity that leaves the load
 * at most 1/2; publishes it with one store, then unmaps the old one. Called
 * when live slots plus tombstones would exceed 11/16 of the capacity (so an
 * insert, which probes up to an empty slot, stays short): the array doubles
 * when more than half of it is live, otherwise it is rebuilt at the same
 * size without tombstones. The live load therefore stays in [11/32, 11/16]:
 * 23..47 bytes of slot per live block. */
static int rehash(struct memsnap_shard *shard)
{
    struct memsnap_slots *old = slots_of(shard);
    uint64_t capacity = old ? old->capacity : INITIAL_CAPACITY;
    if (old && (shard->count + 1) * 2 > capacity)
        capacity *= 2;
    struct memsnap_slots *fresh = (struct memsnap_slots *)pool_map(
        MEMSNAP_MAP_SLOTS, sizeof(struct memsnap_slots) + capacity * sizeof(struct memsnap_slot));
    if (!fresh)
        return -ENOMEM;
    fresh->capacity = capacity;
    fresh->map.used = sizeof(struct memsnap_slots) + capacity * sizeof(struct memsnap_slot);
    uint64_t mask = capacity - 1;
    if (old) {
        uint32_t pending = shard->pending_op;
        set_pending(shard, MEMSNAP_OP_RESIZE, shard->pending_addr);
        for (uint64_t i = 0; i < old->capacity; i++) {
            uint64_t addr = old->slot[i].addr;
            if (addr == MEMSNAP_SLOT_EMPTY || addr == MEMSNAP_SLOT_TOMBSTONE)
                continue;
            uint64_t j = (table_hash(addr) >> table_shard_bits) & mask;
            while (fresh->slot[j].addr != MEMSNAP_SLOT_EMPTY)
                j = (j + 1) & mask;
            fresh->slot[j] = old->slot[i];
        }
        set_slots(shard, fresh);
        shard->tombstones = 0;
        set_pending(shard, pending, shard->pending_addr);
        pool_unmap(&old->map);
    } else {
        set_slots(shard, fresh);
    }
    return 0;
}

int table_insert(uint64_t addr, uint64_t size, struct memsnap_site *site, int count_total)
{
    uint64_t hash = table_hash(addr);
    struct memsnap_shard *shard = &shards[hash & table_shard_mask];
    const int solo = process_single_threaded();
    spin_lock_any(solo, &shard->lock);
    set_pending(shard, MEMSNAP_OP_INSERT, addr);
    struct shard_view *view = view_of(shard);
    struct memsnap_slots *slots = view->slots;
    uint64_t mask = view->mask;
    if (!slots || (shard->count + shard->tombstones + 1) * 16 > (mask + 1) * 11) {
        if (rehash(shard) != 0) {
            set_pending(shard, MEMSNAP_OP_NONE, 0);
            spin_unlock(&shard->lock);
            return -ENOMEM;
        }
        slots = view->slots;
        mask = view->mask;
    }
    uint64_t i = (hash >> table_shard_bits) & mask;
    uint64_t free_at = UINT64_MAX;
    uint64_t meta = MEMSNAP_SLOT_META(size, site->id);
    for (;; i = (i + 1) & mask) {
        uint64_t here = slots->slot[i].addr;
        if (here == MEMSNAP_SLOT_EMPTY)
            break;
        if (here == MEMSNAP_SLOT_TOMBSTONE) {
            if (free_at == UINT64_MAX)
                free_at = i;
        } else if (here == addr && slot_domain(slots->slot[i].meta) == site->domain) {
            /* Same block recorded again (its free was not seen): replace. */
            uint64_t old_meta = slots->slot[i].meta;
            struct memsnap_site *old_site = depot_site(MEMSNAP_SLOT_SITE(old_meta));
            if (old_site)
                pair_sub_any(solo, &old_site->live_count, 1, MEMSNAP_SLOT_SIZE(old_meta));
            current_sub_any(solo, MEMSNAP_SLOT_SIZE(old_meta));
            __atomic_store_n(&slots->slot[i].meta, meta, __ATOMIC_RELEASE);
            goto counted;
        }
    }
    if (free_at != UINT64_MAX) {
        i = free_at;
        shard->tombstones--;
    }
    __atomic_store_n(&slots->slot[i].meta, meta, __ATOMIC_RELAXED);
    __atomic_store_n(&slots->slot[i].addr, addr, __ATOMIC_RELEASE);
    __atomic_store_n(&shard->count, shard->count + 1, __ATOMIC_RELAXED);
counted:
    pair_add_any(solo, &site->live_count, 1, size);
    if (count_total)
        pair_add_any(solo, &site->total_count, 1, size);
    current_add_any(solo, size);
    set_pending(shard, MEMSNAP_OP_NONE, 0);
    spin_unlock(&shard->lock);
    return 0;
}

int table_remove(uint64_t addr, uint32_t domain, uint64_t *meta_out)
{
    if (MEMSNAP_UNLIKELY(!shards))
        return -ENOENT;
    uint64_t hash = table_hash(addr);
    struct memsnap_shard *shard = &shards[hash & table_shard_mask];
    prefetch_for_write(shard); /* read, then locked: one transfer */
    if (__atomic_load_n(&shard->count, __ATOMIC_RELAXED) == 0)
        return -ENOENT;
    table_prefetch(addr); /* overlaps the miss with taking the lock */
    const int solo = process_single_threaded();
    spin_lock_any(solo, &shard->lock);
    struct shard_view *view = view_of(shard);
    struct memsnap_slots *slots = view->slots;
    if (!slots || shard->count == 0) {
        spin_unlock(&shard->lock);
        return -ENOENT;
    }
    set_pending(shard, MEMSNAP_OP_REMOVE, addr);
    uint64_t mask = view->mask;
    uint64_t i = (hash >> table_shard_bits) & mask;
    int rc = -ENOENT;
    for (;; i = (i + 1) & mask) {
        uint64_t here = slots->slot[i].addr;
        if (here == MEMSNAP_SLOT_EMPTY)
            break;
        if (here != addr)
            continue;
        uint64_t meta = slots->slot[i].meta;
        struct memsnap_site *site = depot_site(MEMSNAP_SLOT_SITE(meta));
        if ((site ? site->domain : UINT32_MAX) != domain)
            continue;
        /* A slot followed by an empty one ends every probe chain through it:
         * it (and the tombstones just before it) can become empty. */
        if (slots->slot[(i + 1) & mask].addr == MEMSNAP_SLOT_EMPTY) {
            __atomic_store_n(&slots->slot[i].addr, MEMSNAP_SLOT_EMPTY, __ATOMIC_RELEASE);
            uint64_t j = (i - 1) & mask;
            while (slots->slot[j].addr == MEMSNAP_SLOT_TOMBSTONE) {
                __atomic_store_n(&slots->slot[j].addr, MEMSNAP_SLOT_EMPTY, __ATOMIC_RELEASE);
                shard->tombstones--;
                j = (j - 1) & mask;
            }
        } else {
            __atomic_store_n(&slots->slot[i].addr, MEMSNAP_SLOT_TOMBSTONE, __ATOMIC_RELEASE);
            shard->tombstones++;
        }
        __atomic_store_n(&shard->count, shard->count - 1, __ATOMIC_RELAXED);
        if (site)
            pair_sub_any(solo, &site->live_count, 1, MEMSNAP_SLOT_SIZE(meta));
        current_sub_any(solo, MEMSNAP_SLOT_SIZE(meta));
        if (meta_out)
            *meta_out = meta;
        rc = 0;
        break;
    }
    set_pending(shard, MEMSNAP_OP_NONE, 0);
    spin_unlock(&shard->lock);
    return rc;
}

void table_lock_all(void)
{
    for (uint32_t s = 0; shards && s <= table_shard_mask; s++)
        spin_lock(&shards[s].lock);
}

void table_unlock_all(void)
{
    for (uint32_t s = 0; shards && s <= table_shard_mask; s++)
        spin_unlock(&shards[s].lock);
}

void table_reset_locks(void)
{
    for (uint32_t s = 0; shards && s <= table_shard_mask; s++)
        shards[s].lock = 0;
}

void table_clear_all(void)
{
    if (!shards)
        return;
    table_lock_all();
    for (uint32_t s = 0; s <= table_shard_mask; s++) {
        struct memsnap_shard *shard = &shards[s];
        struct memsnap_slots *slots = slots_of(shard);
        if (!slots)
            continue;
        set_pending(shard, MEMSNAP_OP_CLEAR, 0);
        set_slots(shard, NULL);
        __atomic_store_n(&shard->count, 0, __ATOMIC_RELAXED);
        shard->tombstones = 0;
        pool_unmap(&slots->map);
        set_pending(shard, MEMSNAP_OP_NONE, 0);
    }
    depot_zero_counters();
    __atomic_store_n(&memsnap_root.current_bytes, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&memsnap_root.peak_bytes, 0, __ATOMIC_RELAXED);
    table_unlock_all();
}
