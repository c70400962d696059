/*
 * Leak test: pointers kept on a heap page the program made PROT_NONE
 * (mprotect). A global points at a page-aligned block; the block holds the
 * only pointers to a 100-byte block and to a list of 3 blocks; then the
 * program protects the page. The debugger can still read the page (as can
 * a core dump), so memleaks scans it: the 100-byte block and the list are
 * still reachable. memcheck skips unreadable pages while it scans, so it
 * calls them lost (see docs/leaks.md). One block is lost outright. With
 * LEAK_NO_MPROTECT=1 in the environment the page stays readable: the same
 * heap, which memcheck then judges as memleaks does the protected one.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "checkpoint.h"

#define PAGE 4096

struct node {
    struct node *next;
    long value;
};

void **guarded_page;    /* a page of pointers, PROT_NONE at the checkpoint */

__attribute__((noinline)) static void make_blocks(void)
{
    if (posix_memalign((void **)&guarded_page, PAGE, PAGE))
        abort();
    memset(guarded_page, 0, PAGE);
    guarded_page[0] = calloc(1, 100);
    struct node *list = NULL;
    for (int i = 0; i < 3; i++) {
        struct node *n = calloc(1, sizeof(*n));
        n->next = list;
        list = n;
    }
    guarded_page[1] = list;
    char *lost = calloc(1, 40);
    lost[0] = 1;
    if (!getenv("LEAK_NO_MPROTECT") && mprotect(guarded_page, PAGE, PROT_NONE))
        abort();
}

int main(void)
{
    make_blocks();
    leak_scrub_and_checkpoint();
    return 0;
}
