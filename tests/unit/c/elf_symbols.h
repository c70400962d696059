/*
 * Symbol lookup in an ELF file on disk, for the C tests that read another
 * process: the address of memsnap_root in libmemsnap.so (.dynsym) and the
 * ranges of a test program's functions (.symtab), plus where a file is
 * mapped in a process (/proc/PID/maps), without a debugger.
 */
#ifndef MEMSNAP_TESTS_ELF_SYMBOLS_H
#define MEMSNAP_TESTS_ELF_SYMBOLS_H

#include <stdint.h>
#include <sys/types.h>

/* Value and size of `name` in the file's .symtab (or .dynsym): 0 or -errno. */
int elf_symbol(const char *path, const char *name, uint64_t *value, uint64_t *size);
/* Load base of `path` in process pid (start of its offset-0 mapping). */
int mapped_base(pid_t pid, const char *path, uint64_t *base);

#endif /* MEMSNAP_TESTS_ELF_SYMBOLS_H */
