"""The target's memory regions, the same way for every debugger: listed, completed for cores, named.

read_regions() is what Target.regions() answers (cached until the next
stop): for a live local process the lines of /proc/PID/maps (what the
debugger itself reads, without its protocol); for another live process
what the debugger lists; for a core the core file's PT_LOAD segments named
after the debugger's regions (corefile.py), or, when the debugger cannot
say which file it opened, its own regions as it lists them. When no region has a file name (LLDB 14 on
cores), names are rebuilt: a loaded module is a run of adjacent regions
starting with an ELF header and holding an executable region, named after
the module the debugger puts its code in; an ELF file mapped without code
(e.g. libdw reading it) is DATA_FILE_MAPPING. An image ends where its ELF
program headers say (a region after its .bss, e.g. the main thread's TLS,
stays anonymous).
"""

from dataclasses import replace

from . import corefile, elf, procmaps
from ..errors import MemsnapError

DATA_FILE_MAPPING = "[file mapped as data]"


def read_regions(target):
    """The target's regions, sorted by start address (see the module doc)."""
    backend = target.backend
    if not backend.has_target():
        return []
    return name_regions(target, sorted(_listed(target), key=lambda r: r.start))


def _listed(target):
    backend = target.backend
    pid = backend.local_pid()
    if pid:
        try:
            return [mapping.region() for mapping in procmaps.read_mappings(pid)]
        except OSError:
            pass
    listed = backend.regions()
    if backend.is_live():
        return listed
    path = target.core_file()
    if path:
        try:
            return corefile.named_segments(corefile.core_regions(path), listed)
        except MemsnapError:
            pass
    return listed


def name_regions(target, regions):
    """`regions` (sorted) with file names rebuilt when none has one."""
    if any(r.name.startswith("/") for r in regions):
        return regions
    runs = []
    for region in regions:
        if region.name:
            continue
        if _starts_with_elf(target, region):
            runs.append([region])
        elif runs and runs[-1][-1].end == region.start:
            runs[-1].append(region)
    names = {}
    for run in runs:
        loads = elf.loaded_segments(target.read, run[0].start)
        if loads is None or not any(r.executable for r in run):
            names[run[0].start] = DATA_FILE_MAPPING
            continue
        image_end = (max(end for _, end, _ in loads) + 0xFFF) & ~0xFFF
        image = [r for r in run if r.start < image_end]
        module = _module_of_code([r for r in image if r.executable], target)
        name = module if module and module.startswith("/") else "/module at 0x%x" % run[0].start
        for r in image:
            names[r.start] = name
    return [replace(r, name=names[r.start]) if r.start in names else r for r in regions]


def _starts_with_elf(target, region):
    if not region.readable or not region.in_core:
        return False
    try:
        return target.read(region.start, 4) == elf.ELF_MAGIC
    except MemsnapError:
        return False


def _module_of_code(code, target):
    """The module the debugger puts the first code region's start in, or None."""
    try:
        locations = target.backend.symbolize(code[0].start) if code else []
    except MemsnapError:
        return None
    return locations[0].module if locations else None
