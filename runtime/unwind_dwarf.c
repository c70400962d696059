/*
 * The CFA unwinder's walk (docs/unwinding.md): steps up the caller chain of
 * the current thread by compact per-pc rules (unwind_rules.h) — CFA =
 * rsp|rbp|rbx + offset (or loaded from there), return address at CFA-8,
 * rbp and rbx either unchanged or saved at CFA+offset — found in the
 * thread's rule memo, else the shared lock-free cache
 * (unwind_rule_cache.h), else computed from libdw's CFI on a miss
 * (unwind_cfi.c). A hit takes no lock, makes no call into libc and no
 * syscall. Rules that do not fit the compact form end the walk cleanly;
 * signal frames (__restore_rt) are stepped through the ucontext the kernel
 * pushed. Every load is checked against the stack being walked. The rules
 * of unloaded code are forgotten by bumping a generation that is part of
 * every cache key (unwind_code_unloaded, from override.c's dlclose).
 * dwarf_ready is set once by unwind_dwarf_init() (release) and read by
 * every walk (its start).
 */
#define _GNU_SOURCE
#include "internal.h"
#include "unwind.h"
#include "unwind_cfi.h"
#include "unwind_rule_cache.h"
#include "walk_memo.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/ucontext.h>

static int dwarf_ready; /* unwind_dwarf_init succeeded: set once (release), read by every walk */

/* ---- where a walk starts ---- */

/* memsnap_unwind_capture (unwind.h), in plain assembly so that no compiler
 * choice can disturb the registers it reads. */
__asm__(".text\n"
        ".globl memsnap_unwind_capture\n"
        ".hidden memsnap_unwind_capture\n"
        ".type memsnap_unwind_capture, @function\n"
        ".p2align 4\n"
        "memsnap_unwind_capture:\n"
        ".cfi_startproc\n"
        "    movq (%rsp), %rax\n"
        "    movq %rax, 0(%rdi)\n"
        "    leaq 8(%rsp), %rax\n"
        "    movq %rax, 8(%rdi)\n"
        "    movq %rbp, 16(%rdi)\n"
        "    movq %rbx, 24(%rdi)\n"
        "    ret\n"
        ".cfi_endproc\n"
        ".size memsnap_unwind_capture, .-memsnap_unwind_capture\n");

/* ---- the walk ---- */

/* Offsets of the interrupted registers in the ucontext a signal frame's
 * rsp points at (after the handler's return popped the restorer address). */
#define UC_RIP offsetof(ucontext_t, uc_mcontext.gregs[REG_RIP])
#define UC_RSP offsetof(ucontext_t, uc_mcontext.gregs[REG_RSP])
#define UC_RBP offsetof(ucontext_t, uc_mcontext.gregs[REG_RBP])
#define UC_RBX offsetof(ucontext_t, uc_mcontext.gregs[REG_RBX])

/* True when [addr, addr+8) lies in [lo, hi) and is aligned. */
static inline int load_ok(uint64_t addr, uint64_t lo, uint64_t hi)
{
    return addr >= lo && addr <= hi - 8 && (addr & 7u) == 0;
}

/* The stack the walk starts on: the thread's, or the alternate signal
 * stack when a handler running there allocates. 0 or -errno. */
static int starting_bounds(uint64_t rsp, struct stack_bounds *thread, struct stack_bounds *cur)
{
    int rc = thread_stack_bounds(thread);
    if (rc != 0)
        return rc;
    /* rsp is 8-aligned and above the capture's return slot: at least
     * lo + 8 (the walk relies on both) */
    if (rsp & 7u)
        return -EFAULT;
    if (UNW_LIKELY(rsp >= thread->lo + 8 && rsp < thread->hi)) {
        *cur = *thread;
        return 0;
    }
    stack_t ss;
    if (sigaltstack(NULL, &ss) != 0 || !(ss.ss_flags & SS_ONSTACK))
        return -EFAULT;
    cur->lo = (uint64_t)ss.ss_sp;
    cur->hi = (uint64_t)ss.ss_sp + ss.ss_size;
    return rsp >= cur->lo + 8 && rsp < cur->hi ? 0 : -EFAULT;
}

/* Steps through a signal frame: sp points at the ucontext the kernel
 * saved; the interrupted registers continue the walk. 0, or -1 to stop. */
