/*
 * Attaching to a process started without the runtime (`memtrace start` in
 * memsnap-gdb -p / memsnap-lldb -p, docs/production.md): the debugger has
 * the process dlopen() this library and calls memsnap_attach(). The
 * runtime was not preloaded, so the program's calls still go to libc's
 * malloc; memsnap_attach() redirects them by rewriting the import slots
 * (GOT entries: R_X86_64_JUMP_SLOT and R_X86_64_GLOB_DAT relocations) of
 * every loaded module whose symbol this library defines (the hooks of
 * override.c, dlclose) to this library's definitions, and does the same
 * for `dlopen`, whose replacement rewrites the modules a later dlopen
 * brings in. Pointers the loader stored in a module's writable data
 * (R_X86_64_64: `void (*xfree)(void *) = free;`, as libxml2's xmlFree)
 * are rewritten too while they still hold what the loader put there.
 * Slots inside RELRO are made writable for the rewrite and read-only
 * again. What cannot be redirected (static binaries, libc's calls that
 * bypass its own PLT, pointers to malloc/free copied elsewhere before the
 * attach, dlmopen namespaces) is in docs/production.md.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "memsnap.h"

#define PAGE_MASK (~(uintptr_t)4095)

extern ElfW(Dyn) _DYNAMIC[]; /* this library's dynamic section */

/* Serialises rewrites (an attach, dlopen'ing threads). */
static pthread_mutex_t rewrite_lock = PTHREAD_MUTEX_INITIALIZER;

/* The tables a module's dynamic section points to, as addresses. */
struct dynamic_tables {
    const ElfW(Sym) *symtab;
    const char *strtab;
    const ElfW(Rela) *rela[2]; /* DT_RELA, DT_JMPREL */
    size_t rela_bytes[2];
};

/* glibc rewrites a module's d_ptr values to addresses, except where the
 * dynamic section is read-only (the vDSO): below the base, add it. */
static uintptr_t dynamic_address(uintptr_t base, ElfW(Addr) value)
{
    return value < base ? base + value : value;
}

static void read_dynamic(uintptr_t base, const ElfW(Dyn) *dyn, struct dynamic_tables *t)
{
    memset(t, 0, sizeof *t);
    for (; dyn->d_tag != DT_NULL; dyn++) {
        uintptr_t at = dynamic_address(base, dyn->d_un.d_ptr);
        switch (dyn->d_tag) {
        case DT_SYMTAB: t->symtab = (const ElfW(Sym) *)at; break;
        case DT_STRTAB: t->strtab = (const char *)at; break;
        case DT_RELA: t->rela[0] = (const ElfW(Rela) *)at; break;
        case DT_RELASZ: t->rela_bytes[0] = dyn->d_un.d_val; break;
        case DT_JMPREL: t->rela[1] = (const ElfW(Rela) *)at; break;
        case DT_PLTRELSZ: t->rela_bytes[1] = dyn->d_un.d_val; break;
        }
    }
}

static void *attach_dlopen(const char *file, int mode);

/* This library's exported functions, read once from its own dynamic
 * symbol table (the linker puts .dynstr right after .dynsym). */
#define MAX_EXPORTS 128
static struct export {
    const char *name;
    void *address;
    void *loaded; /* what the loader binds the name to elsewhere (libc's) */
} exports[MAX_EXPORTS];
static int export_count = -1;

static void read_exports(void)
{
    extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));
    struct dynamic_tables self;
    read_dynamic((uintptr_t)&__ehdr_start, _DYNAMIC, &self);
    int n = 0;
    for (const ElfW(Sym) *sym = self.symtab + 1;
         (const char *)sym < self.strtab && n < MAX_EXPORTS; sym++)
        if (sym->st_shndx != SHN_UNDEF && ELF64_ST_TYPE(sym->st_info) == STT_FUNC &&
            ELF64_ST_VISIBILITY(sym->st_other) == STV_DEFAULT)
            exports[n++] = (struct export){self.strtab + sym->st_name,
                                           (void *)((uintptr_t)&__ehdr_start + sym->st_value),
                                           NULL};
    /* outside dl_iterate_phdr, whose lock dlsym must not be taken under */
    for (int i = 0; i < n; i++)
        exports[i].loaded = dlsym(RTLD_DEFAULT, exports[i].name);
    export_count = n;
}

static const struct export *export_named(const char *name)
{
    for (int i = 0; i < export_count; i++)
        if (strcmp(exports[i].name, name) == 0)
            return &exports[i];
    return NULL;
}

