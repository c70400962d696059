/*
 * A shared object tests/c/descriptor_probe.c dlopens: code the runtime has
 * not seen, so its first allocation makes the DWARF unwinder look at the
 * loaded modules again.
 */
#include <stdlib.h>
#include <string.h>

void *plugin_allocate(size_t size);

void *plugin_allocate(size_t size)
{
    void *p = malloc(size);
    if (p)
        memset(p, 2, size);
    return p;
}
