/*
 * The internal heap: what libdw, pthread_getattr_np, dlsym and the like
 * allocate while the runtime does its own work (doing_internal_work()).
 * That memory is the runtime's, so like the rest of it it comes from
 * anonymous mmap: address ranges reserved in growing steps
 * (pool_reserve, mmap_pool.c: 1 MiB first, PROT_NONE, MAP_NORESERVE), so
 * that telling an internal pointer from the program's is a compare per
 * range on the free path (nearly always one range), and committed chunk by
 * chunk (mprotect). Each committed chunk starts with a memsnap_mapping
 * header (kind MEMSNAP_MAP_MISC, `used` = bytes handed out so far), is
 * linked on root.mappings and counted in root.runtime_bytes. Blocks are
 * power-of-two size classes with a 16-byte header (offset back to the
 * block's start for aligned blocks, the mark every header the runtime
 * writes carries, class) and one free list per class, under
 * one spin lock: these allocations are rare (unwinder cache misses, a
 * thread's first stack lookup). A request the heap cannot serve goes to the
 * real allocator and is counted in root.untraced.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"
#include "spinlock.h"

#define CHUNK_BYTES (64u << 10)     /* smallest commit */
#define BLOCK_HEADER 16u
#define MIN_CLASS 5u  /* 32-byte blocks: 16 of header, 16 of payload */
#define MAX_CLASS 40u /* above MAX_REQUEST: never reached */
#define MAX_REQUEST (1ull << 36)

/* Written under heap_lock_word, read lock-free (internal_heap_owns). */
struct heap_range internal_heap_ranges[INTERNAL_HEAP_RANGES];
unsigned internal_heap_nranges;

/* Everything below is guarded by heap_lock_word. */
static uint32_t heap_lock_word;
static uintptr_t committed_end;              /* end of what is read-write in the last range */
static struct memsnap_mapping *chunk;        /* the chunk being carved */
static uintptr_t bump, bump_end;             /* its free tail */
static void *free_lists[MAX_CLASS + 1];      /* one per class, linked through the block */

/* The header right before every user pointer; `mark` is the word right
 * before it, where free looks first (OWN_HEADER_MARK, internal.h). */
struct block_header {
    uint64_t offset;     /* user pointer - block start */
    uint32_t mark;       /* OWN_HEADER_MARK */
    uint32_t size_class; /* the block is 1 << size_class bytes */
};

/* Reserves the next range, of at least `need` bytes; committing goes on
 * at its start. 0, or -ENOMEM. Lock held. */
static int reserve_range(uint64_t need)
{
    unsigned n = internal_heap_nranges;
    uint64_t bytes;
    void *range = n < INTERNAL_HEAP_RANGES ? pool_reserve(n, need, &bytes) : NULL;
    if (!range)
        return -ENOMEM;
    internal_heap_ranges[n].base = (uintptr_t)range;
    internal_heap_ranges[n].span = (uintptr_t)bytes;
    __atomic_store_n(&internal_heap_nranges, n + 1, __ATOMIC_RELEASE);
    committed_end = (uintptr_t)range;
    return 0;
}

int internal_heap_init(void)
{
    if (internal_heap_ready())
        return 0;
    spin_lock(&heap_lock_word);
    int rc = internal_heap_nranges ? 0 : reserve_range(0);
    spin_unlock(&heap_lock_word);
    return rc;
}

static unsigned class_of(uint64_t bytes)
{
    unsigned c = MIN_CLASS;
    while (c < MAX_CLASS && (1ull << c) < bytes)
        c++;
    return c;
}

/* Hands the current chunk's free tail to the free lists, largest blocks
 * first (bump and the blocks are 16-byte aligned). Lock held. */
static void retire_tail(void)
{
    for (unsigned c = MAX_CLASS; c >= MIN_CLASS; c--) {
        while (bump_end - bump >= (1ull << c)) {
            void *block = (void *)bump;
            memcpy(block, &free_lists[c], sizeof(void *));
            free_lists[c] = block;
            bump += 1ull << c;
        }
    }
    if (chunk)
        __atomic_store_n(&chunk->used, bump - (uintptr_t)chunk, __ATOMIC_RELEASE);
}

/* Makes the next `need` bytes of the last range (or of a new one, when
 * it is full) usable as a new chunk (its header first). 0, or -ENOMEM.
 * Lock held. */
static int commit_chunk(uint64_t need)
{
    uint64_t bytes = (need + sizeof(struct memsnap_mapping) + 4095) & ~4095ull;
    if (bytes < CHUNK_BYTES)
        bytes = CHUNK_BYTES;
    if (!pool_take_budget())
        return -ENOMEM;
    const struct heap_range *last = &internal_heap_ranges[internal_heap_nranges - 1];
    if (bytes > last->base + last->span - committed_end && reserve_range(bytes) != 0)
        return -ENOMEM;
    int saved_errno = errno;
    int rc = mprotect((void *)committed_end, bytes, PROT_READ | PROT_WRITE);
    errno = saved_errno; /* a failure is the runtime's, not the program's */
    if (rc != 0)
        return -ENOMEM;
    retire_tail();
    chunk = (struct memsnap_mapping *)committed_end;
    pool_link(chunk, MEMSNAP_MAP_MISC, bytes);
    bump = committed_end + sizeof(struct memsnap_mapping);
    bump = (bump + 15) & ~(uintptr_t)15;
    bump_end = committed_end + bytes;
    committed_end += bytes;
    chunk->used = bump - (uintptr_t)chunk;
    return 0;
}

