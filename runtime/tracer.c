/*
 * The tracer's slow and rare paths (the hot ones are inline in tracer.h):
 * frees a signal handler makes while its thread is inside a hook (deferred
 * to the hook's end, never dropped), track/untrack of custom allocators'
 * blocks in other domains, and the out-of-memory stop (after which every
 * allocation is counted in root.untraced, until memsnap_stop). Tracked ranges have
 * no header, so a private index (domain, address) -> slot, an
 * open-addressing table in a MISC mapping under the track lock, finds
 * them; that lock is taken after the unwinder's (a walk never runs while
 * it is held) and before the threads lock (init.c states the order).
 */
#include <errno.h>
#include <string.h>

#include "block_header.h"
#include "spinlock.h"
#include "tracer.h"

void trace_out_of_memory(void)
{
    __atomic_store_n(&hot.skipping, 1, __ATOMIC_SEQ_CST); /* before tracing stops */
    uint32_t before = __atomic_fetch_or(&memsnap_root.state, MEMSNAP_STATE_TRUNCATED,
                                        __ATOMIC_ACQ_REL);
    __atomic_fetch_and(&memsnap_root.state, ~MEMSNAP_STATE_TRACING, __ATOMIC_ACQ_REL);
    publish_state();
    if (!(before & MEMSNAP_STATE_TRUNCATED))
        say("out of memory for the trace table; tracing stopped, traces truncated", "", "", "");
}

/* ---- frees deferred by signal handlers ---- */

