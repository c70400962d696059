/*
 * The peak snapshot (layout 2.1): each site's live (count, bytes) at the
 * last peak of the traced current, kept at O(1) per operation without
 * copying anything when the peak rises. Raising root.peak_bytes (a fold,
 * counters.h), resetting it (memsnap_reset_peak) or clearing it bumps
 * root.peak_gen: from that moment every counter's live pair *is* its value
 * at the peak until its thread next changes it, and before that change
 * the thread saves the pair into the counter's peak pair, stamped with the
 * generation (peak_keep). A reader takes a counter's peak pair when its
 * stamp is root.peak_gen and its live pair otherwise (docs/layout.md, "the
 * peak snapshot", which also states how far the snapshot may be from the
 * exact peak once the process has several threads). Only a counter's
 * owner writes it; root.peak_gen and root.peak_bytes are written under
 * the fold lock (counters.c), or by the only thread of a process that
 * never had a second one.
 */
#ifndef MEMSNAP_RUNTIME_PEAK_H
#define MEMSNAP_RUNTIME_PEAK_H

#include "internal.h"

/* The counter's live pair, copied into its peak pair with one 16-byte
 * load and one 16-byte store (movdqa): never torn for a reader. */
static inline void peak_pair_save(struct memsnap_counter *counter)
{
    __asm__ __volatile__("movdqa %[live], %%xmm0\n\t"
                         "movdqa %%xmm0, %[peak]"
                         : [peak] "=m"(*(volatile uint64_t(*)[2]) & counter->peak_count)
                         : [live] "m"(*(volatile uint64_t(*)[2]) & counter->live_count)
                         : "xmm0", "memory");
}

/* Called by the counter's owner before it changes the live pair: the
 * first change after a new peak saves the pair as it was there, then
 * stamps it (release: a reader that sees the stamp sees the pair). */
static inline void peak_keep(struct memsnap_counter *counter)
{
    uint64_t gen = __atomic_load_n(&memsnap_root.peak_gen, __ATOMIC_RELAXED);
    if (MEMSNAP_UNLIKELY(counter->peak_gen != gen)) {
        peak_pair_save(counter);
        __atomic_store_n(&counter->peak_gen, gen, __ATOMIC_RELEASE);
    }
}

/* `now` is the new peak: root.peak_bytes, then the generation that makes
 * every live pair the peak's until it changes. Fold lock held, or the
 * process's only thread. */
static inline void peak_mark(uint64_t now)
{
    __atomic_store_n(&memsnap_root.peak_bytes, now, __ATOMIC_RELAXED);
    __atomic_store_n(&memsnap_root.peak_gen, memsnap_root.peak_gen + 1, __ATOMIC_RELEASE);
}

#endif /* MEMSNAP_RUNTIME_PEAK_H */
