/*
 * An interval index over the sorted, non-overlapping live blocks of a leak
 * scan: given any 64-bit word, say in a few instructions whether it points
 * at a block's start or interior, and which block. Blocks are grouped into
 * clusters (runs of blocks without a large address gap: the main heap, each
 * thread arena, each group of mmapped blocks); each cluster has a bucket
 * table at a power-of-two granularity chosen so that a bucket holds about
 * one block, giving the candidate range directly. A dense cluster whose
 * blocks all start on 16-byte granules (glibc's heap) also has a rank map:
 * one bit per granule set where a block starts, with a running count per
 * 64-byte line, so a pointer to a block's start is recognized, and its
 * block index computed, from one line of a map about 1/112 of the heap's
 * size (which stays in cache) without touching the block array. Most words
 * that are not pointers fail the first range check.
 */
#ifndef MEMSNAP_SCAN_BLOCK_INDEX_H
#define MEMSNAP_SCAN_BLOCK_INDEX_H

#include <stdint.h>

/* The largest number of blocks (indexes must fit in 29 bits: edges keep
 * 3 flag bits next to them). */
#define BLOCK_INDEX_MAX_BLOCKS 0x1fffffffULL

/* One line of a rank map: RANK_GRANULES granules of 16 bytes. */
#define RANK_GRANULES 448
struct rank_line {
    uint32_t rank;         /* blocks of the cluster starting before this line */
    uint32_t reserved;
    uint64_t bits[7];      /* bit g: a block starts at granule g of the line */
};

struct block_cluster {
    uint64_t lo, hi;       /* [start of first block, extent end of last block) */
    uint32_t first, last;  /* block indexes [first, last) */
    uint32_t shift;        /* bucket granularity: 1 << shift bytes */
    uint32_t *bucket;      /* nbuckets + 1 entries: first block ending above the bucket's start */
    struct rank_line *rank; /* the rank map, or NULL (blocks not all 16-aligned, or sparse) */
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
    struct rank_line *ranks; /* storage of every cluster's rank map */
    uint64_t nranks;       /* lines in ranks */
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

/* With a rank map: the index of the last block of c starting at or before
 * p (c->first - 1 + count of starts up to p's granule); *exact is set when
 * p is that block's start. */
static inline uint32_t block_rank(const struct block_cluster *c, uint64_t p, int *exact)
{
    uint64_t g = (p - c->lo) >> 4;
    const struct rank_line *line = &c->rank[g / RANK_GRANULES];
    unsigned bit = (unsigned)(g % RANK_GRANULES), w = bit >> 6, b = bit & 63;
    uint32_t count = line->rank;
    for (unsigned k = 0; k < w; k++)
        count += (uint32_t)__builtin_popcountll(line->bits[k]);
    uint64_t word = line->bits[w];
    count += (uint32_t)__builtin_popcountll(b == 63 ? word : word & ((2ULL << b) - 1));
    *exact = (p & 15) == 0 && ((word >> b) & 1);
    return c->first + count - 1;
}

/* Largest batch of block_index_find_batch. */
#define BLOCK_INDEX_BATCH 64

/*
 * block_index_find for n <= BLOCK_INDEX_BATCH values at once: out[k] is
 * the block index or -1, is_start[k] whether value[k] is that block's
 * start. The loads of all of them are prefetched before any is used, so
 * their cache misses overlap instead of following one another; a start
 * pointer into a cluster with a rank map never touches the block array.
 */
static inline void block_index_find_batch(const struct block_index *ix, const uint64_t *value,
                                          int64_t *out, uint8_t *is_start, unsigned n)
{
    const struct block_cluster *c[BLOCK_INDEX_BATCH];
    for (unsigned k = 0; k < n; k++) {
        c[k] = block_index_cluster(ix, value[k]);
        if (!c[k])
            continue;
        if (c[k]->rank)
            __builtin_prefetch(&c[k]->rank[((value[k] - c[k]->lo) >> 4) / RANK_GRANULES]);
        else
            __builtin_prefetch(&c[k]->bucket[block_cluster_bucket(c[k], value[k])]);
    }
    for (unsigned k = 0; k < n; k++) {
        out[k] = -1;
        is_start[k] = 0;
        if (!c[k])
            continue;
        if (c[k]->rank) {
            int exact;
            uint32_t i = block_rank(c[k], value[k], &exact);
            out[k] = i;
            is_start[k] = (uint8_t)exact;
            if (exact)
                c[k] = 0; /* done */
            else
                __builtin_prefetch(&ix->blk[i]);
        } else {
            __builtin_prefetch(&ix->blk[c[k]->bucket[block_cluster_bucket(c[k], value[k])]]);
        }
    }
    for (unsigned k = 0; k < n; k++) {
        if (!c[k])
            continue;
        if (c[k]->rank) {
            if (value[k] >= ix->blk[out[k]].end)
                out[k] = -1;
            continue;
        }
        out[k] = block_index_resolve(ix, c[k], value[k]);
        is_start[k] = out[k] >= 0 && ix->blk[out[k]].start == value[k];
    }
}

#endif /* MEMSNAP_SCAN_BLOCK_INDEX_H */