/* A free block of class c, or NULL. Lock held. */
static void *take_block(unsigned c)
{
    void *block = free_lists[c];
    if (block) {
        memcpy(&free_lists[c], block, sizeof(void *));
        return block;
    }
    uint64_t bytes = 1ull << c;
    if (bump_end - bump < bytes && commit_chunk(bytes) != 0)
        return NULL;
    block = (void *)bump;
    bump += bytes;
    __atomic_store_n(&chunk->used, bump - (uintptr_t)chunk, __ATOMIC_RELEASE);
    return block;
}

/* Heap block of `size` bytes aligned to `align` (a power of two >= 16), or
 * NULL (out of memory, or this thread already holds the lock: a signal
 * handler interrupted the heap). */
static void *heap_alloc(size_t size, size_t align)
{
    uint64_t need;
    if (__builtin_add_overflow((uint64_t)size, BLOCK_HEADER + (align - 16), &need) ||
        need > MAX_REQUEST)
        return NULL;
    if (internal_heap_init() != 0)
        return NULL;
    if (__atomic_load_n(&heap_lock_word, __ATOMIC_RELAXED) == current_tid())
        return NULL;
    unsigned c = class_of(need);
    spin_lock(&heap_lock_word);
    unsigned char *block = take_block(c);
    spin_unlock(&heap_lock_word);
    if (!block)
        return NULL;
    uintptr_t user = ((uintptr_t)block + BLOCK_HEADER + align - 1) & ~(uintptr_t)(align - 1);
    struct block_header header = {user - (uintptr_t)block, OWN_HEADER_MARK, c};
    memcpy((void *)(user - BLOCK_HEADER), &header, sizeof header);
    return (void *)user;
}

static struct block_header header_of(const void *ptr)
{
    struct block_header header;
    memcpy(&header, (const unsigned char *)ptr - BLOCK_HEADER, sizeof header);
    return header;
}

static void count_fallback(void *ptr)
{
    if (ptr)
        __atomic_fetch_add(&memsnap_root.untraced, 1, __ATOMIC_RELAXED);
}

void *internal_malloc(size_t size)
{
    void *ptr = heap_alloc(size, 16);
    if (MEMSNAP_UNLIKELY(!ptr)) {
        ptr = real.malloc(size);
        count_fallback(ptr);
    }
    return ptr;
}

void *internal_calloc(size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    void *ptr = heap_alloc(bytes, 16);
    if (MEMSNAP_UNLIKELY(!ptr)) {
        ptr = real.calloc(count, size);
        count_fallback(ptr);
        return ptr;
    }
    memset(ptr, 0, bytes);
    return ptr;
}

void *internal_memalign(size_t align, size_t size)
{
    size_t a = 16;
    while (a < align && a < ((size_t)1 << 30))
        a <<= 1;
    if (a < align) {
        errno = EINVAL;
        return NULL;
    }
    void *ptr = heap_alloc(size, a);
    if (MEMSNAP_UNLIKELY(!ptr)) {
        ptr = real.memalign(a, size);
        count_fallback(ptr);
    }
    return ptr;
}

size_t internal_usable_size(const void *ptr)
{
    struct block_header header = header_of(ptr);
    return (size_t)((1ull << header.size_class) - header.offset);
}

void internal_free(void *ptr)
{
    struct block_header header = header_of(ptr);
    if (header.size_class < MIN_CLASS || header.size_class > MAX_CLASS)
        return; /* not a block start: corrupt, leave it */
    void *block = (unsigned char *)ptr - header.offset;
    if (__atomic_load_n(&heap_lock_word, __ATOMIC_RELAXED) == current_tid())
        return; /* a signal handler interrupted the heap: leaked, not corrupted */
    spin_lock(&heap_lock_word);
    memcpy(block, &free_lists[header.size_class], sizeof(void *));
    free_lists[header.size_class] = block;
    spin_unlock(&heap_lock_word);
}

void *internal_realloc(void *ptr, size_t size)
{
    if (!ptr)
        return internal_malloc(size);
    if (!internal_heap_owns(ptr))
        return real.realloc(ptr, size); /* counted when it was allocated */
    if (size == 0) {
        internal_free(ptr);
        return NULL;
    }
    size_t old = internal_usable_size(ptr);
    if (size <= old)
        return ptr;
    void *fresh = internal_malloc(size);
    if (fresh) {
        memcpy(fresh, ptr, old);
        internal_free(ptr);
    }
    return fresh;
}

void internal_heap_lock(void)
{
    spin_lock(&heap_lock_word);
}

void internal_heap_unlock(void)
{
    spin_unlock(&heap_lock_word);
}

void internal_heap_reset_lock(void)
{
    heap_lock_word = 0;
}
