/*
 * Block slots (chunks.c): every traced block has one memsnap_slot in a
 * chunk owned by a thread record (include/memsnap/layout.h). A chunk is a
 * mapping aligned to its size, so a slot's chunk is its address rounded
 * down. The owner takes free slots from its private LIFO list (linked
 * through the free slots' meta words), then from never-used slots of its
 * newest chunk, then from what other threads gave back; a thread that
 * frees a block in another record's chunk clears the slot with one
 * compare-and-swap and pushes it on the chunk's remote stack (`remote`,
 * on a cache line of its own): the only locked instructions of the hot
 * paths, and only for frees across threads.
 */
#ifndef MEMSNAP_RUNTIME_CHUNKS_H
#define MEMSNAP_RUNTIME_CHUNKS_H

#include "threads.h"

#define CHUNK_BYTES (256u * 1024u) /* size and alignment of a chunk */
#define CHUNK_SLOTS ((CHUNK_BYTES - sizeof(struct memsnap_chunk)) / 20u)
#define CHUNK_BIRTHS (sizeof(struct memsnap_chunk) + CHUNK_SLOTS * sizeof(struct memsnap_slot))
_Static_assert(CHUNK_BIRTHS + CHUNK_SLOTS * 4u <= CHUNK_BYTES, "chunk geometry");

static inline struct memsnap_chunk *chunk_of(const struct memsnap_slot *slot)
{
    return (struct memsnap_chunk *)((uintptr_t)slot & ~(uintptr_t)(CHUNK_BYTES - 1));
}

/* Where the allocation epoch of the block in `slot` is kept. */
static inline uint32_t *birth_of(struct memsnap_slot *slot)
{
    struct memsnap_chunk *chunk = chunk_of(slot);
    return (uint32_t *)((char *)chunk + CHUNK_BIRTHS) + (slot - chunk->slot);
}

/* A free slot of the caller's record, or NULL when out of memory. Owner. */
struct memsnap_slot *slot_take_slow(struct thread_state *self);
static inline struct memsnap_slot *slot_take(struct thread_state *self)
{
    struct memsnap_slot *slot = self->free_slots;
    if (MEMSNAP_LIKELY(slot != NULL)) {
        self->free_slots = (struct memsnap_slot *)(uintptr_t)slot->meta;
        return slot;
    }
    return slot_take_slow(self);
}

/* Gives back a slot of the caller's own chunks (addr already cleared). */
static inline void slot_give_back(struct thread_state *self, struct memsnap_slot *slot)
{
    slot->meta = (uint64_t)(uintptr_t)self->free_slots;
    self->free_slots = slot;
}

/* Clears another record's slot holding `addr`: 1, or 0 when it no longer
 * holds it (cleared concurrently by its owner's wipe). */
static inline int slot_clear_remote(struct memsnap_slot *slot, uint64_t addr)
{
    return __atomic_compare_exchange_n(&slot->addr, &addr, MEMSNAP_SLOT_FREE, 0,
                                       __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

/* Gives a cleared slot back to the chunk's owner (lock-free push). */
static inline void slot_give_back_remote(struct memsnap_slot *slot)
{
    struct memsnap_chunk *chunk = chunk_of(slot);
    uint64_t head = __atomic_load_n(&chunk->remote, __ATOMIC_RELAXED);
    do
        slot->meta = head;
    while (!__atomic_compare_exchange_n(&chunk->remote, &head, (uint64_t)(uintptr_t)slot, 1,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* Clears every block slot of the caller's chunks (a clear), giving them
 * back to its free list; slots another thread is freeing meanwhile go the
 * remote way. Owner. */
void chunks_wipe(struct thread_state *self);

#endif /* MEMSNAP_RUNTIME_CHUNKS_H */
