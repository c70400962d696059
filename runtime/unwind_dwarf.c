/*
 * The CFA unwinder (docs/unwinding.md): walks the caller chain of the current thread
 * using compact per-PC unwind rules — CFA = rsp|rbp|rbx + offset (or loaded
 * from there), return address at CFA-8, rbp and rbx either unchanged or saved
 * at CFA+offset — kept in a lock-free, fixed-size cache. A cache miss takes
 * one lock, asks libdw for the .eh_frame CFI of that PC (dwfl over
 * /proc/self/maps, read without keeping a descriptor by
 * unwind_dwarf_files.c, dwfl_module_eh_cfi, dwarf_cfi_addrframe,
 * dwarf_frame_cfa/register), reduces it to the compact form with a small
 * symbolic evaluator of DWARF expressions (so the PLT's CFA expression and
 * stack-realignment `DW_OP_deref` rules fit), and publishes it. A hit takes
 * no lock, makes no call into libc and no syscall. Rules that do not fit the
 * compact form end the walk cleanly; signal frames (__restore_rt) are
 * stepped through the ucontext the kernel pushed. Every load is checked
 * against the stack being walked. The rules of unloaded code are forgotten
 * by bumping a generation that is part of every cache key (dlclose is
 * interposed here for that). docs/unwinding.md describes it for users.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "unwind.h"
#include "unwind_dwarf_files.h"
#include "walk_memo.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ucontext.h>
#include <unistd.h>

#define UNW_LIKELY(x) __builtin_expect(!!(x), 1)
#define UNW_UNLIKELY(x) __builtin_expect(!!(x), 0)

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

/* ---- compact rules: one 64-bit word ---- */

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
enum { SAVED_SAME = 0, SAVED_AT = 1, SAVED_LOST = 2 };

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

static uint64_t rule_make(unsigned kind, unsigned base, unsigned deref, int64_t cfa_off,
                          unsigned rbp_how, int64_t rbp_slot, unsigned rbx_how, int64_t rbx_slot)
{
    return (uint64_t)kind | (uint64_t)base << 3 | (uint64_t)deref << 5 | (uint64_t)rbp_how << 6 |
           (uint64_t)rbx_how << 8 | ((uint64_t)rbp_slot & 0xfffu) << 10 |
           ((uint64_t)rbx_slot & 0xfffu) << 22 | (uint64_t)cfa_off << 35;
}

/* ---- the rule cache ---- */

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

static struct rule_slot *cache;          /* CACHE_SLOTS entries, from pool_map */
static _Atomic uint64_t generation = 1;  /* low 16 bits go into keys */
static int dwarf_ready;                  /* unwind_dwarf_init succeeded */

