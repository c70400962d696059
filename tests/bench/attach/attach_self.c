/*
 * A preloadable shim that makes a program attach the runtime to itself the
 * way a debugger does (docs/production.md): its constructor dlopen()s
 * libmemsnap.so (path in MEMSNAP_ATTACH_RUNTIME) with the flags
 * target/attach.py passes and calls memsnap_attach(16, MEMSNAP_ATTACH_SAMPLE),
 * so attach_bench.py can count the instructions of the hot path after an
 * attach with callgrind, which cannot follow a debugger's attach. Prints
 * one line on stderr if loading fails.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((constructor)) static void attach_self(void)
{
    const char *path = getenv("MEMSNAP_ATTACH_RUNTIME");
    const char *sample = getenv("MEMSNAP_ATTACH_SAMPLE");
    void *lib = path ? dlopen(path, RTLD_NOW | RTLD_NODELETE) : NULL;
    int (*attach)(unsigned, unsigned long) =
        lib ? (int (*)(unsigned, unsigned long))dlsym(lib, "memsnap_attach") : NULL;
    if (!attach || attach(16, sample ? strtoul(sample, NULL, 0) : 0) != 0)
        fprintf(stderr, "attach_self: cannot attach %s: %s\n", path ? path : "(unset)",
                lib ? "memsnap_attach failed" : dlerror());
}
