/*
 * Leak test: cycles. A lost ring of 4 blocks (memcheck: one definitely
 * lost, three indirectly lost), a lost block pointing at itself (definitely
 * lost), and a kept ring of 3 blocks reachable from a global.
 */
#include <stdlib.h>

#include "checkpoint.h"

struct ring {
    struct ring *next;
    char data[40];
};

struct ring *kept_ring;

static struct ring *make_ring(int n)
{
    struct ring *first = calloc(1, sizeof(*first)), *last = first;
    for (int i = 1; i < n; i++) {
        struct ring *r = calloc(1, sizeof(*r));
        last->next = r;
        last = r;
    }
    last->next = first;
    return first;
}

__attribute__((noinline)) static void lose_rings(void)
{
    struct ring *lost = make_ring(4);
    lost->data[0] = 1;
    struct ring *self = make_ring(1);
    self->data[0] = 2;
}

int main(void)
{
    lose_rings();
    kept_ring = make_ring(3);
    leak_scrub_and_checkpoint();
    return 0;
}
