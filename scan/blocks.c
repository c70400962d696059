/*
 * Block bookkeeping around the leak scan that would be too slow per block
 * in a debugger's Python: gathering live blocks out of the trace table's raw
 * chunk slot arrays, sorting them by address (LSD radix sort on 16-bit digits,
 * skipping digits every block shares), and summing a marked scan's verdicts
 * per allocation site.
 */
#include "memsnap_scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_FREE 0ULL

uint64_t memsnap_scan_gather_slots(const void *raw, uint64_t nslots, uint32_t slot_size,
                                   uint32_t addr_offset, uint32_t meta_offset,
                                   uint32_t site_bits, const uint8_t *site_ok,
                                   uint64_t nsite_ok, struct memsnap_scan_block *out,
                                   uint64_t cap)
{
    if (slot_size < 16 || addr_offset > slot_size - 8 || meta_offset > slot_size - 8 ||
        site_bits == 0 || site_bits >= 64)
        return 0;
    const unsigned char *p = raw;
    const uint64_t site_mask = (1ULL << site_bits) - 1;
    uint64_t found = 0;
    for (uint64_t i = 0; i < nslots; i++, p += slot_size) {
        uint64_t addr, meta;
        memcpy(&addr, p + addr_offset, 8);
        if (addr == SLOT_FREE)
            continue;
        memcpy(&meta, p + meta_offset, 8);
        uint64_t site = meta & site_mask;
        if (site >= nsite_ok || !site_ok[site])
            continue;
        if (found < cap) {
            out[found].addr = addr;
            out[found].size = meta >> site_bits;
            out[found].site = (uint32_t)site;
            out[found].reserved = 0;
        }
        found++;
    }
    return found;
}

int memsnap_scan_sort_blocks(struct memsnap_scan_block *blocks, uint64_t n)
{
    if (n < 2)
        return 0;
    uint64_t (*hist)[65536] = calloc(4, sizeof(*hist));
    struct memsnap_scan_block *tmp = malloc(n * sizeof(*tmp));
    if (!hist || !tmp) {
        free(hist);
        free(tmp);
        return -ENOMEM;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t a = blocks[i].addr;
        for (unsigned d = 0; d < 4; d++)
            hist[d][(a >> (16 * d)) & 0xffff]++;
    }
    struct memsnap_scan_block *src = blocks, *dst = tmp;
    for (unsigned d = 0; d < 4; d++) {
        uint64_t *h = hist[d];
        if (h[(src[0].addr >> (16 * d)) & 0xffff] == n)
            continue; /* every block has the same digit */
        uint64_t sum = 0;
        for (unsigned k = 0; k < 65536; k++) {
            uint64_t c = h[k];
            h[k] = sum;
            sum += c;
        }
        for (uint64_t i = 0; i < n; i++)
            dst[h[(src[i].addr >> (16 * d)) & 0xffff]++] = src[i];
        struct memsnap_scan_block *t = src;
        src = dst;
        dst = t;
    }
    if (src != blocks)
        memcpy(blocks, src, n * sizeof(*blocks));
    free(hist);
    free(tmp);
    return 0;
}

int memsnap_scan_summarize(const struct memsnap_scan_block *blocks, uint64_t n,
                           const uint8_t *category, const uint64_t *leader, uint64_t nsites,
                           uint64_t *counts, uint64_t *bytes)
{
    const uint64_t entries = (nsites + 1) * MEMSNAP_SCAN_COLUMNS;
    memset(counts, 0, entries * sizeof(uint64_t));
    memset(bytes, 0, entries * sizeof(uint64_t));
    for (uint64_t i = 0; i < n; i++) {
        uint64_t site = blocks[i].site;
        if (site > nsites)
            continue;
        uint64_t *c = counts + site * MEMSNAP_SCAN_COLUMNS;
        uint64_t *b = bytes + site * MEMSNAP_SCAN_COLUMNS;
        unsigned cat = category[i] & 0x7f;
        if (cat < 1 || cat > 4)
            return -EINVAL;
        c[cat]++;
        b[cat] += blocks[i].size;
        if (category[i] & MEMSNAP_SCAN_UNSCANNED) {
            c[MEMSNAP_SCAN_COL_UNSCANNED]++;
            b[MEMSNAP_SCAN_COL_UNSCANNED] += blocks[i].size;
        }
        if (cat == MEMSNAP_SCAN_INDIRECT && leader && leader[i] < n) {
            uint64_t lsite = blocks[leader[i]].site;
            if (lsite <= nsites)
                bytes[lsite * MEMSNAP_SCAN_COLUMNS + MEMSNAP_SCAN_COL_CLIQUE] += blocks[i].size;
        }
    }
    return 0;
}
