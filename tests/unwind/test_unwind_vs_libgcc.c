/*
 * Checks the DWARF unwinder (runtime/unwind_dwarf.c, built with the test
 * harness) against libgcc's own unwinder, _Unwind_Backtrace, in the same
 * process at the same points: deep call chains built -O2 without frame
 * pointers, a qsort comparator (frames inside libc), a large stack frame,
 * alloca, stack realignment, a signal handler on the thread's stack and on
 * an alternate stack, a signal that lands inside a PLT stub, threads, a
 * fork child, and a recursion deeper than the frame limit. Every return
 * address must match libgcc's, frame by frame, and the total depth must be
 * the same (or unknown, past the limit); at each probe the walk is made
 * twice, once without and once through the thread's rule memo (as the
 * runtime's hooks walk), and both must match. Exit status 0 when all cases
 * pass.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unwind.h>

#include "memsnap/layout.h"
#include "unwind.h"

int harness_init(void);
void harness_nop(void);
unsigned harness_walk_rule_memo(uint64_t *pcs, unsigned max, uint32_t *total);

#define MAXF 64

struct gcc_trace {
    uint64_t pcs[512];
    unsigned n;
};

static _Unwind_Reason_Code collect(struct _Unwind_Context *ctx, void *arg)
{
    struct gcc_trace *t = arg;
    int before = 0;
    uint64_t ip = _Unwind_GetIPInfo(ctx, &before);
    if (ip == 0)
        return _URC_END_OF_STACK;
    if (runtime_owns_pc(ip)) /* the unwinder skips "the runtime's" frames */
        return _URC_NO_REASON;
    if (t->n < 512)
        t->pcs[t->n++] = ip + (before ? 1 : 0);
    return _URC_NO_REASON;
}

static int failures;
static int checks;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

/* Unwinds here with `walk` and libgcc's unwinder and compares. Frame 0
 * differs by construction (the two calls return to different places in
 * probe). Frames in the harness library stand for the runtime's: both
 * skip them. */
static __attribute__((noinline)) void probe_with(const char *what, const char *how,
                                                 unsigned (*walk)(uint64_t *, unsigned,
                                                                  uint32_t *))
{
    uint64_t ours[MAXF];
    uint32_t total = 0;
    unsigned n = walk(ours, MAXF, &total);
    struct gcc_trace g = {.n = 0};
    _Unwind_Backtrace(collect, &g);
    int bad = 0;
    char why[200] = "";
    if (n == 0 || g.n == 0) {
        bad = 1;
        snprintf(why, sizeof why, "empty: ours %u, libgcc %u", n, g.n);
    } else if (total != (g.n > MAXF ? MEMSNAP_TOTAL_UNKNOWN : g.n)) {
        /* past the limit the walk stops: the depth is unknown */
        bad = 1;
        snprintf(why, sizeof why, "total depth: ours %u, libgcc %u", total, g.n);
    } else {
        unsigned want = g.n < MAXF ? g.n : MAXF;
        if (n != want) {
            bad = 1;
            snprintf(why, sizeof why, "stored %u, expected %u", n, want);
        }
        for (unsigned i = 1; !bad && i < n; i++)
            if (ours[i] != g.pcs[i]) {
                bad = 1;
                snprintf(why, sizeof why, "frame %u: ours %#lx, libgcc %#lx", i,
                         (unsigned long)ours[i], (unsigned long)g.pcs[i]);
            }
    }
    pthread_mutex_lock(&report_lock);
    checks++;
    if (bad) {
        failures++;
        printf("FAIL %s%s: %s\n", what, how, why);
        for (unsigned i = 0; i < (n > g.n ? n : g.n) && i < MAXF; i++)
            printf("   %2u ours %#14lx  libgcc %#14lx\n", i, i < n ? (unsigned long)ours[i] : 0UL,
                   i < g.n ? (unsigned long)g.pcs[i] : 0UL);
    } else {
        printf("ok   %s%s (%u frames, %u stored)\n", what, how, g.n, n);
    }
    pthread_mutex_unlock(&report_lock);
}