static int step_signal_frame(uint64_t *pc, uint64_t *sp, uint64_t *bp, uint64_t *bx, uint64_t *lo,
                             uint64_t *hi, const struct stack_bounds *thread)
{
    uint64_t uc = *sp;
    if (!load_ok(uc + UC_RIP, *lo, *hi) || !load_ok(uc + UC_RSP, *lo, *hi) ||
        !load_ok(uc + UC_RBP, *lo, *hi) || !load_ok(uc + UC_RBX, *lo, *hi))
        return -1;
    *pc = *(const uint64_t *)(uc + UC_RIP);
    *sp = *(const uint64_t *)(uc + UC_RSP);
    *bp = *(const uint64_t *)(uc + UC_RBP);
    *bx = *(const uint64_t *)(uc + UC_RBX);
    if (*sp & 7u)
        return -1; /* the walk keeps sp 8-aligned (plain rules rely on it) */
    /* On the same stack the interrupted frame is above the ucontext. The
     * handler may have run on the alternate stack and the interrupted code
     * on the thread's: one switch to the thread's stack is accepted. */
    if (*sp >= *lo && *sp < *hi)
        return *sp > uc ? 0 : -1;
    if (*lo == thread->lo || !(*sp >= thread->lo + 8 && *sp < thread->hi))
        return -1;
    *lo = thread->lo;
    *hi = thread->hi;
    return 0;
}

/* The rule memo of the walks made without a thread's (unwind_dwarf):
 * always empty, never written, so that the walk has one form. */
static struct rule_memo no_rule_memo;

/* The rule of (pc, exact) when its memo set holds neither: from the
 * shared cache, else a miss; then kept as the set's first way, the first
 * moving second. Out of line: rare. */
static __attribute__((noinline)) uint64_t rule_lookup(struct rule_memo *rm, uint64_t pc,
                                                      uint64_t exact)
{
    struct rule_memo_way *set = rm->set[pc & (RULE_MEMO_SETS - 1)];
    uint64_t rule = cache_find((pc & KEY_PC_MASK) | exact | current_tag());
    if (UNW_UNLIKELY(rule == RULE_NONE))
        rule = rule_miss(pc, exact != 0);
    if (rm != &no_rule_memo && !(pc & ~KEY_PC_MASK)) {
        set[1] = set[0];
        set[0] = (struct rule_memo_way){pc | exact, rule};
    }
    return rule;
}

/* The rule of (pc, exact), pc != 0: from its set in the thread's rule
 * memo (the second way tested inline too: a set often holds one pc of the
 * runtime or libc, met on every walk, and one of the program), else
 * rule_lookup. */
static inline uint64_t rule_of(struct rule_memo *rm, uint64_t pc, uint64_t exact)
{
    const struct rule_memo_way *set = rm->set[pc & (RULE_MEMO_SETS - 1)];
    uint64_t key = pc | exact;
    if (UNW_LIKELY(set[0].key == key))
        return set[0].rule;
    if (UNW_LIKELY(set[1].key == key))
        return set[1].rule;
    return rule_lookup(rm, pc, exact);
}

/* Empties the thread's rule memo when code was unloaded since it was
 * filled (its keys carry no generation). */
static inline void rule_memo_check(struct rule_memo *rm, uint64_t generation_now)
{
    if (UNW_UNLIKELY(rm->generation != generation_now)) {
        memset(rm->set, 0, sizeof rm->set);
        rm->generation = generation_now;
    }
}

/* The registers of the frame being stepped from, where rbp and rbx came
 * from (walk_memo.h), and the stack being walked. */
struct walk_regs {
    uint64_t pc, sp, bp, bx, lo, hi, exact;
    int bp_from, bx_from;
};

/* The caller's value of a callee-saved register saved at cfa + off (the
 * load logged, deciding nothing yet). The CFA is 8-aligned and off a
 * multiple of 8, so one range check covers the load (`span` is
 * hi - 8 - lo), made when `checked` (a plain rule's slots need none).
 * -1 when the slot is outside the stack. */
static inline int reload(int64_t off, uint64_t cfa, uint64_t lo, uint64_t span, int checked,
                         uint64_t *reg, int *from, struct walk_log *log)
{
    uint64_t at = cfa + (uint64_t)off;
    if (checked && at - lo > span)
        return -1;
    *reg = *(const uint64_t *)at;
    if (log)
        *from = log_word(log, at, *reg, 0);
    return 0;
}

/* The caller's rbp and rbx by the rule: unchanged, or reloaded. */
static inline int reload_saved(uint64_t rule, uint64_t cfa, uint64_t lo, uint64_t hi, int checked,
                               uint64_t *bp, int *bp_from, uint64_t *bx, int *bx_from,
                               struct walk_log *log)
{
    uint64_t span = hi - 8 - lo;
    if ((rule & RULE_RBP_SAVED_BIT) &&
        reload(RULE_RBP_OFF(rule), cfa, lo, span, checked, bp, bp_from, log))
        return -1;
    if ((rule & RULE_RBX_SAVED_BIT) &&
        reload(RULE_RBX_OFF(rule), cfa, lo, span, checked, bx, bx_from, log))
        return -1;
    return 0;
}

