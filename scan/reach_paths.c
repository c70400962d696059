/*
 * The first reaching edge of every block (reach_paths.h): the arrays, kept
 * only when a scan records paths (MEMSNAP_SCAN_RECORD_PATHS).
 */
#include "reach_paths.h"

#include "big_alloc.h"
#include "memsnap_scan.h"

#include <errno.h>

int reach_paths_init(struct reach_paths *r, uint64_t nblocks, uint64_t edge_cap)
{
    r->nblocks = nblocks;
    r->edge_cap = edge_cap;
    r->root_word = big_alloc((nblocks + 1) * sizeof(uint64_t));
    r->edge_offset = big_alloc(edge_cap * sizeof(uint32_t));
    r->from = big_alloc((nblocks + 1) * sizeof(uint64_t));
    r->from_word = big_alloc((nblocks + 1) * sizeof(uint64_t));
    if (!r->root_word || !r->edge_offset || !r->from || !r->from_word) {
        reach_paths_free(r);
        return -ENOMEM;
    }
    for (uint64_t i = 0; i < nblocks; i++)
        r->from[i] = MEMSNAP_SCAN_FROM_NONE;
    return 0;
}

void reach_paths_free(struct reach_paths *r)
{
    big_free(r->root_word, (r->nblocks + 1) * sizeof(uint64_t));
    big_free(r->edge_offset, r->edge_cap * sizeof(uint32_t));
    big_free(r->from, (r->nblocks + 1) * sizeof(uint64_t));
    big_free(r->from_word, (r->nblocks + 1) * sizeof(uint64_t));
    r->root_word = r->from = r->from_word = 0;
    r->edge_offset = 0;
}

int reach_paths_grow_edges(struct reach_paths *r, uint64_t edge_cap)
{
    if (!r->edge_offset)
        return 0;
    uint32_t *e = big_realloc(r->edge_offset, r->edge_cap * sizeof(uint32_t),
                              edge_cap * sizeof(uint32_t));
    if (!e)
        return -ENOMEM;
    r->edge_offset = e;
    r->edge_cap = edge_cap;
    return 0;
}

void reach_paths_seed(struct reach_paths *r, uint64_t b)
{
    if (!r->from)
        return;
    r->from[b] = r->root_word[b] ? MEMSNAP_SCAN_FROM_ROOT : MEMSNAP_SCAN_FROM_REGISTER;
    r->from_word[b] = r->root_word[b];
}