static inline uint64_t current_tag(void)
{
    return (atomic_load_explicit(&generation, memory_order_relaxed) & 0xffffu) << 48;
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
        struct rule_slot *slot = &cache[(index + probe) & (CACHE_SLOTS - 1)];
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

/* Publishes (key, rule); the caller holds miss_lock. Takes the first empty
 * or stale probe slot, else evicts the first. */
static void cache_store(uint64_t key, uint64_t rule)
{
    uint32_t index = cache_index(key);
    uint64_t gen = key >> 48;
    struct rule_slot *victim = &cache[index & (CACHE_SLOTS - 1)];
    for (unsigned probe = 0; probe < CACHE_PROBES; probe++) {
        struct rule_slot *slot = &cache[(index + probe) & (CACHE_SLOTS - 1)];
        uint64_t seen = atomic_load_explicit(&slot->key, memory_order_relaxed);
        if (seen == 0 || (seen >> 48) != gen) {
            victim = slot;
            break;
        }
    }
    atomic_store_explicit(&victim->key, 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&victim->rule, rule, memory_order_relaxed);
    atomic_store_explicit(&victim->key, key, memory_order_release);
}

/* ---- the miss path: libdw, serialized ---- */

static pthread_mutex_t miss_lock = PTHREAD_MUTEX_INITIALIZER;
static Dwfl *dwfl;
static int dwfl_stale;        /* report the modules again at the next miss */

/* We only need .eh_frame, which is in the loaded file itself: never search
 * for separate debug info (slow, and not needed). */
static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                        const char *file_name, const char *debuglink_file,
                        GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
    (void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
    return -1;
}

static const Dwfl_Callbacks dwfl_callbacks = {
    .find_elf = dwarf_files_find_elf,
    .find_debuginfo = no_debuginfo,
};

/*
 * A cheap signature of the loaded objects: the dynamic linker's list of
 * link maps (count and load addresses), and whether that list is
 * consistent (no dlopen/dlclose half done). Read without the loader's lock:
 * it only decides when to read /proc/self/maps again.
 */
static uint64_t loaded_objects_signature(int *consistent)
{
    uint64_t sig = 0xcbf29ce484222325ULL;
    unsigned count = 0;
    *consistent = __atomic_load_n(&_r_debug.r_state, __ATOMIC_ACQUIRE) == RT_CONSISTENT;
    if (!*consistent)
        return 0; /* a load or unload is under way: the list may be changing */
    for (const struct link_map *m = _r_debug.r_map; m != NULL && count < 100000; m = m->l_next) {
        sig = (sig ^ (uint64_t)m->l_addr) * 0x100000001b3ULL;
        sig = (sig ^ (uint64_t)(uintptr_t)m) * 0x100000001b3ULL;
        count++;
    }
    *consistent = __atomic_load_n(&_r_debug.r_state, __ATOMIC_ACQUIRE) == RT_CONSISTENT;
    return sig ^ count;
}

static uint64_t reported_signature;

/* Forgets every module and reads them again from /proc/self/maps (a fresh
 * Dwfl: libdwfl would otherwise reuse a module record across an unload
 * and a load at the same address). When the loader was mid-update, the
 * next miss reads them again. 0 or -errno. */
static int report_modules(void)
{
    int consistent;
    uint64_t sig = loaded_objects_signature(&consistent);
    if (dwfl != NULL)
        dwfl_end(dwfl);
    dwfl = dwfl_begin(&dwfl_callbacks);
    if (dwfl == NULL)
        return -ENOMEM;
    dwfl_report_begin(dwfl);
    int rc = dwarf_files_report(dwfl);
    if (dwfl_report_end(dwfl, NULL, NULL) != 0 && rc == 0)
        rc = -EIO;
    reported_signature = sig;
    dwfl_stale = !consistent;
    return rc;
}

/* True when objects were loaded or unloaded since the last report. */
static int modules_changed(void)
{
    int consistent;
    uint64_t sig = loaded_objects_signature(&consistent);
    return dwfl == NULL || dwfl_stale || !consistent || sig != reported_signature;
}

/* A value of the symbolic DWARF expression evaluator:
 * (deref ? *(base + inner) : base) + add, base one of SYM_*. */
enum { SYM_CONST, SYM_RSP, SYM_RBP, SYM_RBX, SYM_CFA };
struct sym {
    int base;
    int deref;
    int64_t inner;
    int64_t add;
};

static int sym_of_dwarf_reg(uint64_t regno, uint64_t pc, struct sym *out)
{
    *out = (struct sym){SYM_CONST, 0, 0, 0};
    switch (regno) {
    case 3: out->base = SYM_RBX; return 0;
    case 6: out->base = SYM_RBP; return 0;
    case 7: out->base = SYM_RSP; return 0;
    case 16: out->add = (int64_t)pc; return 0; /* rip: known for this key */
    default: return -1;
    }
}

/*
 * Evaluates a DWARF expression whose only unknowns are rsp, rbp, rbx (and
 * the CFA when `cfa_known`), with rip = pc. Constants fold; a register may
 * be offset and dereferenced once. *is_value is set when the expression
 * ends with DW_OP_stack_value. 0, or -1 when it does not fit.
 */
static int sym_eval(const Dwarf_Op *ops, size_t nops, uint64_t pc, int cfa_known,
                    struct sym *result, int *is_value)
{
    struct sym stack[8];
    unsigned depth = 0;
    *is_value = 0;
    for (size_t i = 0; i < nops; i++) {
        const Dwarf_Op *op = &ops[i];
        uint8_t atom = op->atom;
        struct sym a, b;
        if (atom >= DW_OP_lit0 && atom <= DW_OP_lit31) {
            if (depth == 8)
                return -1;
            stack[depth++] = (struct sym){SYM_CONST, 0, 0, atom - DW_OP_lit0};
            continue;
        }
        if ((atom >= DW_OP_breg0 && atom <= DW_OP_breg31) || atom == DW_OP_bregx) {
            uint64_t regno = atom == DW_OP_bregx ? op->number : (uint64_t)(atom - DW_OP_breg0);
            int64_t off = (int64_t)(atom == DW_OP_bregx ? op->number2 : op->number);
            if (depth == 8 || sym_of_dwarf_reg(regno, pc, &a) != 0)
                return -1;
            a.add += off;
            stack[depth++] = a;
            continue;
        }
        switch (atom) {
        case DW_OP_const1u: case DW_OP_const2u: case DW_OP_const4u: case DW_OP_const8u:
        case DW_OP_const1s: case DW_OP_const2s: case DW_OP_const4s: case DW_OP_const8s:
        case DW_OP_constu: case DW_OP_consts:
            if (depth == 8)
                return -1;
            stack[depth++] = (struct sym){SYM_CONST, 0, 0, (int64_t)op->number};
            break;
        case DW_OP_call_frame_cfa:
            if (depth == 8 || !cfa_known)
                return -1;
            stack[depth++] = (struct sym){SYM_CFA, 0, 0, 0};
            break;
        case DW_OP_plus_uconst:
            if (depth < 1)
                return -1;
            stack[depth - 1].add += (int64_t)op->number;
            break;
        case DW_OP_dup:
            if (depth < 1 || depth == 8)
                return -1;
            stack[depth] = stack[depth - 1];
            depth++;
            break;
        case DW_OP_deref:
            if (depth < 1 || stack[depth - 1].base == SYM_CONST || stack[depth - 1].deref)
                return -1;
            a = stack[depth - 1];
            stack[depth - 1] = (struct sym){a.base, 1, a.add, 0};
            break;
        case DW_OP_stack_value:
            if (i + 1 != nops)
                return -1;
            *is_value = 1;
            break;
        case DW_OP_plus: case DW_OP_minus: case DW_OP_and: case DW_OP_or: case DW_OP_xor:
        case DW_OP_shl: case DW_OP_shr: case DW_OP_mul:
        case DW_OP_ge: case DW_OP_gt: case DW_OP_le: case DW_OP_lt: case DW_OP_eq: case DW_OP_ne:
            if (depth < 2)
                return -1;
            b = stack[--depth];
            a = stack[--depth];
            if (atom == DW_OP_plus && (a.base == SYM_CONST || b.base == SYM_CONST)) {
                struct sym reg = a.base == SYM_CONST ? b : a;
                reg.add += a.base == SYM_CONST ? a.add : b.add;
                stack[depth++] = reg;
                break;
            }
            if (atom == DW_OP_minus && b.base == SYM_CONST) {
                a.add -= b.add;
                stack[depth++] = a;
                break;
            }
            if (a.base != SYM_CONST || b.base != SYM_CONST)
                return -1;
            {
                uint64_t x = (uint64_t)a.add, y = (uint64_t)b.add, r;
                int64_t sx = a.add, sy = b.add;
                switch (atom) {
                case DW_OP_plus: r = x + y; break;
                case DW_OP_minus: r = x - y; break;
                case DW_OP_and: r = x & y; break;
                case DW_OP_or: r = x | y; break;
                case DW_OP_xor: r = x ^ y; break;
                case DW_OP_shl: r = y >= 64 ? 0 : x << y; break;
                case DW_OP_shr: r = y >= 64 ? 0 : x >> y; break;
                case DW_OP_mul: r = x * y; break;
                case DW_OP_ge: r = sx >= sy; break;
                case DW_OP_gt: r = sx > sy; break;
                case DW_OP_le: r = sx <= sy; break;
                case DW_OP_lt: r = sx < sy; break;
                case DW_OP_eq: r = sx == sy; break;
                default: r = sx != sy; break;
                }
                stack[depth++] = (struct sym){SYM_CONST, 0, 0, (int64_t)r};
            }
            break;
        default:
            return -1;
        }
    }
    if (depth != 1)
        return -1;
    *result = stack[0];
    return 0;
}

/* How the caller's value of a callee-saved register is found: same,
 * lost, or saved at CFA + *slot_off. -1 when it does not fit. */
static int saved_reg_rule(Dwarf_Frame *frame, int regno, uint64_t pc, unsigned *how,
                          int64_t *slot_off)
{
    Dwarf_Op mem[3], *ops = NULL;
    size_t nops = 0;
    *slot_off = 0;
    if (dwarf_frame_register(frame, regno, mem, &ops, &nops) != 0)
        return -1;
    if (nops == 0) {
        *how = ops == NULL ? SAVED_SAME : SAVED_LOST;
        return 0;
    }
    struct sym where;
    int is_value;
    if (sym_eval(ops, nops, pc, 1, &where, &is_value) != 0 || is_value || where.base != SYM_CFA ||
        where.deref || where.add % 8 != 0 || where.add / 8 < SLOT12_MIN || where.add / 8 > SLOT12_MAX)
        return -1;
    *how = SAVED_AT;
    *slot_off = where.add / 8;
    return 0;
}

/* The compact rule of `pc` (a return address, or an exact pc), from the
 * module's CFI. Called under miss_lock. */
static uint64_t compute_rule(uint64_t pc, unsigned exact)
{
    uint64_t stop = rule_make(RULE_STOP, 0, 0, 0, 0, 0, 0, 0);
    uint64_t where = exact ? pc : pc - 1;
    if (modules_changed() && report_modules() != 0)
        return stop;
    Dwfl_Module *mod = dwfl_addrmodule(dwfl, where);
    if (mod == NULL)
        return stop;
    Dwarf_Addr bias = 0;
    Dwarf_CFI *cfi = dwfl_module_eh_cfi(mod, &bias);
    Dwarf_Frame *frame = NULL;
    if (cfi == NULL || dwarf_cfi_addrframe(cfi, where - bias, &frame) != 0) {
        cfi = dwfl_module_dwarf_cfi(mod, &bias);
        if (cfi == NULL || dwarf_cfi_addrframe(cfi, where - bias, &frame) != 0)
            return stop;
    }
    uint64_t rule = stop;
    bool signal_frame = false;
    int ra_reg = dwarf_frame_info(frame, NULL, NULL, &signal_frame);
    if (signal_frame) {
        rule = rule_make(RULE_SIGNAL, 0, 0, 0, 0, 0, 0, 0);
        goto out;
    }
    if (ra_reg != 16)
        goto out;

    /* The return address: undefined marks the outermost frame. */
    Dwarf_Op mem[3], *ops = NULL;
    size_t nops = 0;
    if (dwarf_frame_register(frame, ra_reg, mem, &ops, &nops) != 0)
        goto out;
    if (nops == 0) {
        if (ops != NULL)
            rule = rule_make(RULE_END, 0, 0, 0, 0, 0, 0, 0);
        goto out;
    }

    /* CFA: base register + offset, possibly loaded from there. The CFA
     * expression is evaluated with rip = the actual pc (PLT entries). */
    Dwarf_Op *cfa_ops = NULL;
    size_t cfa_nops = 0;
    struct sym cfa;
    int is_value;
    if (dwarf_frame_cfa(frame, &cfa_ops, &cfa_nops) != 0 || cfa_nops == 0 ||
        sym_eval(cfa_ops, cfa_nops, pc, 0, &cfa, &is_value) != 0)
        goto out;
    if (cfa.base == SYM_CONST || cfa.base == SYM_CFA || (cfa.deref && cfa.add != 0))
        goto out;
    int64_t cfa_off = cfa.deref ? cfa.inner : cfa.add;
    if (cfa_off < CFA_OFF_MIN || cfa_off > CFA_OFF_MAX)
        goto out;
    unsigned base = cfa.base == SYM_RSP ? BASE_RSP : cfa.base == SYM_RBP ? BASE_RBP : BASE_RBX;

    /* The return address must be saved at CFA-8. */
    struct sym ra;
    if (sym_eval(ops, nops, pc, 1, &ra, &is_value) != 0 || is_value || ra.base != SYM_CFA ||
        ra.deref || ra.add != -8)
        goto out;

    /* The caller's rsp must be the CFA (the x86-64 ABI's default). */
    if (dwarf_frame_register(frame, 7, mem, &ops, &nops) != 0)
        goto out;
    if (nops != 0) {
        struct sym sp;
        if (sym_eval(ops, nops, pc, 1, &sp, &is_value) != 0 || !is_value || sp.base != SYM_CFA ||
            sp.deref || sp.add != 0)
            goto out;
    }

    unsigned rbp_how, rbx_how;
    int64_t rbp_slot, rbx_slot;
    if (saved_reg_rule(frame, 6, pc, &rbp_how, &rbp_slot) != 0 ||
        saved_reg_rule(frame, 3, pc, &rbx_how, &rbx_slot) != 0)
        goto out;
    rule = rule_make(RULE_STEP, base, (unsigned)cfa.deref, cfa_off, rbp_how, rbp_slot, rbx_how,
                     rbx_slot);
out:
    free(frame);
    return rule;
}

/* Cache miss: computes and caches the rule of (pc, exact). Returns a STOP
 * rule, uncached, when called re-entrantly (a signal handler interrupting
 * this thread's own miss). */
static __attribute__((noinline)) uint64_t rule_miss(uint64_t pc, unsigned exact)
{
    if (memsnap_tls.in_miss)
        return rule_make(RULE_STOP, 0, 0, 0, 0, 0, 0, 0) |
               (runtime_owns_pc(pc) ? RULE_RUNTIME_BIT : 0);
    memsnap_tls.in_miss = 1;
    int saved_errno = errno; /* libdw's failed calls must not show to the program */
    internal_work_begin(); /* libdw's allocations are the runtime's: internal heap */
    pthread_mutex_lock(&miss_lock);
    uint64_t key = cache_key(pc, exact, current_tag());
    uint64_t rule = cache_find(key);
    if (rule == RULE_NONE) {
        rule = compute_rule(pc, exact);
        if (runtime_owns_pc(pc))
            rule |= RULE_RUNTIME_BIT;
        cache_store(key, rule);
    }
    pthread_mutex_unlock(&miss_lock);
    internal_work_end();
    errno = saved_errno;
    memsnap_tls.in_miss = 0;
    return rule;
}

/* ---- forgetting unloaded code ---- */

/* Called after code was unmapped: every cached rule becomes stale. */
static void forget_modules(void)
{
    pthread_mutex_lock(&miss_lock);
    uint64_t gen = atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel) + 1;
    if ((gen & 0xffffu) == 0) {
        /* The 16-bit tag wrapped: old keys could match again. */
        for (unsigned i = 0; i < CACHE_SLOTS; i++)
            atomic_store_explicit(&cache[i].key, 0, memory_order_relaxed);
        atomic_store_explicit(&generation, gen + 1, memory_order_release);
    }
    dwfl_stale = 1;
    pthread_mutex_unlock(&miss_lock);
}

