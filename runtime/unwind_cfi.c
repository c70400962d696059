/*
 * The DWARF unwinder's miss path (unwind_cfi.h): a pc whose rule is not in
 * the cache (unwind_rule_cache.h) takes the one miss lock, asks libdw for
 * the .eh_frame CFI of that pc (dwfl over /proc/self/maps, read without
 * keeping a descriptor by unwind_dwarf_files.c, dwfl_module_eh_cfi,
 * dwarf_cfi_addrframe, dwarf_frame_cfa/register), reduces it to the
 * compact form (unwind_rules.h) with a small symbolic evaluator of DWARF
 * expressions (so the PLT's CFA expression and stack-realignment
 * DW_OP_deref rules fit), and publishes it. Also: forgetting the rules of
 * unloaded code (override.c's dlclose calls unwind_code_unloaded()) and
 * the miss lock's part of the fork sequence (init.c).
 */
#define _GNU_SOURCE
#include "unwind_cfi.h"

#include "internal.h"
#include "unwind.h"
#include "unwind_dwarf_files.h"
#include "unwind_rule_cache.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* miss_lock serializes every miss, every use of dwfl and dwfl_stale, and
 * every write to the rule cache. */
static pthread_mutex_t miss_lock = PTHREAD_MUTEX_INITIALIZER;
static Dwfl *dwfl;            /* under miss_lock */
static int dwfl_stale;        /* under miss_lock: report the modules again at the next miss */

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

static uint64_t reported_signature; /* under miss_lock */

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

/* How the caller's value of a callee-saved register (rbx, rbp) is found:
 * same, or saved at CFA + *slot_off. -1 when it does not fit. A register
 * no rule mentions is the caller's own (the x86-64 psABI preserves rbx
 * and rbp; libgcc's unwinder reads it so): libdw reports it "undefined"
 * where the ABI's initial instructions do not say "same value" (rbx in
 * elfutils 0.188), which lost the caller's rbx in the first instructions
 * of a function called from a frame whose CFA is rbx-based (ld.so's
 * lazy-binding resolver calling _dl_fixup). */
static int saved_reg_rule(Dwarf_Frame *frame, int regno, uint64_t pc, unsigned *how,
                          int64_t *slot_off)
{
    Dwarf_Op mem[3], *ops = NULL;
    size_t nops = 0;
    *slot_off = 0;
    if (dwarf_frame_register(frame, regno, mem, &ops, &nops) != 0)
        return -1;
    if (nops == 0) {
        *how = SAVED_SAME;
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
__attribute__((noinline)) uint64_t rule_miss(uint64_t pc, unsigned exact)
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
        rule_cache_store(key, rule);
    }
    pthread_mutex_unlock(&miss_lock);
    internal_work_end();
    errno = saved_errno;
    memsnap_tls.in_miss = 0;
    return rule;
}

int cfi_init(void)
{
    int rc = 0;
    pthread_mutex_lock(&miss_lock);
    rc = rule_cache_init();
    if (rc == 0 && dwfl == NULL) {
        rc = report_modules();
        if (rc != 0) {
            if (dwfl != NULL)
                dwfl_end(dwfl);
            dwfl = NULL;
        }
    }
    pthread_mutex_unlock(&miss_lock);
    return rc;
}

void unwind_code_unloaded(void)
{
    pthread_mutex_lock(&miss_lock);
    rule_cache_forget();
    dwfl_stale = 1;
    pthread_mutex_unlock(&miss_lock);
}

void unwind_fork_prepare(void)
{
    pthread_mutex_lock(&miss_lock);
}

void unwind_fork_parent(void)
{
    pthread_mutex_unlock(&miss_lock);
}

void unwind_fork_child(void)
{
    pthread_mutex_init(&miss_lock, NULL);
    memsnap_tls.in_miss = 0;
}
