/*
 * The DWARF unwinder's rule cache (unwind_rule_cache.c): compact rules
 * (unwind_rules.h) by pc, shared by every thread, read without a lock.
 * Globals: unwind_cache is set once by rule_cache_init() (under the CFI
 * miss lock, before the unwinder is published ready) and never moves;
 * its slots are written only by rule_cache_store() and rule_cache_forget(),
 * under the miss lock (unwind_cfi.c), and read lock-free by the walk as
 * below. unwind_generation is bumped only under the miss lock.
 */
#ifndef MEMSNAP_RUNTIME_UNWIND_RULE_CACHE_H
#define MEMSNAP_RUNTIME_UNWIND_RULE_CACHE_H

#include <stdatomic.h>
#include <stdint.h>

#include "unwind_rules.h"

/*
 * A fixed array of (key, rule) pairs, open addressing over a few probes.
 * key = pc | exact << 47 | generation << 48: a rule computed for a return
 * address (looked up at pc-1) differs from one for an exact pc (the frame a
 * signal interrupted), and bumping the generation forgets every rule at
 * once. Writers (the miss path, one at a time under miss_lock) clear the
 * key, write the rule, then publish the key; readers load key, rule, key
 * and use the rule only if both keys are the one they want.
 */
struct rule_slot {
    _Atomic uint64_t key;
    _Atomic uint64_t rule;
};

#define CACHE_BITS 14u
#define CACHE_SLOTS (1u << CACHE_BITS)
#define CACHE_PROBES 4u
#define KEY_EXACT (1ULL << 47)
#define KEY_PC_MASK (KEY_EXACT - 1)

extern struct rule_slot *unwind_cache;      /* CACHE_SLOTS entries, from pool_map */
extern _Atomic uint64_t unwind_generation;  /* low 16 bits go into keys */

static inline uint64_t current_tag(void)
{
    return (atomic_load_explicit(&unwind_generation, memory_order_relaxed) & 0xffffu) << 48;
}

static inline uint64_t cache_key(uint64_t pc, unsigned exact, uint64_t tag)
{
    return (pc & KEY_PC_MASK) | (exact ? KEY_EXACT : 0) | tag;
}

static inline uint32_t cache_index(uint64_t key)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> (64 - CACHE_BITS));
}

/* The cached rule of key, or RULE_NONE. Lock-free, no call. */
static inline uint64_t cache_find(uint64_t key)
{
    uint32_t index = cache_index(key);
    for (unsigned probe = 0; probe < CACHE_PROBES; probe++) {
        struct rule_slot *slot = &unwind_cache[(index + probe) & (CACHE_SLOTS - 1)];
        uint64_t seen = atomic_load_explicit(&slot->key, memory_order_acquire);
        if (seen == key) {
            uint64_t rule = atomic_load_explicit(&slot->rule, memory_order_relaxed);
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&slot->key, memory_order_relaxed) == key)
                return rule;
            return RULE_NONE;
        }
        if (seen == 0)
            return RULE_NONE;
    }
    return RULE_NONE;
}


/* Publishes (key, rule); the caller holds the miss lock. */
void rule_cache_store(uint64_t key, uint64_t rule);

/* Maps the cache (once); 0 or -ENOMEM. The caller holds the miss lock. */
int rule_cache_init(void);

/* Forgets every rule at once (a new generation); the caller holds the
 * miss lock. Does nothing before rule_cache_init(). */
void rule_cache_forget(void);

#endif /* MEMSNAP_RUNTIME_UNWIND_RULE_CACHE_H */