void trace_defer_free(struct thread_state *self, void *user)
{
    /* linked through the cookie word: the block is ours until it is freed.
     * One instruction publishes it: a handler interrupting this one pushes
     * its own block in between and this one retries. */
    void *head = __atomic_load_n(&self->deferred, __ATOMIC_RELAXED);
    do
        header_of(user)->cookie = (uint64_t)(uintptr_t)head;
    while (!__atomic_compare_exchange_n(&self->deferred, &head, user, 0, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
}

void trace_drain_deferred(struct thread_state *self)
{
    void *list;
    thread_check_clear(self); /* an API call's leave may come first */
    /* one instruction takes the list: a handler may push meanwhile */
    while ((list = __atomic_exchange_n(&self->deferred, NULL, __ATOMIC_ACQ_REL)) != NULL) {
        while (list) {
            struct block_header *h = header_of(list);
            void *next = (void *)(uintptr_t)h->cookie;
            uint64_t link = h->link;
            if (link_slot(link))
                forget_heap_block(self, list, link_slot(link));
            h->cookie = 0;
            real.free(link_base(list, link));
            list = next;
        }
    }
}

/* ---- the index of tracked ranges ---- */

struct track_entry {
    uint64_t addr; /* 0 = empty */
    uint64_t slot; /* its memsnap_slot */
    uint32_t domain;
    uint32_t reserved;
    uint64_t pad;
};

#define FIRST_CAPACITY 256u

/* All guarded by track_lock_word. */
static uint32_t track_lock_word;
static struct memsnap_mapping *index_map;
static struct track_entry *entries;
static uint64_t capacity, used;

static uint64_t entry_hash(uint32_t domain, uint64_t addr)
{
    uint64_t h = (addr ^ ((uint64_t)domain << 48)) * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 31);
}

static struct track_entry *find(uint32_t domain, uint64_t addr)
{
    if (!capacity)
        return NULL;
    for (uint64_t i = entry_hash(domain, addr) & (capacity - 1);; i = (i + 1) & (capacity - 1)) {
        struct track_entry *e = &entries[i];
        if (e->addr == 0)
            return NULL;
        if (e->addr == addr && e->domain == domain)
            return e;
    }
}

static void place(struct track_entry *table, uint64_t cap, const struct track_entry *e)
{
    uint64_t i = entry_hash(e->domain, e->addr) & (cap - 1);
    while (table[i].addr)
        i = (i + 1) & (cap - 1);
    table[i] = *e;
}

/* Room for one more entry (load at most 1/2): 0 or -ENOMEM. */
static int make_room(void)
{
    if ((used + 1) * 2 <= capacity)
        return 0;
    uint64_t cap = capacity ? capacity * 2 : FIRST_CAPACITY;
    struct memsnap_mapping *map =
        pool_map(MEMSNAP_MAP_MISC, 64 + cap * sizeof(struct track_entry));
    if (!map)
        return -ENOMEM;
    map->used = map->size;
    struct track_entry *table = (struct track_entry *)((char *)map + 64);
    for (uint64_t i = 0; i < capacity; i++)
        if (entries[i].addr)
            place(table, cap, &entries[i]);
    if (index_map)
        pool_unmap(index_map);
    index_map = map;
    entries = table;
    capacity = cap;
    return 0;
}

/* Removes an entry, shifting back the ones after it (linear probing
 * without tombstones). */
static void remove_entry(struct track_entry *e)
{
    uint64_t hole = (uint64_t)(e - entries);
    for (uint64_t i = (hole + 1) & (capacity - 1); entries[i].addr; i = (i + 1) & (capacity - 1)) {
        uint64_t home = entry_hash(entries[i].domain, entries[i].addr) & (capacity - 1);
        /* entries[i] may move to the hole when its home is not in (hole, i] */
        if (((i - home) & (capacity - 1)) >= ((i - hole) & (capacity - 1))) {
            entries[hole] = entries[i];
            hole = i;
        }
    }
    entries[hole].addr = 0;
    used--;
}

static struct weights exact_weights(uint64_t addr, uint64_t size)
{
    (void)addr;
    return (struct weights){1, size};
}

int tracer_track(uint32_t domain, uint64_t addr, uint64_t size)
{
    if (addr == 0 || addr == UINT64_MAX)
        return -EINVAL;
    if (size > MEMSNAP_BLOCK_SIZE_MAX)
        return -EOVERFLOW;
    if (!tracing_enabled())
        return -EAGAIN;
    struct thread_state *self = thread_self();
    if (!self)
        return -ENOMEM;
    thread_check_clear(self);
    struct memsnap_site *site = capture_site(self, domain);
    if (!site)
        return -ENOMEM;
    int rc = -ENOMEM;
    spin_lock(&track_lock_word);
    struct track_entry *e = find(domain, addr);
    if (e)
        record_free(self, (struct memsnap_slot *)(uintptr_t)e->slot, addr, exact_weights);
    else if (make_room() != 0)
        goto out;
    struct memsnap_slot *slot = slot_take(self);
    if (slot && record_alloc(self, slot, addr, MEMSNAP_SLOT_META(size, site->id),
                             exact_weights(addr, size)) == 0) {
        struct track_entry entry = {addr, (uint64_t)(uintptr_t)slot, domain, 0, 0};
        if (e) {
            e->slot = entry.slot;
        } else {
            place(entries, capacity, &entry);
            used++;
        }
        rc = 0;
    } else {
        if (slot)
            slot_give_back(self, slot);
        if (e)
            remove_entry(e);
    }
out:
    spin_unlock(&track_lock_word);
    if (rc != 0)
        trace_out_of_memory();
    return rc;
}

int tracer_untrack(uint32_t domain, uint64_t addr)
{
    struct thread_state *self = thread_self();
    if (!self)
        return -ENOMEM;
    thread_check_clear(self);
    spin_lock(&track_lock_word);
    struct track_entry *e = find(domain, addr);
    int rc = -ENOENT;
    if (e) {
        int done = record_free(self, (struct memsnap_slot *)(uintptr_t)e->slot, addr,
                               exact_weights);
        remove_entry(e);
        rc = done == 1 ? 0 : done == 0 ? -ENOENT : -ENOMEM;
    }
    spin_unlock(&track_lock_word);
    return rc;
}

void track_forget_all(void)
{
    if (entries)
        memset(entries, 0, capacity * sizeof *entries);
    used = 0;
}

void track_lock(void)
{
    spin_lock(&track_lock_word);
}

void track_unlock(void)
{
    spin_unlock(&track_lock_word);
}

void track_reset_lock(void)
{
    track_lock_word = 0;
}
