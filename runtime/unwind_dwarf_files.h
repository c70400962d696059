/*
 * How the DWARF unwinder gets at files without holding descriptors of the
 * program's (unwind_dwarf_files.c): the module report and libdw's
 * find_elf callback. Both run under the unwinder's miss lock.
 */
#ifndef MEMSNAP_RUNTIME_UNWIND_DWARF_FILES_H
#define MEMSNAP_RUNTIME_UNWIND_DWARF_FILES_H

#include <elfutils/libdwfl.h>

/* Reports every loaded module (the files of /proc/self/maps and the vDSO)
 * between the caller's dwfl_report_begin and dwfl_report_end. 0 or -errno. */
int dwarf_files_report(Dwfl *dwfl);

/* Dwfl_Callbacks.find_elf: the module's ELF image, read in full (mapped)
 * through a descriptor already closed; returns -1, so libdw never owns a
 * descriptor. *elfp stays NULL when the module has no readable file. */
int dwarf_files_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
                         char **file_name, Elf **elfp);

#endif /* MEMSNAP_RUNTIME_UNWIND_DWARF_FILES_H */
