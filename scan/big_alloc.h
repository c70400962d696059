/*
 * Memory for the leak scan's big arrays (block extents, buckets, edges,
 * per-block states): anonymous mappings advised to use transparent huge
 * pages, because the scan touches them at random and with 4 KiB pages
 * nearly every lookup would also miss the TLB. Sizes are in bytes; every
 * function returns NULL on failure like malloc.
 */
#ifndef MEMSNAP_SCAN_BIG_ALLOC_H
#define MEMSNAP_SCAN_BIG_ALLOC_H

#include <stddef.h>

void *big_alloc(size_t size);                 /* zero-filled */
void *big_realloc(void *p, size_t old_size, size_t new_size);
void big_free(void *p, size_t size);

#endif /* MEMSNAP_SCAN_BIG_ALLOC_H */