/* Where an import of `name` should lead now: this library's definition of
 * a hook, our dlopen, or NULL (leave it). The API's own names are skipped:
 * a module that imports them is linked with the runtime. */
static void *replacement(const char *name)
{
    if (strcmp(name, "dlopen") == 0)
        return (void *)attach_dlopen;
    if (strncmp(name, "memsnap_", 8) == 0)
        return NULL;
    const struct export *e = export_named(name);
    return e ? e->address : NULL;
}

/* Where a data pointer to `name` should lead now, given what it holds:
 * ours when it still holds what the loader bound (the program has not
 * set it to something else), else NULL (leave it). */
static void *data_replacement(const char *name, void *now)
{
    if (strncmp(name, "memsnap_", 8) == 0)
        return NULL;
    const struct export *e = export_named(name);
    return e && e->loaded && now == e->loaded ? e->address : NULL;
}

/* Makes the RELRO range of a module writable (1) or read-only again (0). */
static void relro_writable(uintptr_t base, const struct dl_phdr_info *info, int writable)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_GNU_RELRO)
            continue;
        uintptr_t start = (base + ph->p_vaddr) & PAGE_MASK;
        uintptr_t end = (base + ph->p_vaddr + ph->p_memsz + 4095) & PAGE_MASK;
        mprotect((void *)start, end - start, writable ? PROT_READ | PROT_WRITE : PROT_READ);
    }
}

/* One walk over the modules: checking (nothing written) counts the malloc
 * slots that lead (directly or through a non-PIE program's PLT stub) to
 * neither libc's malloc (real.malloc) nor ours, and not into the module
 * itself (not bound yet): another allocator interposed. */
struct walk {
    int checking;
    int foreign;
};

static int inside_module(const struct dl_phdr_info *info, uintptr_t address)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && address - start < ph->p_memsz)
            return 1;
    }
    return 0;
}

/* Where a PLT stub jumps (`jmp *slot(%rip)`, after an optional endbr64
 * and bnd prefix): a non-PIE program's malloc is such a stub, to which
 * other modules' slots lead for pointer equality. Anything else: itself. */
static void *through_plt(void *code)
{
    const unsigned char *p = code;
    if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
        p += 4; /* endbr64 */
    if (p[0] == 0xf2)
        p++; /* bnd */
    if (p[0] != 0xff || p[1] != 0x25)
        return code;
    int32_t disp;
    memcpy(&disp, p + 2, sizeof disp);
    void *const *slot = (void *const *)(p + 6 + disp);
    return __atomic_load_n(slot, __ATOMIC_RELAXED);
}

/* A writable segment of the module holds `address` (RELRO included). */
static int in_writable_segment(const struct dl_phdr_info *info, uintptr_t address)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && address - start < ph->p_memsz)
            return 1;
    }
    return 0;
}

/* Rewrites (or checks) the slots of one module's relocation table. */
static void rewrite_table(const struct dl_phdr_info *info, const struct dynamic_tables *t,
                          int which, struct walk *walk)
{
    size_t n = t->rela_bytes[which] / sizeof(ElfW(Rela));
    for (size_t i = 0; i < n; i++) {
        const ElfW(Rela) *r = &t->rela[which][i];
        unsigned type = ELF64_R_TYPE(r->r_info);
        int data = type == R_X86_64_64 && r->r_addend == 0;
        if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT && !data) ||
            ELF64_R_SYM(r->r_info) == 0)
            continue;
        const ElfW(Sym) *sym = &t->symtab[ELF64_R_SYM(r->r_info)];
        if (sym->st_shndx != SHN_UNDEF)
            continue; /* the module's own definition (a private allocator) */
        const char *name = t->strtab + sym->st_name;
        void **slot = (void **)(info->dlpi_addr + r->r_offset);
        if (data && !in_writable_segment(info, (uintptr_t)slot))
            continue; /* a text relocation's word: never written */
        void *now = __atomic_load_n(slot, __ATOMIC_RELAXED);
        void *to = data ? data_replacement(name, now) : replacement(name);
        if (!to || now == to)
            continue;
        if (data) {
            if (!walk->checking)
                __atomic_store_n(slot, to, __ATOMIC_RELEASE);
            continue;
        }
        if (!walk->checking)
            __atomic_store_n(slot, to, __ATOMIC_RELEASE);
        else if (strcmp(name, "malloc") == 0 && !inside_module(info, (uintptr_t)now)) {
            void *target = through_plt(now);
            walk->foreign += target != (void *)real.malloc && target != to;
        }
    }
}

