/*
 * The unwinder interface: how the allocation hooks get the call stack.
 * An unwinder captures its caller's context itself, skips every frame whose
 * PC lies in the runtime's own text (so hooks never appear), stores at most
 * `max` return addresses innermost first into `pcs`, sets `*total` to the
 * full depth of the stack — or to MEMSNAP_TOTAL_UNKNOWN when it stopped at
 * `max` frames with more to come (it never walks past the limit just to
 * count) — and returns how many it stored. Every memory load is checked against the
 * current thread's stack bounds; an unwinder stops cleanly, never guesses.
 * Two implementations: the frame-pointer walk (unwind_fp.c) and the CFA
 * walk over .eh_frame rules (unwind_dwarf.c). The runtime picks one at
 * start-up (MEMSNAP_UNWIND) and reports it in root.unwinder.
 */
#ifndef MEMSNAP_RUNTIME_UNWIND_H
#define MEMSNAP_RUNTIME_UNWIND_H

#include <stdint.h>

typedef unsigned (*unwind_fn)(uint64_t *pcs, unsigned max, uint32_t *total);

/* Bounds [lo, hi) of the calling thread's stack; 0 on success, -errno. */
struct stack_bounds {
    uint64_t lo;
    uint64_t hi;
};
int thread_stack_bounds(struct stack_bounds *out);

/* Nonzero when pc is inside libmemsnap.so's own code. */
int runtime_owns_pc(uint64_t pc);

unsigned unwind_fp(uint64_t *pcs, unsigned max, uint32_t *total);

/* 0 when the DWARF unwinder can be used in this process, else -errno. */
int unwind_dwarf_init(void);
unsigned unwind_dwarf(uint64_t *pcs, unsigned max, uint32_t *total);

/* Where a walk starts: a return address, the stack pointer after it
 * returns, and the callee-saved registers a rule may use as a base. */
struct walk_start {
    uint64_t pc, sp, bp, bx;
};
/* Fills *start with its caller's state right after the call returns. */
void memsnap_unwind_capture(struct walk_start *start) __attribute__((visibility("hidden")));

struct walk_state;
struct walk_log;
/* The DWARF walk from *start (see above for pcs, max, *total), with the
 * calling thread's rule memo when ws != NULL, logging what decided it when
 * log != NULL (walk_memo.h; log->usable cleared when it cannot be kept). */
unsigned unwind_dwarf_walk(const struct walk_start *start, struct walk_state *ws, uint64_t *pcs,
                           unsigned max, uint32_t *total, struct walk_log *log);
/* The rules' generation: bumped when code is unloaded (dlclose). */
uint64_t unwind_dwarf_generation(void);

#endif /* MEMSNAP_RUNTIME_UNWIND_H */
