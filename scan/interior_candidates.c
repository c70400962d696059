/*
 * The candidate list of interior_candidates.h: a growable array in
 * big_alloc memory (doubling), sorted once by value with qsort.
 */
#include "interior_candidates.h"

#include "big_alloc.h"

#include <errno.h>
#include <stdlib.h>

int interior_candidates_add(struct interior_candidates *c, uint64_t value, uint64_t where)
{
    if (c->sorted)
        return -EINVAL;
    if (c->n == c->cap) {
        uint64_t cap = c->cap ? 2 * c->cap : 4096;
        struct interior_candidate *item = big_realloc(c->item, c->cap * sizeof(*item),
                                                      cap * sizeof(*item));
        if (!item)
            return -ENOMEM;
        c->item = item;
        c->cap = cap;
    }
    c->item[c->n++] = (struct interior_candidate){value, where};
    return 0;
}

static int by_value(const void *a, const void *b)
{
    const struct interior_candidate *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->where < y->where ? -1 : x->where > y->where;
}

void interior_candidates_sort(struct interior_candidates *c)
{
    if (!c->sorted && c->n > 1)
        qsort(c->item, c->n, sizeof(*c->item), by_value);
    c->sorted = 1;
}

uint64_t interior_candidates_lower_bound(const struct interior_candidates *c, uint64_t value)
{
    uint64_t a = 0, b = c->n;
    while (a < b) {
        uint64_t m = a + (b - a) / 2;
        if (c->item[m].value < value)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

void interior_candidates_free(struct interior_candidates *c)
{
    big_free(c->item, c->cap * sizeof(*c->item));
    *c = (struct interior_candidates){0};
}
