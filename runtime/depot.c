/*
 * The stack depot: every distinct (domain, call stack) is interned once as a
 * memsnap_site record appended to DEPOT mappings, never moved or freed, and
 * given a dense id (1..MEMSNAP_SITE_ID_MAX) that block slots and the
 * per-thread counters (counters.h) refer to. Lookup is lock-free (a bucket
 * array of chain heads + each site's `next`); only a new stack takes the
 * depot lock, which guards the DEPOT mapping being filled and root.nsites.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "spinlock.h"

#define BUCKET_BITS 15u
#define BUCKETS (1u << BUCKET_BITS)
#define CHUNK_BYTES (256u * 1024u)

/* Set at start-up; entries written under the depot lock, read lock-free. */
static uint64_t *buckets; /* site addresses, 0 = empty chain */
/* Guarded by depot_lock_word. */
static struct memsnap_mapping *chunk; /* DEPOT mapping being filled */
static uint32_t depot_lock_word;

int depot_init(void)
{
    struct memsnap_mapping *map = pool_map(MEMSNAP_MAP_MISC, 64 + BUCKETS * sizeof(uint64_t));
    if (!map)
        return -ENOMEM;
    map->used = 64 + BUCKETS * sizeof(uint64_t);
    buckets = (uint64_t *)((char *)map + 64);
    return 0;
}

int depot_ready(void)
{
    return __atomic_load_n(&buckets, __ATOMIC_ACQUIRE) != NULL;
}

static inline uint64_t rotate_left(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

/* Two independent lanes of xor/add and rotate over the pcs (no chain of
 * multiplies, no division), mixed once at the end. */
static uint64_t stack_hash(uint32_t domain, const uint64_t *pcs, unsigned nframes, uint32_t total)
{
    uint64_t a = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)domain << 32) ^ total;
    uint64_t b = 0x6a09e667f3bcc909ULL ^ nframes;
    unsigned i = 0;
#pragma GCC unroll 2
    for (; i + 1 < nframes; i += 2) {
        a = rotate_left(a ^ pcs[i], 23);
        b = rotate_left(b + pcs[i + 1], 41);
    }
    if (i < nframes)
        a = rotate_left(a ^ pcs[i], 23);
    uint64_t h = a ^ (b * 0xff51afd7ed558ccdULL);
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 29);
}

/* The n pcs of a and b are equal (libc's memcmp: vector compares; it
 * neither allocates nor takes a lock). */
static inline int same_pcs(const uint64_t *a, const uint64_t *b, unsigned n)
{
    return memcmp(a, b, 8u * n) == 0;
}

static inline int site_matches(const struct memsnap_site *site, uint64_t hash, uint32_t domain,
                               const uint64_t *pcs, unsigned nframes, uint32_t total)
{
    return site->hash == hash && site->domain == domain && site->nframes == nframes &&
           site->total_nframes == total && same_pcs(site->pcs, pcs, nframes);
}

static struct memsnap_site *find(uint64_t head, uint64_t hash, uint32_t domain,
                                 const uint64_t *pcs, unsigned nframes, uint32_t total)
{
    for (uint64_t at = head; at;) {
        struct memsnap_site *site = (struct memsnap_site *)(uintptr_t)at;
        /* the record spans several cache lines: ask for them together */
        for (unsigned off = 64; off < sizeof *site + 8u * nframes; off += 64)
            __builtin_prefetch((const char *)site + off);
        if (site_matches(site, hash, domain, pcs, nframes, total))
            return site;
        at = __atomic_load_n(&site->next, __ATOMIC_ACQUIRE);
    }
    return NULL;
}

/* Appends a new site; called with the depot lock held. */
static struct memsnap_site *append(uint64_t hash, uint32_t domain, const uint64_t *pcs,
                                   unsigned nframes, uint32_t total, uint64_t head)
{
    uint64_t id = memsnap_root.nsites + 1;
    if (id > MEMSNAP_SITE_ID_MAX)
        return NULL;
    uint64_t bytes = (sizeof(struct memsnap_site) + 8u * nframes + 15u) & ~(uint64_t)15u;
    if (!chunk || chunk->used + bytes > chunk->size) {
        struct memsnap_mapping *map = pool_map(MEMSNAP_MAP_DEPOT, CHUNK_BYTES);
        if (!map)
            return NULL;
        /* records start right after the header (used = 32: 16-aligned) */
        chunk = map;
    }
    struct memsnap_site *site = (struct memsnap_site *)((char *)chunk + chunk->used);
    site->next = head;
    site->hash = hash;
    site->id = (uint32_t)id;
    site->domain = domain;
    site->nframes = (uint16_t)nframes;
    site->reserved = 0;
    site->total_nframes = total;
    for (unsigned i = 0; i < nframes; i++)
        site->pcs[i] = pcs[i];
    __atomic_store_n(&chunk->used, chunk->used + bytes, __ATOMIC_RELEASE);
    __atomic_store_n(&memsnap_root.nsites, id, __ATOMIC_RELEASE);
    return site;
}

struct memsnap_site *depot_intern(uint32_t domain, const uint64_t *pcs, unsigned nframes,
                                  uint32_t total_nframes)
{
    uint64_t hash = stack_hash(domain, pcs, nframes, total_nframes);
    uint64_t *bucket = &buckets[hash & (BUCKETS - 1)];
    uint64_t head = __atomic_load_n(bucket, __ATOMIC_ACQUIRE);
    struct memsnap_site *site = find(head, hash, domain, pcs, nframes, total_nframes);
    if (site)
        return site;
    spin_lock(&depot_lock_word);
    uint64_t now = __atomic_load_n(bucket, __ATOMIC_ACQUIRE);
    if (now != head)
        site = find(now, hash, domain, pcs, nframes, total_nframes);
    if (!site) {
        site = append(hash, domain, pcs, nframes, total_nframes, now);
        if (site)
            __atomic_store_n(bucket, (uint64_t)(uintptr_t)site, __ATOMIC_RELEASE);
    }
    spin_unlock(&depot_lock_word);
    return site;
}

void depot_lock(void)
{
    spin_lock(&depot_lock_word);
}

void depot_unlock(void)
{
    spin_unlock(&depot_lock_word);
}

void depot_reset_lock(void)
{
    depot_lock_word = 0;
}