static int (*real_dlclose)(void *);

/* Interposed: once a library is unloaded its address range may receive
 * other code, so its rules go. */
__attribute__((visibility("default"))) int dlclose(void *handle)
{
    if (real_dlclose == NULL) {
        real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
        if (real_dlclose == NULL)
            return -1;
    }
    int rc = real_dlclose(handle);
    if (dwarf_ready)
        forget_modules();
    return rc;
}

/* fork: the child must not inherit miss_lock held by another thread. */
static void fork_prepare(void) { pthread_mutex_lock(&miss_lock); }
static void fork_parent(void) { pthread_mutex_unlock(&miss_lock); }
static void fork_child(void)
{
    pthread_mutex_init(&miss_lock, NULL);
    memsnap_tls.in_miss = 0;
}

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

/* Frames walked at most (bounds the walk of a runaway recursion). */
#define WALK_LIMIT 65536u

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

/* The rule of (pc, exact): from the thread's rule memo (ws, may be NULL;
 * emptied when the generation changes), else the shared cache, else a
 * miss. */
static inline uint64_t rule_of(struct walk_state *ws, uint64_t pc, uint64_t exact, uint64_t tag)
{
    uint64_t *slot = NULL;
    if (UNW_LIKELY(ws != NULL)) {
        slot = ws->rule_memo[(pc ^ (pc >> 11)) & (RULE_MEMO_SLOTS - 1)];
        if (UNW_LIKELY(slot[0] == (pc | exact)))
            return slot[1];
    }
    uint64_t rule = cache_find((pc & KEY_PC_MASK) | exact | tag);
    if (UNW_UNLIKELY(rule == RULE_NONE))
        rule = rule_miss(pc, exact != 0);
    if (slot && !(pc & ~KEY_PC_MASK)) {
        slot[0] = pc | exact;
        slot[1] = rule;
    }
    return rule;
}

