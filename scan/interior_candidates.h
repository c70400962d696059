/*
 * The interior pointers the multipleinheritance heuristic may accept
 * (memsnap_scan.h, MEMSNAP_SCAN_HEUR_MULTIPLE_INHERITANCE): while memory is
 * fed, memsnap_scan.c records every word-aligned interior pointer with
 * where it was found (an edge's index, or a root). Deciding whether one is
 * accepted needs target memory the scan never sees (is the pointed-at word
 * a vtable pointer?), so the caller is handed the distinct values, decides,
 * and hands back the accepted ones; memsnap_scan.c then turns the matching
 * edges and root hits into start pointers. Memory comes from big_alloc.h.
 */
#ifndef MEMSNAP_SCAN_INTERIOR_CANDIDATES_H
#define MEMSNAP_SCAN_INTERIOR_CANDIDATES_H

#include <stdint.h>

/* Where a candidate was found: an edge index, or a root. */
#define CANDIDATE_FROM_ROOT UINT64_MAX

struct interior_candidate {
    uint64_t value; /* the pointer value (inside a block, not its start) */
    uint64_t where; /* edge index, or CANDIDATE_FROM_ROOT */
};

struct interior_candidates {
    struct interior_candidate *item;
    uint64_t n, cap;
    int sorted; /* item[] is in value order; adding more is refused */
};
/* The owner may drop items by compacting item[0..n) and lowering n. */

/* 0, or -ENOMEM (the list is unchanged), or -EINVAL once sorted. */
int interior_candidates_add(struct interior_candidates *c, uint64_t value, uint64_t where);

/* Sort by value (sorting a sorted list again does nothing). */
void interior_candidates_sort(struct interior_candidates *c);

/* Index of the first candidate with item.value >= value (sorted list). */
uint64_t interior_candidates_lower_bound(const struct interior_candidates *c, uint64_t value);

void interior_candidates_free(struct interior_candidates *c);

#endif /* MEMSNAP_SCAN_INTERIOR_CANDIDATES_H */
