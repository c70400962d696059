/*
 * Leak test: list nodes. A list of 10 nodes loses its head (1 definitely
 * lost, 9 indirectly lost); a list of 5 nodes stays reachable from a global.
 */
#include <stdlib.h>

#include "checkpoint.h"

struct node {
    struct node *next;
    long payload[3];
};

struct node *kept_list;

static struct node *make_list(int n)
{
    struct node *head = NULL;
    for (int i = 0; i < n; i++) {
        struct node *node = calloc(1, sizeof(*node));
        node->next = head;
        node->payload[0] = i;
        head = node;
    }
    return head;
}

__attribute__((noinline)) static void lose_a_list(void)
{
    struct node *lost = make_list(10);
    lost->payload[1] = 1;
}

int main(void)
{
    kept_list = make_list(5);
    lose_a_list();
    leak_scrub_and_checkpoint();
    return 0;
}
