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
 * Bit layout of a rule:
 *   0..2   kind (RULE_*)
 *   3..4   CFA base register (BASE_*)
 *   5      CFA is loaded from base+offset (stack realignment, DW_OP_deref)
 *   6..7   how to get the caller's rbp (SAVED_*), 8..9 the caller's rbx
 *   10..21 rbp's save slot: (offset from CFA) / 8, signed 12 bits
 *   22..33 rbx's save slot, same
 *   34     the pc lies in the runtime's own code (the frame is not recorded)
 *   35..63 CFA offset, signed 29 bits
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
#define RULE_RBP_HOW(r) ((unsigned)(((r) >> 6) & 3u))
#define RULE_RBX_HOW(r) ((unsigned)(((r) >> 8) & 3u))
#define RULE_RBP_OFF(r) ((int64_t)((int64_t)((r) << 42) >> 52) * 8)
#define RULE_RBX_OFF(r) ((int64_t)((int64_t)((r) << 30) >> 52) * 8)
#define RULE_IN_RUNTIME(r) ((unsigned)(((r) >> 34) & 1u))
#define RULE_CFA_OFF(r) ((int64_t)(r) >> 35)

#define SLOT12_MIN (-2048)
#define SLOT12_MAX 2047
#define CFA_OFF_MIN (-(1LL << 28))
#define CFA_OFF_MAX ((1LL << 28) - 1)
#define RULE_RUNTIME_BIT (1ULL << 34)

static inline uint64_t rule_make(unsigned kind, unsigned base, unsigned deref, int64_t cfa_off,
                          unsigned rbp_how, int64_t rbp_slot, unsigned rbx_how, int64_t rbx_slot)
{
    return (uint64_t)kind | (uint64_t)base << 3 | (uint64_t)deref << 5 | (uint64_t)rbp_how << 6 |
           (uint64_t)rbx_how << 8 | ((uint64_t)rbp_slot & 0xfffu) << 10 |
           ((uint64_t)rbx_slot & 0xfffu) << 22 | (uint64_t)cfa_off << 35;
}

#endif /* MEMSNAP_RUNTIME_UNWIND_RULES_H */
