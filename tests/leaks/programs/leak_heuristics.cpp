/*
 * Leak test: blocks held only by interior pointers that memcheck's leak
 * heuristics recognize (still reachable with the heuristics, possibly lost
 * without): a new[] array of objects with a destructor (the pointer is 8
 * bytes in, after the element count), a block that starts with its own
 * length (length64), and a block laid out as a copy-on-write std::string
 * (length, capacity, refcount, then the characters). A plain interior
 * pointer stays possibly lost either way; a lost new[] array is definitely
 * lost.
 */
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "checkpoint.h"

struct Counted {
    long value = 1;
    ~Counted() { value = 0; }
};

Counted *kept_array;    /* new[] of 10: the pointer is the block + 8 */
char *kept_length64;    /* block + 8; the block starts with 200 */
char *kept_cow_string;  /* block + 24; length, capacity, refcount first */
char *kept_inside;      /* block + 16: no heuristic applies */

__attribute__((noinline)) static void make_blocks(void)
{
    kept_array = new Counted[10];
    uint64_t *sized = static_cast<uint64_t *>(calloc(1, 8 + 200));
    sized[0] = 200;
    kept_length64 = reinterpret_cast<char *>(sized + 1);
    uint64_t *cow = static_cast<uint64_t *>(calloc(1, 24 + 40 + 1));
    cow[0] = 11;  /* length */
    cow[1] = 40;  /* capacity */
    cow[2] = 0;   /* refcount */
    memcpy(cow + 3, "hello world", 11);
    kept_cow_string = reinterpret_cast<char *>(cow + 3);
    char *plain = static_cast<char *>(calloc(1, 64));
    kept_inside = plain + 16;
    Counted *lost = new Counted[3];
    lost[0].value = 2;
}

int main()
{
    make_blocks();
    leak_scrub_and_checkpoint();
    return 0;
}
