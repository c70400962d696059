/*
 * Leak test: a block (and the 3 blocks it points to) held only by a
 * register (r12) at the checkpoint: still reachable. Another block is lost.
 */
#include <stdlib.h>

#include "checkpoint.h"

struct holder {
    void *parts[3];
};

void *slot; /* the pointer's only memory copy, cleared before the checkpoint */

__attribute__((noinline)) static void make_blocks(void)
{
    struct holder *h = calloc(1, sizeof(*h));
    for (int i = 0; i < 3; i++)
        h->parts[i] = calloc(1, 100);
    slot = h;
    char *lost = calloc(1, 77);
    lost[0] = 1;
}

int main(void)
{
    make_blocks();
    leak_hold_in_r12_and_checkpoint(&slot);
    return 0;
}
