/*
 * waste_and_abort.c: waste_memory.c's program, ending in abort() so the
 * kernel writes a core dump of the whole seed state (the post-mortem
 * integration cases). The seed's code is included unchanged, so its file
 * and line numbers in tracebacks are waste_memory.c's.
 */
#include <stdlib.h>

#define main waste_memory_main
#include "../../programs/waste_memory.c"
#undef main

int main(void)
{
    waste_memory_main();
    fflush(stdout);
    abort();
}
