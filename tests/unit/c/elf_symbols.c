/*
 * ELF symbol lookup and /proc/PID/maps parsing for the tests (see
 * elf_symbols.h). Reads the section headers of the file, then the symbol
 * tables (.symtab first, .dynsym if the name is not there).
 */
#define _GNU_SOURCE
#include "elf_symbols.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int search_table(const unsigned char *file, size_t length, const Elf64_Shdr *sections,
                        unsigned count, uint32_t type, const char *name, uint64_t *value,
                        uint64_t *size)
{
    for (unsigned i = 0; i < count; i++) {
        const Elf64_Shdr *table = &sections[i];
        if (table->sh_type != type || table->sh_link >= count)
            continue;
        const Elf64_Shdr *strings = &sections[table->sh_link];
        if (table->sh_offset + table->sh_size > length ||
            strings->sh_offset + strings->sh_size > length || table->sh_entsize != sizeof(Elf64_Sym))
            return -EINVAL;
        const Elf64_Sym *syms = (const Elf64_Sym *)(file + table->sh_offset);
        for (size_t k = 0; k < table->sh_size / sizeof(Elf64_Sym); k++) {
            if (syms[k].st_name >= strings->sh_size || syms[k].st_shndx == SHN_UNDEF)
                continue;
            const char *sym = (const char *)file + strings->sh_offset + syms[k].st_name;
            if (strcmp(sym, name) == 0) {
                *value = syms[k].st_value;
                *size = syms[k].st_size;
                return 0;
            }
        }
    }
    return -ENOENT;
}

int elf_symbol(const char *path, const char *name, uint64_t *value, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        close(fd);
        return -EINVAL;
    }
    size_t length = (size_t)st.st_size;
    const unsigned char *file = mmap(NULL, length, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (file == MAP_FAILED)
        return -errno;
    const Elf64_Ehdr *ehdr = (const Elf64_Ehdr *)file;
    int rc = -EINVAL;
    if (memcmp(ehdr->e_ident, ELFMAG, SELFMAG) == 0 && ehdr->e_ident[EI_CLASS] == ELFCLASS64 &&
        ehdr->e_shoff + (uint64_t)ehdr->e_shnum * sizeof(Elf64_Shdr) <= length) {
        const Elf64_Shdr *sections = (const Elf64_Shdr *)(file + ehdr->e_shoff);
        rc = search_table(file, length, sections, ehdr->e_shnum, SHT_SYMTAB, name, value, size);
        if (rc == -ENOENT)
            rc = search_table(file, length, sections, ehdr->e_shnum, SHT_DYNSYM, name, value,
                              size);
    }
    munmap((void *)file, length);
    return rc;
}

int mapped_base(pid_t pid, const char *path, uint64_t *base)
{
    char maps[64], want[PATH_MAX], line[PATH_MAX + 256];
    if (!realpath(path, want))
        return -errno;
    snprintf(maps, sizeof maps, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(maps, "re");
    if (!f)
        return -errno;
    /* The loader maps an object as adjacent mappings of the same file, the
     * first at offset 0; a lone offset-0 mapping is someone reading the file
     * (libdw does), not the loaded object. */
    int rc = -ENOENT;
    uint64_t candidate = 0, candidate_end = 0;
    int have_candidate = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end, offset;
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &start, &end, &offset, &name_at) < 3 ||
            !name_at)
            continue;
        char *name = line + name_at;
        name[strcspn(name, "\n")] = 0;
        if (strcmp(name, want) != 0) {
            have_candidate = 0;
            continue;
        }
        if (offset == 0) {
            candidate = start;
            candidate_end = end;
            have_candidate = 1;
        } else if (have_candidate && start == candidate_end) {
            *base = candidate;
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}
