/*
 * An interval index over the sorted, non-overlapping live blocks of a leak
 * scan: given any 64-bit word, say in a few instructions whether it points
 * at a block's start or interior, and which block. Blocks are grouped into
 * clusters (runs of blocks without a large address gap: the main heap, each
 * thread arena, each group of mmapped blocks); each cluster has a bucket
 * table at a power-of-two granularity chosen so that a bucket holds about
 * one block, giving the candidate range directly. Most words that are not
 * pointers fail the first range check.
 */
#ifndef MEMSNAP_SCAN_BLOCK_INDEX_H
#define MEMSNAP_SCAN_BLOCK_INDEX_H

#include <stdint.h>

/* The largest number of blocks (indexes must fit in 31 bits). */
#define BLOCK_INDEX_MAX_BLOCKS 0x7fffffffULL

struct block_cluster {
    uint64_t lo, hi;       /* [start of first block, extent end of last block) */
    uint32_t first, last;  /* block indexes [first, last) */
    uint32_t shift;        /* bucket granularity: 1 << shift bytes */
    uint32_t *bucket;      /* nbuckets + 1 entries: first block ending above the bucket's start */
};

/* A block's extent, kept together so one cache line answers a lookup. */
struct block_extent {
    uint64_t start;
    uint64_t end;          /* start + max(size, 1) */
};

struct block_index {
    struct block_extent *blk; /* n extents, ascending */
    uint64_t *size;        /* n requested sizes */
    uint64_t n;
    uint64_t lo, span;     /* every block lies in [lo, lo + span) */
    struct block_cluster *cluster;
    uint64_t ncluster;
    uint32_t *buckets;     /* storage of every cluster's buckets */
    uint64_t nbuckets;     /* entries in buckets */
};

struct memsnap_scan_block;
/* Build from copies of the blocks' addresses and sizes. 0, -EINVAL
 * (unsorted/overlap/too many, *bad_index set) or -ENOMEM. */
int block_index_init(struct block_index *ix, const struct memsnap_scan_block *blocks,
                     uint64_t n, uint64_t *bad_index);
void block_index_destroy(struct block_index *ix);

/* The cluster whose range holds p, or NULL (p outside every cluster). */
static inline const struct block_cluster *block_index_cluster(const struct block_index *ix,
                                                               uint64_t p)
{
    if (p - ix->lo >= ix->span)
        return 0;
    const struct block_cluster *c = ix->cluster;
    if (ix->ncluster > 1) {
        uint64_t a = 0, b = ix->ncluster - 1; /* last cluster with lo <= p */
        while (a < b) {
            uint64_t m = a + (b - a + 1) / 2;
            if (ix->cluster[m].lo <= p)
                a = m;
            else
                b = m - 1;
        }
        c = &ix->cluster[a];
    }
    return p < c->hi ? c : 0;
}

static inline uint64_t block_cluster_bucket(const struct block_cluster *c, uint64_t p)
{
    return (p - c->lo) >> c->shift;
}

/* Index of the block of cluster c containing p, or -1. */
static inline int64_t block_index_resolve(const struct block_index *ix,
                                          const struct block_cluster *c, uint64_t p)
{
    uint64_t bucket = block_cluster_bucket(c, p);
    uint32_t i0 = c->bucket[bucket];
    uint32_t i1 = c->bucket[bucket + 1];
    if (i1 >= c->last)
        i1 = c->last - 1;
    const struct block_extent *blk = ix->blk;
    /* The last block of [i0, i1] starting at or below p: usually i0 itself
     * (its extent was prefetched), else a few entries further. */
    if (i1 - i0 > 8) {
        while (i1 > i0) {
            uint32_t m = i0 + (i1 - i0 + 1) / 2;
            if (blk[m].start <= p)
                i0 = m;
            else
                i1 = m - 1;
        }
    } else {
        while (i0 < i1 && blk[i0 + 1].start <= p)
            i0++;
    }
    if (blk[i0].start <= p && p < blk[i0].end)
        return (int64_t)i0;
    return -1;
}

/* Index of the block containing p, or -1. */
static inline int64_t block_index_find(const struct block_index *ix, uint64_t p)
{
    const struct block_cluster *c = block_index_cluster(ix, p);
    return c ? block_index_resolve(ix, c, p) : -1;
}

/* Largest batch of block_index_find_batch. */
#define BLOCK_INDEX_BATCH 256

/*
 * block_index_find for n <= BLOCK_INDEX_BATCH values at once: the bucket
 * and extent loads of all of them are prefetched before any is used, so
 * their cache misses overlap instead of following one another.
 */
static inline void block_index_find_batch(const struct block_index *ix, const uint64_t *value,
                                          int64_t *out, unsigned n)
{
    const struct block_cluster *c[BLOCK_INDEX_BATCH];
    for (unsigned k = 0; k < n; k++) {
        c[k] = block_index_cluster(ix, value[k]);
        if (c[k])
            __builtin_prefetch(&c[k]->bucket[block_cluster_bucket(c[k], value[k])]);
    }
    for (unsigned k = 0; k < n; k++) {
        if (c[k])
            __builtin_prefetch(&ix->blk[c[k]->bucket[block_cluster_bucket(c[k], value[k])]]);
    }
    for (unsigned k = 0; k < n; k++)
        out[k] = c[k] ? block_index_resolve(ix, c[k], value[k]) : -1;
}

#endif /* MEMSNAP_SCAN_BLOCK_INDEX_H */