/* The base register's value for a CFA rule (its use logged). */
static inline uint64_t base_value(unsigned base, struct walk_regs *w, struct walk_log *log)
{
    if (base == BASE_RSP)
        return w->sp;
    if (log)
        log_base_use(log, base == BASE_RBP ? w->bp_from : w->bx_from,
                     base == BASE_RBP ? &log->uses_bp : &log->uses_bx);
    return base == BASE_RBP ? w->bp : w->bx;
}

/* One step by any other rule than the walk's inline cases: a STEP with a
 * CFA based on rbx, on rbp + another offset than 16, on rsp + an offset
 * that is not a positive multiple of 8, or loaded from the stack; or a
 * signal frame. The caller's registers in *w; 0, or -1 to stop (END, STOP,
 * or a failed check). Out of line: the walk keeps its registers. */
static __attribute__((noinline)) int step_other(uint64_t rule, struct walk_regs *w,
                                                const struct stack_bounds *thread,
                                                struct walk_log *log)
{
    unsigned kind = RULE_KIND(rule);
    if (kind == RULE_SIGNAL) {
        if (log)
            log->usable = 0; /* (an interrupted pc: not worth keeping) */
        if (step_signal_frame(&w->pc, &w->sp, &w->bp, &w->bx, &w->lo, &w->hi, thread) != 0)
            return -1;
        w->bp_from = w->bx_from = FROM_NOWHERE;
        w->exact = KEY_EXACT;
        return 0;
    }
    if (kind != RULE_STEP)
        return -1; /* END (the outermost frame) or STOP */
    uint64_t cfa = base_value(RULE_BASE(rule), w, log) + (uint64_t)RULE_CFA_OFF(rule);
    if (RULE_DEREF(rule)) {
        /* stack realignment: the CFA itself is on the stack */
        if (!load_ok(cfa, w->lo, w->hi))
            return -1;
        uint64_t at = cfa;
        cfa = *(const uint64_t *)at;
        if (log)
            log_word(log, at, cfa, 1);
    }
    if (cfa <= w->sp || !load_ok(cfa - 8, w->lo, w->hi))
        return -1;
    uint64_t ra = *(const uint64_t *)(cfa - 8);
    if (log)
        log_word(log, cfa - 8, ra, 1);
    if (reload_saved(rule, cfa, w->lo, w->hi, 1, &w->bp, &w->bp_from, &w->bx, &w->bx_from, log))
        return -1;
    w->pc = ra;
    w->sp = cfa;
    w->exact = 0;
    return 0;
}

/* The frame-pointer rule, taken inline too: a STEP with CFA = rbp + 16,
 * not loaded from the stack. */
#define RULE_FP_MASK (0x3full | ~0ull << 36)
#define RULE_FP ((uint64_t)RULE_STEP | (uint64_t)BASE_RBP << 3 | 16ull << 36)

/*
 * The walk, from the registers in *w: stores at most `max` return
 * addresses into pcs and the depth into *total (MEMSNAP_TOTAL_UNKNOWN when
 * it stopped at max with more to come); logs what decided it when log !=
 * NULL. One body, inlined twice: with and without a log. Its registers are
 * locals, spilled to *w only for the out-of-line steps. Each step raises
 * sp (a plain rule's offset is positive, every other CFA is checked to be
 * above sp; a signal frame's ucontext lies above the handler's frames, or
 * the walk moves once from the alternate signal stack to the thread's),
 * so the walk ends within the stack.
 */
