/*
 * Building the leak scan's interval index (see block_index.h): validate the
 * sorted blocks, cut them into clusters at large address gaps, and fill each
 * cluster's bucket table.
 */
#include "block_index.h"

#include "big_alloc.h"
#include "memsnap_scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Blocks further apart than this start a new cluster. */
#define CLUSTER_GAP (4ULL << 20)

static unsigned ceil_log2(uint64_t x)
{
    unsigned s = 0;
    while (s < 63 && (1ULL << s) < x)
        s++;
    return s;
}

void block_index_destroy(struct block_index *ix)
{
    big_free(ix->blk, ix->n * sizeof(*ix->blk));
    big_free(ix->size, ix->n * sizeof(uint64_t));
    free(ix->cluster);
    big_free(ix->buckets, ix->nbuckets * sizeof(uint32_t));
    big_free(ix->ranks, ix->nranks * sizeof(struct rank_line));
    memset(ix, 0, sizeof(*ix));
}

/* A cluster gets a rank map when every block starts on a 16-byte granule
 * and the map is small: at most this many granules per block. */
#define RANK_MAX_GRANULES_PER_BLOCK 64

static int wants_rank_map(const struct block_index *ix, const struct block_cluster *c)
{
    uint64_t granules = (c->hi - c->lo + 15) >> 4;
    if (granules > (uint64_t)(c->last - c->first) * RANK_MAX_GRANULES_PER_BLOCK)
        return 0;
    for (uint32_t i = c->first; i < c->last; i++) {
        if (ix->blk[i].start & 15)
            return 0;
    }
    return 1;
}

static uint64_t rank_lines(const struct block_cluster *c)
{
    uint64_t granules = (c->hi - c->lo + 15) >> 4;
    return (granules + RANK_GRANULES - 1) / RANK_GRANULES;
}

static void fill_rank_map(const struct block_index *ix, struct block_cluster *c)
{
    uint64_t lines = rank_lines(c);
    for (uint32_t i = c->first; i < c->last; i++) {
        uint64_t g = (ix->blk[i].start - c->lo) >> 4;
        struct rank_line *line = &c->rank[g / RANK_GRANULES];
        unsigned bit = (unsigned)(g % RANK_GRANULES);
        line->bits[bit >> 6] |= 1ULL << (bit & 63);
    }
    uint32_t count = 0;
    for (uint64_t l = 0; l < lines; l++) {
        c->rank[l].rank = count;
        for (unsigned k = 0; k < 7; k++)
            count += (uint32_t)__builtin_popcountll(c->rank[l].bits[k]);
    }
}

static void fill_buckets(struct block_index *ix, struct block_cluster *c, uint64_t nbuckets)
{
    uint32_t i = c->first;
    for (uint64_t b = 0; b < nbuckets; b++) {
        uint64_t bucket_start = c->lo + (b << c->shift);
        while (i < c->last && ix->blk[i].end <= bucket_start)
            i++;
        c->bucket[b] = i;
    }
    c->bucket[nbuckets] = c->last;
}

int block_index_init(struct block_index *ix, const struct memsnap_scan_block *blocks,
                     uint64_t n, uint64_t *bad_index)
{
    memset(ix, 0, sizeof(*ix));
    if (n > BLOCK_INDEX_MAX_BLOCKS) {
        if (bad_index)
            *bad_index = BLOCK_INDEX_MAX_BLOCKS;
        return -EINVAL;
    }
    ix->n = n;
    if (n == 0)
        return 0;
    ix->blk = big_alloc(n * sizeof(*ix->blk));
    ix->size = big_alloc(n * sizeof(uint64_t));
    if (!ix->blk || !ix->size)
        goto nomem;
    for (uint64_t i = 0; i < n; i++)
        ix->size[i] = blocks[i].size;
    const uint64_t *sizes = ix->size;
#define starts(i) (blocks[i].addr)
    uint64_t ncluster = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t extent = sizes[i] ? sizes[i] : 1;
        if (starts(i) + extent < starts(i) ||
            (i > 0 && starts(i) < ix->blk[i - 1].end)) {
            if (bad_index)
                *bad_index = i;
            block_index_destroy(ix);
            return -EINVAL;
        }
        ix->blk[i].start = starts(i);
        ix->blk[i].end = starts(i) + extent;
        if (i == 0 || starts(i) - ix->blk[i - 1].end > CLUSTER_GAP)
            ncluster++;
    }
    ix->cluster = calloc(ncluster, sizeof(*ix->cluster));
    if (!ix->cluster)
        goto nomem;
    /* Cut clusters and size their bucket tables. */
    uint64_t k = 0, total_buckets = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (i == 0 || starts(i) - ix->blk[i - 1].end > CLUSTER_GAP) {
            if (i > 0)
                ix->cluster[k++].last = (uint32_t)i;
            ix->cluster[k].first = (uint32_t)i;
            ix->cluster[k].lo = starts(i);
        }
        ix->cluster[k].hi = ix->blk[i].end;
    }
    ix->cluster[k].last = (uint32_t)n;
    ix->ncluster = ncluster;
    for (k = 0; k < ncluster; k++) {
        struct block_cluster *c = &ix->cluster[k];
        uint64_t span = c->hi - c->lo;
        uint64_t count = c->last - c->first;
        unsigned shift = ceil_log2((span + count - 1) / count);
        if (shift < 3)
            shift = 3;
        c->shift = shift;
        total_buckets += ((span - 1) >> shift) + 2;
    }
    ix->buckets = big_alloc(total_buckets * sizeof(uint32_t));
    ix->nbuckets = total_buckets;
    if (!ix->buckets)
        goto nomem;
    uint32_t *next = ix->buckets;
    for (k = 0; k < ncluster; k++) {
        struct block_cluster *c = &ix->cluster[k];
        uint64_t nbuckets = ((c->hi - c->lo - 1) >> c->shift) + 1;
        c->bucket = next;
        next += nbuckets + 1;
        fill_buckets(ix, c, nbuckets);
    }
    /* Rank maps (big_alloc memory is zero-filled). */
    uint64_t total_lines = 0;
    for (k = 0; k < ncluster; k++) {
        if (wants_rank_map(ix, &ix->cluster[k]))
            total_lines += rank_lines(&ix->cluster[k]);
    }
    if (total_lines) {
        ix->ranks = big_alloc(total_lines * sizeof(struct rank_line));
        ix->nranks = total_lines;
        if (!ix->ranks)
            goto nomem;
        struct rank_line *line = ix->ranks;
        for (k = 0; k < ncluster; k++) {
            struct block_cluster *c = &ix->cluster[k];
            if (!wants_rank_map(ix, c))
                continue;
            c->rank = line;
            line += rank_lines(c);
            fill_rank_map(ix, c);
        }
    }
#undef starts
    ix->lo = ix->cluster[0].lo;
    ix->span = ix->cluster[ncluster - 1].hi - ix->lo;
    return 0;
nomem:
    block_index_destroy(ix);
    return -ENOMEM;
}
