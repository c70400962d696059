/*
 * The 16 bytes the hooks put in front of every block they trace, so that a
 * free finds the block's record in O(1) (override.c). `link` holds the
 * address of the block's slot (chunks.h; 0 = the block is not recorded)
 * and, in its top byte, log2 of the offset from the real allocator's block
 * to the pointer the program got (16, or the alignment of an aligned
 * allocation). `cookie` is a keyed hash of (pointer, link) with a secret
 * drawn at start-up: a pointer whose 16 preceding bytes do not hash right
 * was not written by these hooks (allocated before the runtime was loaded
 * or started tracing, or by another allocator) and goes to the real
 * allocator untouched. Every cookie carries OWN_HEADER_MARK (internal.h),
 * which glibc's chunk header never has in that word: free sends such a
 * pointer — every block of a sampled table that was not sampled — to the
 * real allocator after one load and a test; any other pays the hash.
 * Nothing here is part of the trace table's layout: readers never read
 * block headers.
 */
#ifndef MEMSNAP_RUNTIME_BLOCK_HEADER_H
#define MEMSNAP_RUNTIME_BLOCK_HEADER_H

#include "internal.h"

#define HEADER_BYTES 16u
#define LINK_SHIFT_BITS 56u
#define LINK_SLOT_MASK ((1ULL << LINK_SHIFT_BITS) - 1)

struct block_header {
    uint64_t link;
    uint64_t cookie;
};

static inline struct block_header *header_of(const void *user)
{
    return (struct block_header *)((uintptr_t)user - HEADER_BYTES);
}

static inline uint64_t header_cookie(uint64_t user, uint64_t link)
{
    uint64_t x = (user ^ hot.cookie_key) * 0x9E3779B97F4A7C15ULL;
    x = (x ^ link ^ (x >> 29)) * 0xBF58476D1CE4E5B9ULL;
    return (x ^ (x >> 32)) | OWN_HEADER_MARK;
}

/* offset: 16 or a power of two above; slot: the block's slot or NULL. */
static inline uint64_t header_link(const void *slot, uint64_t offset)
{
    return (uint64_t)(uintptr_t)slot | (uint64_t)__builtin_ctzll(offset) << LINK_SHIFT_BITS;
}

static inline void header_write(void *user, uint64_t link)
{
    struct block_header *h = header_of(user);
    h->link = link;
    h->cookie = header_cookie((uint64_t)(uintptr_t)user, link);
}

/* 1 and *link when these hooks wrote the header before `user`, else 0.
 * `user` is a pointer the program passes to free/realloc: the 16 bytes
 * before it are the real allocator's chunk header for a foreign block, so
 * they are readable. */
static inline int header_read(const void *user, uint64_t *link)
{
    const struct block_header *h = header_of(user);
    uint64_t cookie = h->cookie;
    if (!(cookie & OWN_HEADER_MARK))
        return 0;
    uint64_t value = h->link;
    if (cookie != header_cookie((uint64_t)(uintptr_t)user, value))
        return 0;
    *link = value;
    return 1;
}

/* Called before the block goes back to the real allocator: a later block
 * reusing this memory must never look like one of ours. */
static inline void header_erase(void *user)
{
    header_of(user)->cookie = 0;
}

static inline struct memsnap_slot *link_slot(uint64_t link)
{
    return (struct memsnap_slot *)(uintptr_t)(link & LINK_SLOT_MASK);
}

static inline uint64_t link_offset(uint64_t link)
{
    return 1ULL << (link >> LINK_SHIFT_BITS);
}

/* The real allocator's block under `user`. */
static inline void *link_base(const void *user, uint64_t link)
{
    return (char *)user - link_offset(link);
}

#endif /* MEMSNAP_RUNTIME_BLOCK_HEADER_H */
