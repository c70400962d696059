/*
 * attach_plugin.c: a library attach_target.cpp dlopens after the debugger
 * attached and started tracing (tests/debuggers/shared/test_attach.py):
 * its allocations are traced only if the runtime rewrote the imports of
 * modules loaded after the attach too (runtime/inject_got.c).
 */
#include <stdlib.h>

void **plugin_keep(int n)
{
    void **kept = calloc((size_t)n, sizeof *kept);           /* site: plugin array 0 */
    for (int i = 0; i < n; i++)
        kept[i] = malloc(72);                                 /* site: plugin 72 */
    return kept;
}

void plugin_free(void **kept, int n)
{
    for (int i = 0; i < n; i++)
        free(kept[i]);
    free(kept);
}
