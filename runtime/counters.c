/*
 * The slow paths of the per-thread counters (counters.h): a thread's
 * counter pages and directory, carved from its own COUNTERS mappings (so
 * that two threads never write one cache line), the directory grown by a
 * larger copy published with one store; the fold of a thread's drift into
 * root.current_bytes/peak_bytes (a new peak marks the peak snapshot:
 * peak.h); and the wipe after a clear.
 */
#include <string.h>

#include "counters.h"
#include "spinlock.h"

#define ARENA_BYTES (64u * 1024u)
#define PAGE_BYTES (MEMSNAP_COUNTERS_PER_PAGE * sizeof(struct memsnap_counter))
#define FIRST_DIR_PAGES 8u

/* Guards root.current_bytes, root.peak_bytes, root.peak_gen and root.clear_gen against
 * concurrent folds and clears (while the process is single-threaded, the
 * one thread folds without it). Taken after the threads lock, before the
 * depot's (init.c states the whole order). */
static uint32_t fold_lock_word;

/* `bytes` of zeroed counter memory from the caller's arena, 64-aligned;
 * NULL when out of memory. */
static void *arena_take(struct thread_state *self, uint64_t bytes)
{
    bytes = (bytes + 63) & ~(uint64_t)63;
    if (self->arena_end - self->arena < bytes) {
        uint64_t size = bytes + 64 > ARENA_BYTES ? bytes + 64 : ARENA_BYTES;
        struct memsnap_mapping *map = pool_map(MEMSNAP_MAP_COUNTERS, size);
        if (!map)
            return NULL;
        map->used = map->size;
        self->arena = (uintptr_t)map + 64;
        self->arena_end = (uintptr_t)map + map->size;
    }
    void *at = (void *)self->arena;
    self->arena += bytes;
    return at;
}

/* A directory with room for page `page`, the old entries copied. */
static struct memsnap_counters *grow_dir(struct thread_state *self, uint32_t page)
{
    uint64_t npages = self->dir ? self->dir->npages : FIRST_DIR_PAGES;
    while (npages <= page)
        npages *= 2;
    struct memsnap_counters *dir =
        arena_take(self, sizeof *dir + npages * sizeof(uint64_t));
    if (!dir)
        return NULL;
    dir->npages = npages;
    if (self->dir)
        memcpy(dir->page, self->dir->page, self->dir->npages * sizeof(uint64_t));
    self->dir = dir;
    __atomic_store_n(&self->rec.counters, (uint64_t)(uintptr_t)dir, __ATOMIC_RELEASE);
    return dir;
}

struct memsnap_counter *counter_slow(struct thread_state *self, uint32_t id)
{
    uint32_t page = id / MEMSNAP_COUNTERS_PER_PAGE;
    struct memsnap_counters *dir = self->dir;
    if (!dir || page >= dir->npages) {
        dir = grow_dir(self, page);
        if (!dir)
            return NULL;
    }
    if (!dir->page[page]) {
        void *counters = arena_take(self, PAGE_BYTES);
        if (!counters)
            return NULL;
        __atomic_store_n(&dir->page[page], (uint64_t)(uintptr_t)counters, __ATOMIC_RELEASE);
    }
    return (struct memsnap_counter *)(uintptr_t)dir->page[page] + id % MEMSNAP_COUNTERS_PER_PAGE;
}

void fold_drift(struct thread_state *self)
{
    if (MEMSNAP_UNLIKELY(self->fold_limit == 0)) {
        self->fold_limit = memsnap_root.fold_bytes;
        if (!(__atomic_load_n(&memsnap_root.state, __ATOMIC_RELAXED) & MEMSNAP_STATE_DRIFT))
            __atomic_fetch_or(&memsnap_root.state, MEMSNAP_STATE_DRIFT, __ATOMIC_RELAXED);
    }
    spin_lock(&fold_lock_word);
    if (self->rec.clear_gen == memsnap_root.clear_gen) {
        uint64_t now = memsnap_root.current_bytes + (uint64_t)self->unfolded;
        __atomic_store_n(&memsnap_root.current_bytes, now, __ATOMIC_RELAXED);
        if ((int64_t)now > (int64_t)memsnap_root.peak_bytes)
            peak_mark(now);
    }
    self->unfolded = 0;
    spin_unlock(&fold_lock_word);
}

void counters_wipe(struct thread_state *self)
{
    struct memsnap_counters *dir = self->dir;
    for (uint64_t p = 0; dir && p < dir->npages; p++)
        if (dir->page[p])
            memset((void *)(uintptr_t)dir->page[p], 0, PAGE_BYTES);
    __atomic_store_n(&self->rec.current, 0, __ATOMIC_RELAXED);
    self->unfolded = 0;
}

void fold_lock(void)
{
    spin_lock(&fold_lock_word);
}

void fold_unlock(void)
{
    spin_unlock(&fold_lock_word);
}

void fold_reset_lock(void)
{
    fold_lock_word = 0;
}
