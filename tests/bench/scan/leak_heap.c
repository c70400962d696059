/*
 * The leak scan benchmark target: builds a pointer-rich heap of BLOCKS
 * blocks of SIZE bytes (default 8M x 128 B = 1 GiB), each holding 4
 * pointers to random other blocks (start or interior) and filler words,
 * kept by one big index block reachable from a global. Every 100th block
 * is then dropped from the index (lost, unless another block points at
 * it). Stops in leak_checkpoint() for the debugger.
 * Usage: leak_heap [BLOCKS] [SIZE]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../programs/checkpoint.h"

static void **index_block;

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

int main(int argc, char **argv)
{
    size_t blocks = argc > 1 ? strtoull(argv[1], NULL, 0) : (8u << 20);
    size_t size = argc > 2 ? strtoull(argv[2], NULL, 0) : 128;
    if (size < 64)
        size = 64;
    index_block = malloc(blocks * sizeof(void *));
    if (!index_block)
        return 1;
    for (size_t i = 0; i < blocks; i++) {
        uint64_t *b = malloc(size);
        if (!b)
            return 1;
        for (size_t w = 0; w < size / 8; w++)
            b[w] = 0x1000 + w * 7919 + i;  /* filler: small numbers */
        index_block[i] = b;
    }
    uint64_t state = 88172645463325252ULL;
    for (size_t i = 0; i < blocks; i++) {
        uint64_t *b = index_block[i];
        for (int k = 0; k < 4; k++) {
            char *target = index_block[next_random(&state) % blocks];
            b[2 * k] = (uint64_t)(target + (k == 3 ? 8 : 0));
        }
    }
    for (size_t i = 0; i < blocks; i += 100)
        index_block[i] = NULL;
    leak_scrub_and_checkpoint();
    return 0;
}
