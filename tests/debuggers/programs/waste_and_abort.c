/*
 * waste_and_abort.c: waste_memory.c's program, ending in abort() so the
 * kernel writes a core dump of the whole seed state (the post-mortem
 * integration cases). The seed's code is included unchanged, so its file
 * and line numbers in tracebacks are waste_memory.c's.
 *
 * The seed's main keeps run()'s result in a local; once it returns, that
 * stack slot is dead but not erased, and abort()'s frames, which take the
 * same stack, need not overwrite it: a stale copy in a live frame keeps
 * the blocks "still reachable" for any conservative leak check (memcheck
 * too). scrub_stack() overwrites that stack first, so the pointer is really
 * dropped and the core shows the leak README.md describes.
 */
#include <stdlib.h>
#include <string.h>

#define main waste_memory_main
#include "../../programs/waste_memory.c"
#undef main

__attribute__((noinline)) static void scrub_stack(void)
{
    volatile unsigned char dead[16384];
    memset((void *)dead, 0, sizeof dead);
    __asm__ volatile("" : : "r"(dead) : "memory");
}

int main(void)
{
    waste_memory_main();
    fflush(stdout);
    scrub_stack();
    abort();
}
