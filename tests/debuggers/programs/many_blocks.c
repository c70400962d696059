/*
 * many_blocks.c: the benchmark target for snapshot time. Builds BLOCKS live
 * heap blocks spread over STACKS distinct call stacks (a 4-level descent
 * whose every level calls down from one of 10 different lines, so the
 * stacks differ by return addresses, not by depth), then calls
 * checkpoint() for the debugger to stop at. Usage:
 * many_blocks [BLOCKS_PER_STACK] (default 100: 10000 stacks x 100 = 1M).
 */
#include <stdio.h>
#include <stdlib.h>

static void **keep;
static size_t kept;

__attribute__((noinline)) void checkpoint(const char *name)
{
    __asm__ volatile("" : : "r"(name) : "memory");
}

__attribute__((noinline)) static void leaf(int per_stack, int path)
{
    for (int i = 0; i < per_stack; i++)
        keep[kept++] = malloc(16 + (size_t)(path % 64));
}

__attribute__((noinline)) static void descend(int level, int path, int per_stack);

#define DOWN(d) descend(level + 1, path * 10 + (d), per_stack)

__attribute__((noinline)) static void descend(int level, int path, int per_stack)
{
    if (level == 4) {
        leaf(per_stack, path);
        return;
    }
    for (int d = 0; d < 10; d++) {
        switch (d) {
        case 0: DOWN(0); break;
        case 1: DOWN(1); break;
        case 2: DOWN(2); break;
        case 3: DOWN(3); break;
        case 4: DOWN(4); break;
        case 5: DOWN(5); break;
        case 6: DOWN(6); break;
        case 7: DOWN(7); break;
        case 8: DOWN(8); break;
        default: DOWN(9); break;
        }
    }
}

int main(int argc, char **argv)
{
    int per_stack = argc > 1 ? atoi(argv[1]) : 100;
    keep = malloc(sizeof *keep * (size_t)per_stack * 10000);
    descend(0, 0, per_stack);
    checkpoint("built");
    printf("many_blocks: %zu blocks\n", kept);
    return 0;
}
