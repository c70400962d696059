/*
 * Leak test: memcheck's multipleinheritance heuristic. An object of a class
 * with two polymorphic bases starts with the first base's vtable pointer;
 * a pointer to its second base points inside the block, at the second
 * vtable pointer. Blocks held only through such a pointer (from a global,
 * and from a reachable block) are still reachable with the heuristic and
 * possibly lost without it. A pointer to a plain member of such an object
 * stays possibly lost; a lost object is definitely lost, and the block it
 * holds through a second-base pointer indirectly lost.
 */
#include "checkpoint.h"

struct Shape {
    virtual ~Shape() {}
    virtual long area() const { return 0; }
    long x = 1;
};

struct Named {
    virtual ~Named() {}
    virtual const char *name() const { return "named"; }
    long id = 2;
};

struct Square : Shape, Named {
    long area() const override { return side * side; }
    const char *name() const override { return "square"; }
    long side = 3;
    Named *peer = nullptr;       /* a second-base pointer to another object */
};

Named *kept_named;      /* points at the Named part of a Square */
Square *kept_square;    /* a start pointer: its peer is held only inside */
long *kept_side;        /* points at a plain member: no heuristic applies */

__attribute__((noinline)) static void make_blocks(void)
{
    kept_named = new Square;
    kept_square = new Square;
    kept_square->peer = new Square;
    kept_side = &(new Square)->side;
    Square *lost = new Square;
    lost->peer = new Square;
}

int main()
{
    make_blocks();
    leak_scrub_and_checkpoint();
    return 0;
}
