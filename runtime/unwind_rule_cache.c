/*
 * The rule cache of unwind_rule_cache.h: a fixed array in the runtime's
 * pool (counted in root.runtime_bytes, listed in root.mappings), written
 * under the miss lock of unwind_cfi.c, read lock-free by the walk.
 */
#include "unwind_rule_cache.h"

#include "internal.h"

#include <errno.h>

struct rule_slot *unwind_cache;
_Atomic uint64_t unwind_generation = 1;

/* Takes the first empty or stale probe slot, else evicts the first. */
void rule_cache_store(uint64_t key, uint64_t rule)
{
    uint32_t index = cache_index(key);
    uint64_t gen = key >> 48;
    struct rule_slot *victim = &unwind_cache[index & (CACHE_SLOTS - 1)];
    for (unsigned probe = 0; probe < CACHE_PROBES; probe++) {
        struct rule_slot *slot = &unwind_cache[(index + probe) & (CACHE_SLOTS - 1)];
        uint64_t seen = atomic_load_explicit(&slot->key, memory_order_relaxed);
        if (seen == 0 || (seen >> 48) != gen) {
            victim = slot;
            break;
        }
    }
    atomic_store_explicit(&victim->key, 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&victim->rule, rule, memory_order_relaxed);
    atomic_store_explicit(&victim->key, key, memory_order_release);
}

int rule_cache_init(void)
{
    if (unwind_cache != NULL)
        return 0;
    uint64_t bytes = sizeof(struct memsnap_mapping) + CACHE_SLOTS * sizeof(struct rule_slot);
    struct memsnap_mapping *mapping = pool_map(MEMSNAP_MAP_MISC, bytes);
    if (mapping == NULL)
        return -ENOMEM;
    mapping->used = bytes;
    unwind_cache = (struct rule_slot *)(mapping + 1);
    return 0;
}

void rule_cache_forget(void)
{
    if (unwind_cache == NULL)
        return;
    uint64_t gen = atomic_fetch_add_explicit(&unwind_generation, 1, memory_order_acq_rel) + 1;
    if ((gen & 0xffffu) == 0) {
        /* The 16-bit tag wrapped: old keys could match again. */
        for (unsigned i = 0; i < CACHE_SLOTS; i++)
            atomic_store_explicit(&unwind_cache[i].key, 0, memory_order_relaxed);
        atomic_store_explicit(&unwind_generation, gen + 1, memory_order_release);
    }
}
