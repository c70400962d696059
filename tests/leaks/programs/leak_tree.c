/*
 * Leak test: a lost binary tree of 15 nodes (the root definitely lost, the
 * 14 inner nodes and leaves indirectly lost), and a kept tree of 7 nodes.
 */
#include <stdlib.h>

#include "checkpoint.h"

struct tree {
    struct tree *left, *right;
    long key;
    char name[16];
};

struct tree *kept_tree;

static struct tree *make_tree(int depth, long key)
{
    if (depth == 0)
        return NULL;
    struct tree *t = calloc(1, sizeof(*t));
    t->key = key;
    t->left = make_tree(depth - 1, 2 * key);
    t->right = make_tree(depth - 1, 2 * key + 1);
    return t;
}

__attribute__((noinline)) static void lose_a_tree(void)
{
    struct tree *lost = make_tree(4, 1);
    lost->name[0] = 'x';
}

int main(void)
{
    lose_a_tree();
    kept_tree = make_tree(3, 1);
    leak_scrub_and_checkpoint();
    return 0;
}
