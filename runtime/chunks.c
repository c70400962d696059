/*
 * Block slots in per-thread chunks (chunks.h): mapping a chunk aligned to
 * its size, the slow path of taking a slot (never-used slots of the newest
 * chunk, then the slots other threads gave back, then a new chunk), and
 * the wipe after a clear. Every function here runs on the thread that owns
 * the record (or, for an adopted record, its new owner); the chunks' remote
 * stacks are the only state other threads write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>

#include "chunks.h"

/* A new chunk owned by `self`, aligned to CHUNK_BYTES, on root.mappings;
 * NULL when out of memory. */
static struct memsnap_chunk *map_chunk(struct thread_state *self)
{
    if (!pool_take_budget())
        return NULL;
    int saved_errno = errno; /* a failure is the runtime's, not the program's */
    char *area = mmap(NULL, 2 * CHUNK_BYTES, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        errno = saved_errno;
        return NULL;
    }
    uintptr_t start = ((uintptr_t)area + CHUNK_BYTES - 1) & ~(uintptr_t)(CHUNK_BYTES - 1);
    if (start > (uintptr_t)area)
        munmap(area, start - (uintptr_t)area);
    uintptr_t end = (uintptr_t)area + 2 * CHUNK_BYTES;
    if (end > start + CHUNK_BYTES)
        munmap((void *)(start + CHUNK_BYTES), end - (start + CHUNK_BYTES));
    errno = saved_errno;
    struct memsnap_chunk *chunk = (struct memsnap_chunk *)start;
    chunk->owner = (uint64_t)(uintptr_t)&self->rec;
    chunk->capacity = CHUNK_SLOTS;
    chunk->births = CHUNK_BIRTHS;
    chunk->next_owned = (uint64_t)(uintptr_t)self->owned;
    pool_link(&chunk->map, MEMSNAP_MAP_CHUNK, CHUNK_BYTES);
    chunk->map.used = CHUNK_BYTES;
    self->owned = chunk;
    self->bump_chunk = chunk;
    return chunk;
}

/* Moves every slot other threads gave back to the free list: 1 if any. */
static int harvest_remote(struct thread_state *self)
{
    int any = 0;
    for (struct memsnap_chunk *chunk = self->owned; chunk;
         chunk = (struct memsnap_chunk *)(uintptr_t)chunk->next_owned) {
        if (__atomic_load_n(&chunk->remote, __ATOMIC_RELAXED) == 0)
            continue;
        uint64_t at = __atomic_exchange_n(&chunk->remote, 0, __ATOMIC_ACQUIRE);
        while (at) {
            struct memsnap_slot *slot = (struct memsnap_slot *)(uintptr_t)at;
            at = slot->meta;
            slot_give_back(self, slot);
            any = 1;
        }
    }
    return any;
}

/* A never-used slot of the newest chunk, or NULL when it is full. */
static struct memsnap_slot *bump(struct thread_state *self)
{
    struct memsnap_chunk *chunk = self->bump_chunk;
    if (!chunk || chunk->high >= chunk->capacity)
        return NULL;
    struct memsnap_slot *slot = &chunk->slot[chunk->high];
    __atomic_store_n(&chunk->high, chunk->high + 1, __ATOMIC_RELEASE);
    return slot;
}

struct memsnap_slot *slot_take_slow(struct thread_state *self)
{
    struct memsnap_slot *slot = bump(self);
    if (slot)
        return slot;
    if (harvest_remote(self))
        return slot_take(self);
    if (!map_chunk(self))
        return NULL;
    return bump(self);
}

void chunks_wipe(struct thread_state *self)
{
    for (struct memsnap_chunk *chunk = self->owned; chunk;
         chunk = (struct memsnap_chunk *)(uintptr_t)chunk->next_owned) {
        uint32_t high = __atomic_load_n(&chunk->high, __ATOMIC_ACQUIRE);
        for (uint32_t i = 0; i < high; i++) {
            struct memsnap_slot *slot = &chunk->slot[i];
            uint64_t addr = __atomic_load_n(&slot->addr, __ATOMIC_ACQUIRE);
            /* A thread freeing this block concurrently clears the slot
             * with the same compare-and-swap: whoever wins gives it back. */
            if (addr != MEMSNAP_SLOT_FREE && slot_clear_remote(slot, addr))
                slot_give_back(self, slot);
        }
    }
}
