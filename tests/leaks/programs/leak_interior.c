/*
 * Leak test: interior pointers. A global points 16 bytes into a block
 * (possibly lost); that block holds a start pointer to another block (also
 * possibly lost: memcheck's rule). A second global points at the start of a
 * block that a third block points into (still reachable). One block is lost.
 */
#include <stdlib.h>

#include "checkpoint.h"

struct pair {
    void *first;
    char body[56];
};

char *inside;          /* interior pointer */
struct pair *kept;     /* start pointer */

__attribute__((noinline)) static void make_blocks(void)
{
    struct pair *p = calloc(1, sizeof(*p));
    p->first = calloc(1, 48);
    inside = p->body + 8;
    kept = calloc(1, sizeof(*kept));
    struct pair *other = calloc(1, sizeof(*other));
    other->first = kept->body;   /* interior pointer from a reachable block */
    kept->first = other;
    char *lost = calloc(1, 24);
    lost[0] = 1;
}

int main(void)
{
    make_blocks();
    leak_scrub_and_checkpoint();
    return 0;
}
