/*
 * The stop point of the leak test programs. A program builds its heap, then
 * calls leak_scrub_and_checkpoint(): it zeroes the dead stack below it and
 * the caller-saved registers (so no stale copy of a pointer survives), and
 * calls leak_checkpoint(), where the debugger breaks and where, under
 * valgrind, memcheck runs its leak check (VALGRIND_DO_LEAK_CHECK): both
 * tools see the same memory. With LEAK_ABORT=1 in the environment,
 * leak_checkpoint() aborts instead (a kernel core dump at that point).
 */
#ifndef LEAK_CHECKPOINT_H
#define LEAK_CHECKPOINT_H

#ifdef __cplusplus
extern "C" {
#endif

void leak_checkpoint(void);
void leak_scrub_and_checkpoint(void);
/* Load *slot into r12, clear *slot, scrub, checkpoint: the block is then
 * held only by a register. */
void leak_hold_in_r12_and_checkpoint(void **slot);
/* Zero the dead stack below the caller (and caller-saved registers). */
void leak_scrub(void);

#ifdef __cplusplus
}
#endif

#endif