static inline __attribute__((always_inline)) unsigned
walk(struct walk_regs *w, struct rule_memo *rm, const struct stack_bounds *thread,
     uint64_t *pcs, unsigned max, uint32_t *total, struct walk_log *log)
{
    uint64_t pc = w->pc, sp = w->sp, bp = w->bp, bx = w->bx, lo = w->lo, hi = w->hi, exact = 0;
    int bp_from = w->bp_from, bx_from = w->bx_from;
    unsigned depth = 0;
    while (pc != 0) {
        uint64_t rule = rule_of(rm, pc, exact);
        if (UNW_LIKELY(!(rule & RULE_RUNTIME_BIT))) {
            if (depth == max) {
                *total = MEMSNAP_TOTAL_UNKNOWN; /* more to come: not walked */
                return max;
            }
            pcs[depth++] = exact ? pc + 1 : pc;
        }
        uint64_t cfa;
        if (UNW_LIKELY(rule & RULE_PLAIN_BIT)) {
            /* above sp and 8-aligned by construction: the return address
             * at cfa - 8 and the saved registers lie in [sp, cfa) */
            cfa = sp + (uint64_t)RULE_CFA_OFF(rule);
            if (cfa > hi)
                break;
            if (rule & (RULE_RBP_SAVED_BIT | RULE_RBX_SAVED_BIT))
                reload_saved(rule, cfa, lo, hi, 0, &bp, &bp_from, &bx, &bx_from, log);
        } else if ((rule & RULE_FP_MASK) == RULE_FP) {
            cfa = bp + 16;
            if (cfa <= sp || cfa > hi || (cfa & 7u))
                break;
            if (log)
                log_base_use(log, bp_from, &log->uses_bp);
            if ((rule & (RULE_RBP_SAVED_BIT | RULE_RBX_SAVED_BIT)) &&
                reload_saved(rule, cfa, lo, hi, 1, &bp, &bp_from, &bx, &bx_from, log))
                break;
        } else if (RULE_KIND(rule) != RULE_STEP && RULE_KIND(rule) != RULE_SIGNAL) {
            break; /* END (the outermost frame: every walk's last) or STOP */
        } else {
            *w = (struct walk_regs){pc, sp, bp, bx, lo, hi, exact, bp_from, bx_from};
            if (step_other(rule, w, thread, log) != 0)
                break;
            pc = w->pc, sp = w->sp, bp = w->bp, bx = w->bx, lo = w->lo, hi = w->hi;
            exact = w->exact, bp_from = w->bp_from, bx_from = w->bx_from;
            continue;
        }
        pc = *(const uint64_t *)(cfa - 8);
        if (log)
            log_word(log, cfa - 8, pc, 1);
        sp = cfa;
        exact = 0;
    }
    *total = depth;
    return depth;
}

/* The registers a walk starts from: those of `start`, on the thread's stack
 * (or the alternate signal stack). 0, or -1 when the stack is unknown. */
static int walk_begin(const struct walk_start *start, struct walk_regs *w,
                      struct stack_bounds *thread)
{
    struct stack_bounds b;
    if (UNW_UNLIKELY(!dwarf_ready) || starting_bounds(start->sp, thread, &b) != 0)
        return -1;
    *w = (struct walk_regs){start->pc, start->sp, start->bp, start->bx, b.lo, b.hi, 0,
                            FROM_START, FROM_START};
    return 0;
}

unsigned unwind_dwarf_walk(const struct walk_start *start, struct walk_state *ws, uint64_t *pcs,
                           unsigned max, uint32_t *total, struct walk_log *log)
{
    struct walk_regs w;
    struct stack_bounds thread;
    *total = 0;
    if (walk_begin(start, &w, &thread) != 0)
        return 0;
    struct rule_memo *rm = &no_rule_memo;
    if (ws) {
        rm = &ws->rules;
        rule_memo_check(rm, atomic_load_explicit(&unwind_generation, memory_order_relaxed));
    }
    if (!log)
        return walk(&w, rm, &thread, pcs, max, total, NULL);
    if (w.lo != thread.lo)
        log->usable = 0; /* on the alternate signal stack */
    return walk(&w, rm, &thread, pcs, max, total, log);
}

unsigned unwind_dwarf(uint64_t *pcs, unsigned max, uint32_t *total)
{
    struct walk_start start;
    memsnap_unwind_capture(&start);
    return unwind_dwarf_walk(&start, NULL, pcs, max, total, NULL);
}

uint64_t unwind_dwarf_generation(void)
{
    return atomic_load_explicit(&unwind_generation, memory_order_relaxed);
}

/* ---- start-up ---- */

int unwind_dwarf_init(void)
{
    if (dwarf_ready)
        return 0;
    internal_work_begin(); /* libdw's allocations are the runtime's: internal heap */
    int rc = cfi_init();
    if (rc == 0) {
        /* Prove it on this very call chain: at least our caller must show. */
        __atomic_store_n(&dwarf_ready, 1, __ATOMIC_RELEASE);
        uint64_t pcs[4];
        uint32_t total = 0;
        if (unwind_dwarf(pcs, 4, &total) == 0 && total == 0) {
            __atomic_store_n(&dwarf_ready, 0, __ATOMIC_RELEASE);
            rc = -ENOEXEC;
        }
    }
    internal_work_end();
    return rc;
}
