/*
 * The DWARF unwinder's compact rules (docs/unwinding.md): how to step from
 * a frame to its caller at one pc, in one 64-bit word — the CFA as rsp, rbp
 * or rbx plus an offset (or loaded from there), the return address at
 * CFA-8, rbp and rbx unchanged or saved at CFA+offset, or a kind
 * that ends the walk or steps through a signal frame. Made by the CFI
 * reduction (unwind_cfi.c), kept by the rule cache (unwind_rule_cache.c),
 * applied by the walk (unwind_dwarf.c).
 */
#ifndef MEMSNAP_RUNTIME_UNWIND_RULES_H
#define MEMSNAP_RUNTIME_UNWIND_RULES_H

#include <stdint.h>

#define UNW_LIKELY(x) __builtin_expect(!!(x), 1)
#define UNW_UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * Bit layout of a rule (everything the walk tests on every frame is in the
 * low byte, so that it takes one instruction with a short constant):
 *   0..2   kind (RULE_*)
 *   3..4   CFA base register (BASE_*)
 *   5      CFA is loaded from base+offset (stack realignment, DW_OP_deref)
 *   6      the pc lies in the runtime's own code (the frame is not recorded)
 *   7      plain: a STEP with CFA = rsp + offset, not loaded, the offset a
 *          positive multiple of 8, rbp and rbx saved (if they are) in the
 *          frame, between rsp and CFA-8: the CFA is then above rsp and
 *          8-aligned and the saved slots lie in [rsp, CFA), so the walk
 *          checks only the CFA's upper bound
 *   8..9   how to get the caller's rbp (SAVED_*), 10..11 the caller's rbx
 *   12..23 rbp's save slot: (offset from CFA) / 8, signed 12 bits
 *   24..35 rbx's save slot, same
 *   36..63 CFA offset, signed 28 bits
 */
enum {
    RULE_NONE = 0,   /* empty cache slot */
    RULE_STEP = 1,   /* a normal frame: apply the rule */
    RULE_END = 2,    /* outermost frame (return address undefined) */
    RULE_SIGNAL = 3, /* signal trampoline: the ucontext is at rsp */
    RULE_STOP = 4,   /* no usable rule: the walk ends here, cleanly */
};
enum { BASE_RSP = 0, BASE_RBP = 1, BASE_RBX = 2 };
enum { SAVED_SAME = 0, SAVED_AT = 1 };

#define RULE_KIND(r) ((unsigned)((r) & 7u))
#define RULE_BASE(r) ((unsigned)(((r) >> 3) & 3u))
#define RULE_DEREF(r) ((unsigned)(((r) >> 5) & 1u))
#define RULE_RBP_HOW(r) ((unsigned)(((r) >> 8) & 3u))
#define RULE_RBX_HOW(r) ((unsigned)(((r) >> 10) & 3u))
#define RULE_RBP_OFF(r) ((int64_t)((int64_t)((r) << 40) >> 52) * 8)
#define RULE_RBX_OFF(r) ((int64_t)((int64_t)((r) << 28) >> 52) * 8)
#define RULE_IN_RUNTIME(r) ((unsigned)(((r) >> 6) & 1u))
#define RULE_CFA_OFF(r) ((int64_t)(r) >> 36)

#define SLOT12_MIN (-2048)
#define SLOT12_MAX 2047
#define CFA_OFF_MIN (-(1LL << 27))
#define CFA_OFF_MAX ((1LL << 27) - 1)
#define RULE_RUNTIME_BIT (1ULL << 6)
#define RULE_PLAIN_BIT (1ULL << 7)
#define RULE_RBP_SAVED_BIT ((uint64_t)SAVED_AT << 8)
#define RULE_RBX_SAVED_BIT ((uint64_t)SAVED_AT << 10)

/* A register saved at CFA + slot*8 lies in [CFA - cfa_off, CFA - 8]. */
static inline int slot_in_frame(unsigned how, int64_t slot, int64_t cfa_off)
{
    return how != SAVED_AT || (slot * 8 >= -cfa_off && slot * 8 <= -8);
}

static inline uint64_t rule_make(unsigned kind, unsigned base, unsigned deref, int64_t cfa_off,
                          unsigned rbp_how, int64_t rbp_slot, unsigned rbx_how, int64_t rbx_slot)
{
    int plain = kind == RULE_STEP && base == BASE_RSP && !deref && cfa_off >= 8 &&
                cfa_off % 8 == 0 && slot_in_frame(rbp_how, rbp_slot, cfa_off) &&
                slot_in_frame(rbx_how, rbx_slot, cfa_off);
    return (uint64_t)kind | (uint64_t)base << 3 | (uint64_t)deref << 5 |
           (plain ? RULE_PLAIN_BIT : 0) | (uint64_t)rbp_how << 8 | (uint64_t)rbx_how << 10 |
           ((uint64_t)rbp_slot & 0xfffu) << 12 | ((uint64_t)rbx_slot & 0xfffu) << 24 |
           (uint64_t)cfa_off << 36;
}

#endif /* MEMSNAP_RUNTIME_UNWIND_RULES_H */