static __attribute__((noinline)) void probe(const char *what)
{
    probe_with(what, "", unwind_dwarf);
    probe_with(what, ", rule memo", harness_walk_rule_memo);
}

/* ---- a rule that does not fit the compact form ---- */

/*
 * odd_frame(fn) calls fn with its own return address described by CFI as
 * being in rbx (DW_CFA_register), not at CFA-8. libgcc follows it; the
 * DWARF unwinder must record odd_frame's frame and stop there, cleanly.
 */
void odd_frame(void (*fn)(void));
extern const char odd_frame_end[];
__asm__(".text\n"
        ".globl odd_frame\n"
        ".type odd_frame, @function\n"
        "odd_frame:\n"
        ".cfi_startproc\n"
        "    pushq %rbx\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_offset rbx, -16\n"
        "    movq 8(%rsp), %rbx\n"
        ".cfi_register rip, rbx\n"
        "    call *%rdi\n"
        "    popq %rbx\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore rbx\n"
        ".cfi_offset rip, -8\n"
        "    ret\n"
        ".cfi_endproc\n"
        ".globl odd_frame_end\n"
        "odd_frame_end:\n"
        ".size odd_frame, .-odd_frame\n");

static __attribute__((noinline)) void probe_clean_stop(void)
{
    uint64_t ours[MAXF];
    uint32_t total = 0;
    unsigned n = unwind_dwarf(ours, MAXF, &total);
    struct gcc_trace g = {.n = 0};
    _Unwind_Backtrace(collect, &g);
    int ok = n >= 2 && n == total && n < g.n &&
             g.pcs[n - 1] > (uint64_t)odd_frame && g.pcs[n - 1] <= (uint64_t)odd_frame_end;
    for (unsigned i = 1; ok && i < n; i++)
        ok = ours[i] == g.pcs[i];
    checks++;
    if (!ok) {
        failures++;
        printf("FAIL a rule outside the compact form: ours %u of %u frames, libgcc %u\n", n,
               total, g.n);
    } else {
        printf("ok   a rule outside the compact form: clean stop after %u of libgcc's %u frames\n",
               n, g.n);
    }
}

/* ---- a caller whose CFA is rbx-based, below a callee that leaves rbx alone ---- */

/*
 * rbx_cfa_frame(fn) realigns the stack and describes its CFA through rbx,
 * as ld.so's lazy-binding resolver does; keeps_rbx (no CFI for rbx: it
 * never touches it) calls probe_under_rbx_frame. The caller's rbx is the
 * one the callee still has: a walk that took an unmentioned rbx as lost
 * stopped at rbx_cfa_frame (seen with a signal at _dl_fixup+2).
 */
void rbx_cfa_frame(void (*fn)(void));
void keeps_rbx(void);
__attribute__((noinline)) void probe_under_rbx_frame(void)
{
    probe("a caller whose CFA is rbx-based, below a callee that leaves rbx alone");
    __asm__ volatile("" ::: "memory");
}
__asm__(".text\n"
        ".globl rbx_cfa_frame\n"
        ".type rbx_cfa_frame, @function\n"
        "rbx_cfa_frame:\n"
        ".cfi_startproc\n"
        "    pushq %rbx\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_offset rbx, -16\n"
        "    movq %rsp, %rbx\n"
        ".cfi_def_cfa_register rbx\n"
        "    andq $-64, %rsp\n"
        "    call *%rdi\n"
        "    movq %rbx, %rsp\n"
        ".cfi_def_cfa_register rsp\n"
        "    popq %rbx\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore rbx\n"
        "    ret\n"
        ".cfi_endproc\n"
        ".size rbx_cfa_frame, .-rbx_cfa_frame\n"
        ".globl keeps_rbx\n"
        ".type keeps_rbx, @function\n"
        "keeps_rbx:\n"
        ".cfi_startproc\n"
        "    subq $8, %rsp\n"
        ".cfi_adjust_cfa_offset 8\n"
        "    call probe_under_rbx_frame\n"
        "    addq $8, %rsp\n"
        ".cfi_adjust_cfa_offset -8\n"
        "    ret\n"
        ".cfi_endproc\n"
        ".size keeps_rbx, .-keeps_rbx\n");

