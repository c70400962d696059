/*
 * The frame-pointer unwinder: follows the chain of saved rbp values
 * ([rbp] = caller's rbp, [rbp+8] = return address). Every frame address is
 * validated before it is read: inside the thread's stack and above the
 * unwinder's own frame, 8-byte aligned, strictly increasing. The runtime's
 * own frames (innermost, up to the first return address outside it) are
 * skipped; frames beyond `max` are counted
 * into *total, not stored. Fast and exact for code built with
 * -fno-omit-frame-pointer; stops early in code without frame pointers.
 */
#include "internal.h"
#include "unwind.h"

/* Frames counted at most (bounds the walk of a runaway recursion). */
#define COUNT_LIMIT 65536u

__attribute__((noinline)) unsigned unwind_fp(uint64_t *pcs, unsigned max, uint32_t *total)
{
    struct stack_bounds bounds;
    *total = 0;
    if (thread_stack_bounds(&bounds) != 0)
        return 0;
    if (MEMSNAP_UNLIKELY(runtime_text_lo == UINT64_MAX))
        runtime_owns_pc(0);
    const uint64_t lo = bounds.lo, top = bounds.hi - 16;
    uint64_t fp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
    if (fp < lo)
        return 0;
    /* The runtime's own frames come first (the hook, the tracer, this
     * function): skip them, then keep every frame. */
    unsigned stored = 0;
    uint32_t depth = 0;
    int in_runtime = 1;
    while (fp <= top && (fp & 7) == 0) {
        const uint64_t *frame = (const uint64_t *)(uintptr_t)fp;
        uint64_t next = frame[0];
        uint64_t ra = frame[1];
        if (ra < 4096)
            break;
        if (in_runtime)
            in_runtime = runtime_owns_pc_fast(ra);
        if (!in_runtime) {
            if (stored < max)
                pcs[stored++] = ra;
            if (++depth >= COUNT_LIMIT)
                break;
        }
        if (next <= fp) /* strictly increasing: also keeps fp >= lo */
            break;
        fp = next;
    }
    *total = depth;
    return stored;
}
