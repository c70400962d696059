/*
 * The first reaching edge of every block, for retention paths
 * (memsnap_scan.h, MEMSNAP_SCAN_RECORD_PATHS): while memory is fed,
 * memsnap_scan.c notes the address of the first root word pointing into
 * each block and the offset of every edge's word inside its source block;
 * while it marks (breadth first from the roots, so the first edge that
 * reaches a block lies on a shortest chain), it notes for each block the
 * block (or root) and the word that reached it first.
 * memsnap_scan_first_edges() hands these out. Memory comes from big_alloc.h.
 */
#ifndef MEMSNAP_SCAN_REACH_PATHS_H
#define MEMSNAP_SCAN_REACH_PATHS_H

#include <stdint.h>

/* edge_offset[] value of a word too far into a huge block to keep. */
#define REACH_OFFSET_UNKNOWN UINT32_MAX

struct reach_paths {
    uint64_t nblocks;
    uint64_t *root_word;    /* per block: address of the first root word into it, 0 if none */
    uint32_t *edge_offset;  /* per edge: its word's offset in the source block */
    uint64_t edge_cap;      /* entries of edge_offset */
    uint64_t *from;         /* per block: parent index or MEMSNAP_SCAN_FROM_* */
    uint64_t *from_word;    /* per block: the reaching word's address */
};

/* 0 or -ENOMEM; the arrays are zeroed, `from` set to MEMSNAP_SCAN_FROM_NONE. */
int reach_paths_init(struct reach_paths *r, uint64_t nblocks, uint64_t edge_cap);
void reach_paths_free(struct reach_paths *r);

/* Follow the edge array's growth to `edge_cap` entries: 0 or -ENOMEM. */
int reach_paths_grow_edges(struct reach_paths *r, uint64_t edge_cap);

/* A root word at `where` points into block b (at its start or not; had_start:
 * a root word pointing at its start was seen before). The first word
 * pointing at the start is kept, else the first pointing inside. */
static inline void reach_paths_root_word(struct reach_paths *r, uint64_t b, uint64_t where,
                                         int is_start, int had_start)
{
    if (r->root_word && (!r->root_word[b] || (is_start && !had_start)))
        r->root_word[b] = where;
}

/* Edge e's word lies `offset` bytes into its source block. */
static inline void reach_paths_edge(struct reach_paths *r, uint64_t e, uint64_t offset)
{
    if (r->edge_offset)
        r->edge_offset[e] = offset < REACH_OFFSET_UNKNOWN ? (uint32_t)offset : REACH_OFFSET_UNKNOWN;
}

/* Block b is a marking seed: reached by a root word, else by a register. */
void reach_paths_seed(struct reach_paths *r, uint64_t b);

/* Block t was reached through edge e of block source, which starts at `source_start`. */
static inline void reach_paths_reached(struct reach_paths *r, uint64_t t, uint64_t source,
                                       uint64_t source_start, uint64_t e)
{
    if (!r->from)
        return;
    uint32_t offset = r->edge_offset[e];
    r->from[t] = source;
    r->from_word[t] = offset == REACH_OFFSET_UNKNOWN ? UINT64_MAX : source_start + offset;
}

#endif /* MEMSNAP_SCAN_REACH_PATHS_H */