/* A chain of distinct functions, so that every frame has its own rule. */
#define LEVEL(name, next)                                                     \
    static __attribute__((noinline)) int name(const char *w, int k)           \
    {                                                                         \
        volatile int pad[3] = {k, k + 1, k + 2};                              \
        int r = next(w, k + pad[1]);                                          \
        return r + pad[0];                                                    \
    }
static __attribute__((noinline)) int leaf(const char *w, int k)
{
    probe(w);
    return k;
}
LEVEL(chain1, leaf)
LEVEL(chain2, chain1)
LEVEL(chain3, chain2)
LEVEL(chain4, chain3)
LEVEL(chain5, chain4)
LEVEL(chain6, chain5)
LEVEL(chain7, chain6)
LEVEL(chain8, chain7)

static const char *cmp_label;
static int compare_ints(const void *a, const void *b)
{
    static int once;
    if (!once++)
        probe(cmp_label);
    return *(const int *)a - *(const int *)b;
}

static __attribute__((noinline)) int big_frame(const char *w, int k)
{
    volatile char buf[70000];
    buf[k] = 1;
    leaf(w, k);
    return buf[k];
}

static __attribute__((noinline)) int with_alloca(const char *w, int k)
{
    volatile char *p = alloca(k * 64 + 16);
    p[0] = 1;
    leaf(w, k);
    return p[0];
}

static __attribute__((noinline, force_align_arg_pointer)) int realigned(const char *w, int k)
{
    volatile double v __attribute__((aligned(64))) = k;
    leaf(w, k);
    return (int)v;
}

static __attribute__((noinline)) int recurse(const char *w, int k)
{
    volatile int pad = k;
    if (k == 0) {
        probe(w);
        return 0;
    }
    int r = recurse(w, k - 1);
    return r + pad;
}

static void on_signal(int sig)
{
    (void)sig;
    chain3("signal handler", 1);
}

static __attribute__((noinline)) void raise_it(int sig)
{
    raise(sig);
}

/* ---- a signal inside a PLT stub ---- */

/* [lo, hi) of this executable's .plt and .plt.sec (with -fcf-protection
 * the calls go through .plt.sec), read from its section headers. */
static uint64_t plt_lo[2], plt_hi[2];
static const char *const plt_names[2] = {".plt", ".plt.sec"};

static int find_plt(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    if (fd < 0)
        return -1;
    Elf64_Ehdr eh;
    Elf64_Shdr sh[128];
    int rc = -1;
    if (pread(fd, &eh, sizeof eh, 0) == sizeof eh && eh.e_shnum <= 128 &&
        pread(fd, sh, eh.e_shnum * sizeof sh[0], eh.e_shoff) == (ssize_t)(eh.e_shnum * sizeof sh[0])) {
        char names[4096] = "";
        Elf64_Shdr *strs = &sh[eh.e_shstrndx];
        size_t n = strs->sh_size < sizeof names - 1 ? strs->sh_size : sizeof names - 1;
        if (pread(fd, names, n, strs->sh_offset) == (ssize_t)n) {
            extern char __executable_start[];
            for (int i = 0; i < eh.e_shnum; i++)
                for (int k = 0; k < 2; k++)
                    if (sh[i].sh_name < n && strcmp(names + sh[i].sh_name, plt_names[k]) == 0) {
                        /* PIE: the file's vaddr 0 is where the image starts. */
                        plt_lo[k] = (uint64_t)__executable_start + sh[i].sh_addr;
                        plt_hi[k] = plt_lo[k] + sh[i].sh_size;
                        rc = 0;
                    }
        }
    }
    close(fd);
    return rc;
}