/* Empties the thread's rule memo when code was unloaded since it was
 * filled (its keys carry no generation). */
static inline void rule_memo_check(struct walk_state *ws, uint64_t generation_now)
{
    if (UNW_UNLIKELY(ws->rule_memo_generation != generation_now)) {
        memset(ws->rule_memo, 0, sizeof ws->rule_memo);
        ws->rule_memo_generation = generation_now;
    }
}

/* The registers of the frame being stepped from, where rbp and rbx came
 * from (walk_memo.h), and the stack being walked. */
struct walk_regs {
    uint64_t pc, sp, bp, bx, lo, hi, exact;
    int bp_from, bx_from;
};

/* The caller's value of a callee-saved register by its rule: reloaded
 * from CFA + off (SAVED_AT; logged, deciding nothing yet), unknown
 * (SAVED_LOST: 0) or unchanged. -1 when the slot is outside the stack. */
static inline int reload(unsigned how, int64_t off, uint64_t cfa, uint64_t lo, uint64_t hi,
                         uint64_t *reg, int *from, struct walk_log *log)
{
    if (how == SAVED_AT) {
        uint64_t at = cfa + (uint64_t)off;
        if (!load_ok(at, lo, hi))
            return -1;
        *reg = *(const uint64_t *)at;
        if (log)
            *from = log_word(log, at, *reg, 0);
    } else if (how == SAVED_LOST) {
        *reg = 0;
        if (log)
            *from = FROM_NOWHERE;
    }
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

/* One step by any other rule than the walk's inline case: a STEP with a
 * CFA based on rbp or rbx or loaded from the stack, saved registers, or a
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
    if (reload(RULE_RBP_HOW(rule), RULE_RBP_OFF(rule), cfa, w->lo, w->hi, &w->bp, &w->bp_from, log) ||
        reload(RULE_RBX_HOW(rule), RULE_RBX_OFF(rule), cfa, w->lo, w->hi, &w->bx, &w->bx_from, log))
        return -1;
    w->pc = ra;
    w->sp = cfa;
    w->exact = 0;
    return 0;
}

/* Rules the walk takes inline: a STEP whose CFA is rsp + offset (the
 * commonest in code without frame pointers) or rbp + 16 (a frame-pointer
 * frame), not loaded from the stack, rbp and rbx unchanged, saved at
 * CFA + offset or lost. */
#define RULE_KIND_BASE_DEREF 0x3full
#define RULE_RSP_STEP ((uint64_t)RULE_STEP)
#define RULE_RBP_STEP ((uint64_t)RULE_STEP | (uint64_t)BASE_RBP << 3)
#define RULE_CFA_OFF_16 ((uint64_t)16 << 35)
#define RULE_SAVED_BITS (0xfull << 6) /* rbp's and rbx's "how" */

/*
 * The walk, from the registers in *w: stores at most `max` return
 * addresses into pcs and the depth into *total (MEMSNAP_TOTAL_UNKNOWN when
 * it stopped at max with more to come); logs what decided it when log !=
 * NULL. One body, inlined twice: with and without a log. Its registers are
 * locals, spilled to *w only for the out-of-line steps.
 */
static inline __attribute__((always_inline)) unsigned
walk(struct walk_regs *w, struct walk_state *ws, const struct stack_bounds *thread,
     uint64_t *pcs, unsigned max, uint32_t *total, struct walk_log *log)
{
    const uint64_t tag = current_tag();
    if (ws)
        rule_memo_check(ws, atomic_load_explicit(&generation, memory_order_relaxed));
    uint64_t pc = w->pc, sp = w->sp, bp = w->bp, bx = w->bx, lo = w->lo, hi = w->hi, exact = 0;
    int bp_from = w->bp_from, bx_from = w->bx_from;
    unsigned depth = 0;
    for (unsigned steps = 0; pc != 0 && steps < WALK_LIMIT; steps++) {
        uint64_t rule = rule_of(ws, pc, exact, tag);
        if (UNW_LIKELY(!(rule & RULE_RUNTIME_BIT))) {
            if (depth == max) {
                *total = MEMSNAP_TOTAL_UNKNOWN; /* more to come: not walked */
                return max;
            }
            pcs[depth++] = exact ? pc + 1 : pc;
        }
        uint64_t cfa;
        if (UNW_LIKELY((rule & RULE_KIND_BASE_DEREF) == RULE_RSP_STEP)) {
            cfa = sp + (uint64_t)RULE_CFA_OFF(rule);
        } else if ((rule & (RULE_KIND_BASE_DEREF | (0x1fffffffull << 35))) ==
                   (RULE_RBP_STEP | RULE_CFA_OFF_16)) {
            cfa = bp + 16;
            if (log)
                log_base_use(log, bp_from, &log->uses_bp);
        } else {
            *w = (struct walk_regs){pc, sp, bp, bx, lo, hi, exact, bp_from, bx_from};
            if (step_other(rule, w, thread, log) != 0)
                break;
            pc = w->pc, sp = w->sp, bp = w->bp, bx = w->bx, lo = w->lo, hi = w->hi;
            exact = w->exact, bp_from = w->bp_from, bx_from = w->bx_from;
            continue;
        }
        /* the caller's frame lies above this one, in the stack, 8-aligned:
         * then the return address at cfa - 8 does too (sp >= lo + 8) */
        if (cfa <= sp || cfa > hi || (cfa & 7u))
            break;
        if (rule & RULE_SAVED_BITS) {
            if (reload(RULE_RBP_HOW(rule), RULE_RBP_OFF(rule), cfa, lo, hi, &bp, &bp_from, log) ||
                reload(RULE_RBX_HOW(rule), RULE_RBX_OFF(rule), cfa, lo, hi, &bx, &bx_from, log))
                break;
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
    if (!log)
        return walk(&w, ws, &thread, pcs, max, total, NULL);
    if (w.lo != thread.lo)
        log->usable = 0; /* on the alternate signal stack */
    return walk(&w, ws, &thread, pcs, max, total, log);
}

unsigned unwind_dwarf(uint64_t *pcs, unsigned max, uint32_t *total)
{
    struct walk_start start;
    memsnap_unwind_capture(&start);
    return unwind_dwarf_walk(&start, NULL, pcs, max, total, NULL);
}

uint64_t unwind_dwarf_generation(void)
{
    return atomic_load_explicit(&generation, memory_order_relaxed);
}

/* ---- start-up ---- */

int unwind_dwarf_init(void)
{
    if (dwarf_ready)
        return 0;
    internal_work_begin(); /* libdw's allocations are the runtime's: internal heap */
    int rc = 0;
    pthread_mutex_lock(&miss_lock);
    if (cache == NULL) {
        /* From the runtime's pool: counted in root.runtime_bytes and listed
         * in root.mappings like the rest of the runtime's memory. */
        uint64_t bytes = sizeof(struct memsnap_mapping) + CACHE_SLOTS * sizeof(struct rule_slot);
        struct memsnap_mapping *mapping = pool_map(MEMSNAP_MAP_MISC, bytes);
        if (mapping == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        mapping->used = bytes;
        cache = (struct rule_slot *)(mapping + 1);
    }
    if (dwfl == NULL) {
        rc = report_modules();
        if (rc != 0) {
            if (dwfl != NULL)
                dwfl_end(dwfl);
            dwfl = NULL;
            goto out;
        }
    }
    if (real_dlclose == NULL)
        real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    static int atfork_done;
    if (!atfork_done) {
        rc = -pthread_atfork(fork_prepare, fork_parent, fork_child);
        if (rc != 0)
            goto out;
        atfork_done = 1;
    }
out:
    pthread_mutex_unlock(&miss_lock);
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
