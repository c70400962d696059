/*
 * The files the DWARF unwinder (unwind_dwarf.c) reads through libdw, read
 * so that the runtime never holds a descriptor of the program's. The
 * loaded modules come from /proc/self/maps, and each module's ELF image
 * from its file; every descriptor is opened close-on-exec and closed before
 * the call that opened it returns: libelf maps the file (or, failing that,
 * reads it whole) and keeps only that copy, so libdw holds no descriptor it
 * could close later (dwfl_end closes the numbers it was given, which the
 * program may have closed and reused meanwhile), none leaks across exec,
 * and the program's descriptor table is the same between two hooks as if
 * the runtime were not there. Only regular files are opened (never a
 * device a module may map). The vDSO, which has no file, is read from a
 * copy of its image in the runtime's own pool. Called under the unwinder's
 * miss lock, as internal work (what libdw allocates is the runtime's).
 * docs/runtime.md ("Descriptors") states the rule for users.
 */
#define _GNU_SOURCE
#include "unwind_dwarf_files.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define VDSO_NAME "[vdso]"

/* The vDSO's image, copied once into the pool (its first use, under the
 * miss lock): libelf may write to an image it is given, the vDSO is
 * read-only. */
static char *vdso_image;
static size_t vdso_image_size;

/* The ELF image of the regular file at path, read through a descriptor
 * closed before returning; NULL when it is not one. */
static Elf *read_elf_file(const char *path)
{
    struct stat before, opened;
    if (stat(path, &before) != 0 || !S_ISREG(before.st_mode))
        return NULL; /* also " (deleted)" names: no such file */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    Elf *elf = NULL;
    if (fstat(fd, &opened) == 0 && S_ISREG(opened.st_mode))
        elf = elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, NULL);
    /* FDREAD reads whatever libelf did not map, then forgets the fd. */
    if (elf != NULL && (elf_kind(elf) != ELF_K_ELF || elf_cntl(elf, ELF_C_FDREAD) != 0)) {
        elf_end(elf);
        elf = NULL;
    }
    close(fd);
    return elf;
}

/* Bytes the vDSO spans once loaded, and the size of its image (headers,
 * segments and section headers), from its ELF header in memory. */
static void vdso_extent(const ElfW(Ehdr) *ehdr, uint64_t *span, uint64_t *image)
{
    const ElfW(Phdr) *phdr = (const ElfW(Phdr) *)((const char *)ehdr + ehdr->e_phoff);
    uint64_t end = 0, bytes = (uint64_t)ehdr->e_shoff + (uint64_t)ehdr->e_shnum * ehdr->e_shentsize;
    for (unsigned i = 0; i < ehdr->e_phnum; i++) {
        if (phdr[i].p_type != PT_LOAD)
            continue;
        if (phdr[i].p_vaddr + phdr[i].p_memsz > end)
            end = phdr[i].p_vaddr + phdr[i].p_memsz;
        if (phdr[i].p_offset + phdr[i].p_filesz > bytes)
            bytes = phdr[i].p_offset + phdr[i].p_filesz;
    }
    *span = (end + 4095) & ~(uint64_t)4095;
    *image = bytes;
}

/* The vDSO's ELF image, from the copy (made on first use). */
static Elf *read_vdso(void)
{
    if (vdso_image == NULL) {
        const ElfW(Ehdr) *ehdr = (const ElfW(Ehdr) *)getauxval(AT_SYSINFO_EHDR);
        uint64_t span, bytes;
        if (ehdr == NULL)
            return NULL;
        vdso_extent(ehdr, &span, &bytes);
        if (bytes > span)
            return NULL;
        struct memsnap_mapping *mapping = pool_map(MEMSNAP_MAP_MISC, sizeof *mapping + bytes);
        if (mapping == NULL)
            return NULL;
        mapping->used = sizeof *mapping + bytes;
        memcpy(mapping + 1, ehdr, bytes);
        vdso_image_size = bytes;
        vdso_image = (char *)(mapping + 1);
    }
    return elf_memory(vdso_image, vdso_image_size);
}

int dwarf_files_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
                         char **file_name, Elf **elfp)
{
    (void)mod, (void)userdata, (void)base;
    *file_name = NULL; /* libdw opens a file by this name when no image is given: never */
    if (name[0] == '/')
        *elfp = read_elf_file(name);
    else if (strcmp(name, VDSO_NAME) == 0)
        *elfp = read_vdso();
    return -1; /* no descriptor for libdw to keep or close */
}

/* Reports the vDSO, which /proc/self/maps names without a file. */
static int report_vdso(Dwfl *dwfl)
{
    const ElfW(Ehdr) *ehdr = (const ElfW(Ehdr) *)getauxval(AT_SYSINFO_EHDR);
    if (ehdr == NULL)
        return 0;
    uint64_t span, bytes;
    vdso_extent(ehdr, &span, &bytes);
    uint64_t start = (uint64_t)(uintptr_t)ehdr;
    return dwfl_report_module(dwfl, VDSO_NAME, start, start + span) ? 0 : -ENOMEM;
}

int dwarf_files_report(Dwfl *dwfl)
{
    FILE *maps = fopen("/proc/self/maps", "re");
    if (maps == NULL)
        return -errno;
    int rc = dwfl_linux_proc_maps_report(dwfl, maps);
    fclose(maps);
    if (rc != 0)
        return rc > 0 ? -rc : -EIO;
    return report_vdso(dwfl);
}