/* Index of the PLT section holding rip, or -1. */
static int plt_section_of(uint64_t rip)
{
    for (int k = 0; k < 2; k++)
        if (rip >= plt_lo[k] && rip < plt_hi[k])
            return k;
    return -1;
}

static volatile int plt_caught;
static volatile int plt_stop;
static volatile int anywhere_probes;

/* Interrupts the spinner: the first 16 times wherever it is (prologues,
 * epilogues, the PLT, and with LD_BIND_NOT=1 the lazy-binding resolver),
 * then until it is caught inside the PLT. */
static void on_plt_signal(int sig, siginfo_t *info, void *uc_arg)
{
    (void)sig, (void)info;
    ucontext_t *uc = uc_arg;
    uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    if (anywhere_probes < 16) {
        anywhere_probes++;
        Dl_info where;
        char label[160];
        int found = dladdr((void *)rip, &where);
        if (found && where.dli_sname)
            snprintf(label, sizeof label, "signal at %s+%#lx", where.dli_sname,
                     (unsigned long)(rip - (uint64_t)where.dli_saddr));
        else if (found && where.dli_fname)
            snprintf(label, sizeof label, "signal at %s+%#lx", where.dli_fname,
                     (unsigned long)(rip - (uint64_t)where.dli_fbase));
        else
            snprintf(label, sizeof label, "signal at %#lx", (unsigned long)rip);
        probe(label);
    }
    int k = plt_section_of(rip);
    if (!plt_caught && k >= 0) {
        plt_caught = 1;
        char label[64];
        snprintf(label, sizeof label, "signal inside the PLT (at %s+%#lx)", plt_names[k],
                 (unsigned long)(rip - plt_lo[k]));
        probe(label);
    }
    if (plt_caught && anywhere_probes >= 16)
        plt_stop = 1;
}

static void *plt_spinner(void *arg)
{
    (void)arg;
    while (!plt_stop)
        harness_nop();
    return NULL;
}

static void case_plt(void)
{
    if (find_plt() != 0) {
        printf("FAIL no .plt found\n");
        failures++;
        return;
    }
    struct sigaction sa = {.sa_sigaction = on_plt_signal, .sa_flags = SA_SIGINFO};
    sigaction(SIGPROF, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, plt_spinner, NULL);
    for (int i = 0; i < 200000 && !plt_stop; i++) {
        pthread_kill(t, SIGPROF);
        if (i % 64 == 0)
            sched_yield();
    }
    plt_stop = 1;
    pthread_join(t, NULL);
    if (!plt_caught)
        printf("skip signal inside the PLT: never caught a thread there\n");
}

static void *thread_main(void *arg)
{
    chain5(arg, 2);
    return NULL;
}

int main(void)
{
    int rc = harness_init();
    if (rc != 0) {
        printf("FAIL unwind_dwarf_init: %d\n", rc);
        return 1;
    }
    chain8("deep chain", 1);
    chain8("deep chain (warm)", 1);

    int v[] = {5, 3, 9, 1, 7};
    cmp_label = "qsort comparator";
    qsort(v, 5, sizeof v[0], compare_ints);

    big_frame("70 KB stack frame", 3);
    with_alloca("alloca", 5);
    realigned("stack realignment", 2);
    recurse("recursion past the limit", 150);

    signal(SIGUSR1, on_signal);
    raise_it(SIGUSR1);

    stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16};
    sigaltstack(&ss, NULL);
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_ONSTACK};
    sigaction(SIGUSR2, &sa, NULL);
    raise_it(SIGUSR2);

    pthread_t t[2];
    pthread_create(&t[0], NULL, thread_main, "thread 1");
    pthread_create(&t[1], NULL, thread_main, "thread 2");
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);

    case_plt();
    odd_frame(probe_clean_stop);
    rbx_cfa_frame(keeps_rbx);

    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        failures = 0;
        chain4("fork child", 1);
        fflush(stdout);
        _exit(failures ? 1 : 0);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        printf("FAIL fork child\n");
        failures++;
    }

    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