static int rewrite_module(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct walk *walk = data;
    uintptr_t base = info->dlpi_addr;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_DYNAMIC)
            continue;
        const ElfW(Dyn) *dyn = (const ElfW(Dyn) *)(base + ph->p_vaddr);
        if (dyn == _DYNAMIC)
            return 0; /* ourselves */
        struct dynamic_tables t;
        read_dynamic(base, dyn, &t);
        if (!t.symtab || !t.strtab)
            return 0;
        if (!walk->checking)
            relro_writable(base, info, 1);
        rewrite_table(info, &t, 0, walk);
        rewrite_table(info, &t, 1, walk);
        if (!walk->checking)
            relro_writable(base, info, 0);
    }
    return 0;
}

/* Rewrites every module's imports, unless checking finds another
 * allocator interposed: then -ENOTSUP and nothing is written. */
static int rewrite_all_modules(void)
{
    struct walk check = {1, 0}, write = {0, 0};
    internal_work_begin(); /* what the loader allocates meanwhile is ours */
    pthread_mutex_lock(&rewrite_lock);
    if (export_count < 0)
        read_exports();
    dl_iterate_phdr(rewrite_module, &check);
    if (!check.foreign)
        dl_iterate_phdr(rewrite_module, &write);
    pthread_mutex_unlock(&rewrite_lock);
    internal_work_end();
    return check.foreign ? -ENOTSUP : 0;
}

/*
 * dlopen as if called from `caller`: glibc searches a bare name in the
 * calling module's RPATH and RUNPATH, and the caller of the real dlopen is
 * now this library. So a name already loaded is returned as is, and
 * otherwise the caller's search list (dlinfo RTLD_DI_SERINFO, $ORIGIN
 * expanded) is tried in order before the plain search.
 */
static void *dlopen_for(const char *file, int mode, const void *caller)
{
    if (!file || strchr(file, '/'))
        return dlopen(file, mode);
    void *handle = dlopen(file, mode | RTLD_NOLOAD);
    struct link_map *map = NULL;
    Dl_info info;
    if (handle || !dladdr1(caller, &info, (void **)&map, RTLD_DL_LINKMAP) || !map)
        return handle ? handle : dlopen(file, mode);
    Dl_serinfo size;
    internal_work_begin(); /* the list is the runtime's memory */
    Dl_serinfo *list = NULL;
    if (dlinfo(map, RTLD_DI_SERINFOSIZE, &size) == 0 && (list = malloc(size.dls_size))) {
        *list = size;
        if (dlinfo(map, RTLD_DI_SERINFO, list) != 0)
            list->dls_cnt = 0;
    }
    internal_work_end();
    char path[4096];
    for (unsigned i = 0; list && !handle && i < list->dls_cnt; i++)
        if ((size_t)snprintf(path, sizeof path, "%s/%s", list->dls_serpath[i].dls_name, file) <
                sizeof path &&
            access(path, F_OK) == 0)
            handle = dlopen(path, mode);
    internal_work_begin();
    free(list);
    internal_work_end();
    return handle ? handle : dlopen(file, mode);
}

/* The program's dlopen after the attach: the new modules' imports are
 * rewritten before the handle is returned (their constructors have run
 * with libc's allocator: those blocks are foreign, which costs nothing). */
static void *attach_dlopen(const char *file, int mode)
{
    void *handle = dlopen_for(file, mode, __builtin_return_address(0));
    if (handle)
        (void)rewrite_all_modules(); /* another allocator came in: left alone */
    return handle;
}

/* Records every `bytes`-th byte on average from now on (0 = every
 * block). Only while not tracing: the table has one mode at a time. */
static void set_sampling(unsigned long bytes)
{
    __atomic_store_n(&memsnap_root.sample_bytes, (uint64_t)bytes, __ATOMIC_SEQ_CST);
    if (bytes)
        __atomic_fetch_or(&memsnap_root.state, MEMSNAP_STATE_SAMPLED, __ATOMIC_ACQ_REL);
    else
        __atomic_fetch_and(&memsnap_root.state, ~MEMSNAP_STATE_SAMPLED, __ATOMIC_ACQ_REL);
    publish_state();
}

MEMSNAP_API int memsnap_attach(unsigned nframes, unsigned long sample_bytes)
{
    if (nframes < 1 || nframes > MEMSNAP_MAX_FRAMES)
        return -EINVAL;
    ensure_initialized();
    if (tracing_enabled())
        return 0;
    int rc = rewrite_all_modules(); /* preloaded: every slot is ours already */
    if (rc)
        return rc;
    set_sampling(sample_bytes);
    return memsnap_start(nframes);
}
