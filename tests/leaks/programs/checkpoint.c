/*
 * leak_checkpoint(): where the debugger breaks and valgrind checks leaks
 * (see checkpoint.h). Built with each leak test program.
 */
#include "checkpoint.h"

#include <stdlib.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_DO_LEAK_CHECK
#define VALGRIND_DO_LEAK_CHECK
#endif

__attribute__((noinline, used)) void leak_checkpoint(void)
{
    if (getenv("LEAK_ABORT"))
        abort();
    VALGRIND_DO_LEAK_CHECK;
    __asm__ volatile("" ::: "memory");
}
