/*
 * The DWARF unwinder's miss path and its lock (unwind_cfi.c): computing a
 * pc's compact rule from libdw's CFI, forgetting unloaded code, and the
 * miss lock's fork hooks, called by init.c's one fork sequence.
 */
#ifndef MEMSNAP_RUNTIME_UNWIND_CFI_H
#define MEMSNAP_RUNTIME_UNWIND_CFI_H

#include <stdint.h>

/* Computes, caches and returns the rule of (pc, exact): exact for a pc a
 * signal interrupted, else pc is a return address. A STOP rule, uncached,
 * when called re-entrantly (a signal handler interrupting this thread's
 * own miss). */
uint64_t rule_miss(uint64_t pc, unsigned exact);

/* Maps the rule cache and reports the loaded modules to libdw; 0 or -errno. */
int cfi_init(void);

/* Code was unmapped (dlclose): every cached rule becomes stale. */
void unwind_code_unloaded(void);

/* The miss lock in the fork sequence (init.c): taken before fork, released
 * in the parent, reset in the child. */
void unwind_fork_prepare(void);
void unwind_fork_parent(void);
void unwind_fork_child(void);

#endif /* MEMSNAP_RUNTIME_UNWIND_CFI_H */
