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

__attribute__((noinline)) unsigned unwind_fp(uint64_t *pcs, unsigned max, uint32_t *total)
{
    struct stack_bounds bounds;
    *total = 0;
    const struct thread_tls *tls = tls_block();
    if (MEMSNAP_LIKELY(tls->stack_state == 1)) {
        bounds.lo = tls->stack_lo;
        bounds.hi = tls->stack_hi;
    } else if (thread_stack_bounds(&bounds) != 0) {
        return 0;
    }
    if (MEMSNAP_UNLIKELY(runtime_text_lo == UINT64_MAX))
        runtime_owns_pc(0);
    const uint64_t lo = bounds.lo, top = bounds.hi - 16;
    uint64_t fp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
    if (fp < lo)
        return 0;
    /* A frame at fp is readable when fp <= top and 8-aligned; frames
     * strictly increase, so fp also stays >= lo. Two tight loops: skip the
     * runtime's own frames (they come first: the hook, the tracer, this
     * function), then store up to max return addresses. */
    uint64_t ra = 0, next = 0;
    for (;;) {
        if (fp > top || (fp & 7))
            return 0;
        const uint64_t *frame = (const uint64_t *)(uintptr_t)fp;
        next = frame[0];
        ra = frame[1];
        if (!runtime_owns_pc_fast(ra))
            break;
        if (next <= fp)
            return 0;
        fp = next;
    }
    unsigned stored = 0;
    for (;;) {
        if (ra < 4096)
            break;
        if (stored == max) {
            /* the limit: the depth is known only if the stack ends here */
            *total = MEMSNAP_TOTAL_UNKNOWN;
            return stored;
        }
        pcs[stored++] = ra;
        if (next <= fp || next > top || (next & 7))
            break;
        fp = next;
        const uint64_t *frame = (const uint64_t *)(uintptr_t)fp;
        next = frame[0];
        ra = frame[1];
    }
    *total = stored;
    return stored;
}
