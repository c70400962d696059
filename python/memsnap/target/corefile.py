"""Memory regions of an ELF core file, read from its program headers, and named by the debugger's.

A debugger may list only part of a core's memory (GDB's `info proc mappings`
on a core shows the file-backed mappings of its NT_FILE note; the trace
table lives in anonymous memory) or none of its names (LLDB 14), so the
core reads the core's PT_LOAD segments itself and named_segments() names
them after the debugger's regions. A segment whose bytes the file does not
hold (p_filesz == 0, as for read-only file mappings gcore skips, or a
segment a truncated core cuts off before it starts) is reported with
in_core=False so the reader can say what is missing. check_complete()
gives both debuggers the same one-line verdict on a truncated or
incomplete core, and mapped_core_files() finds the core a debugger has
mapped (LLDB 14 has no API that names it). Pure Python: no debugger.
"""

import os
from dataclasses import replace

from . import elf, procmaps
from .backend import Region
from ..errors import MemsnapError, UnreadableMemory


def core_regions(path):
    """Regions of the core file at `path`, sorted by start address."""
    return _read(path)[0]


def truncation(path):
    """(bytes the file has, bytes its segments need) if the core is truncated, else None."""
    _, file_size, needed = _read(path)
    return (file_size, needed) if file_size < needed else None


def named_segments(segments, listed):
    """The core's `segments` named (and given their file offsets) after the
    debugger's `listed` regions that hold their start, plus the listed
    regions no segment holds (gcore may skip file mappings), as not in the
    core; sorted by start address."""
    named = []
    for segment in segments:
        mapping = next((m for m in listed if m.start <= segment.start < m.end), None)
        if mapping is not None:
            segment = replace(segment, name=mapping.name,
                              offset=mapping.offset + segment.start - mapping.start)
        named.append(segment)
    for mapping in listed:
        if not any(s.start <= mapping.start < s.end for s in segments):
            named.append(replace(mapping, in_core=False))
    named.sort(key=lambda r: r.start)
    return named


def check_complete(target, what):
    """Raise UnreadableMemory naming `what` (something the reader could not
    find) if the target's core is truncated or lacks writable memory, which
    kernel cores and gcore always hold; return quietly otherwise."""
    path = target.core_file()
    if path:
        cut = truncation(path)
        if cut is not None:
            have, need = cut
            raise UnreadableMemory(0, 0, "%s not found: the core file %s is truncated "
                                   "(%d of %d bytes; %d missing)"
                                   % (what, path, have, need, need - have))
    regions = target.regions()
    missing = [r for r in regions if r.writable and not r.in_core]
    if missing:
        raise UnreadableMemory(missing[0].start, missing[0].end - missing[0].start,
                               "%s not found: the core file%s is incomplete: %d of its %d "
                               "memory regions are missing, the first at 0x%x"
                               % (what, " " + path if path else "", len(missing),
                                  len(regions), missing[0].start))


def mapped_core_files(pid="self"):
    """Paths of the ELF core files mapped into process `pid` (by default
    this one, the debugger), in the order they are first mapped."""
    try:
        mappings = procmaps.read_mappings(pid) if pid != "self" else _own_mappings()
    except OSError:
        return []
    paths = []
    for mapping in mappings:
        if mapping.offset == 0 and mapping.name.startswith("/") and mapping.name not in paths:
            if _is_core(mapping.name):
                paths.append(mapping.name)
    return paths


def _own_mappings():
    with open("/proc/self/maps") as maps:
        return [m for m in map(procmaps.parse_line, maps) if m is not None]


def _is_core(path):
    try:
        with open(path, "rb") as f:
            header = f.read(elf.ELF_HEADER.size)
    except OSError:
        return False
    return (len(header) == elf.ELF_HEADER.size and header[:4] == elf.ELF_MAGIC
            and int.from_bytes(header[16:18], "little") == elf.ET_CORE)


def _read(path):
    try:
        with open(path, "rb") as f:
            def read(offset, size):
                f.seek(offset)
                return f.read(size)
            _, headers = elf.read_program_headers(read, path)
            file_size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise MemsnapError("cannot read core file %s: %s" % (path, e.strerror))
    regions = []
    needed = 0
    for header in headers:
        needed = max(needed, header.offset + header.filesz)
        if header.type != elf.PT_LOAD or header.memsz == 0:
            continue
        # A segment counts as in the core when the file holds its start: a
        # kernel core keeps only the first page of clean file mappings (their
        # ELF headers), and the rest is read from the file or reported
        # unreadable when read.
        held = header.filesz > 0 and header.offset < file_size
        regions.append(Region(start=header.vaddr, end=header.vaddr + header.memsz,
                              readable=bool(header.flags & elf.PF_R),
                              writable=bool(header.flags & elf.PF_W),
                              executable=bool(header.flags & elf.PF_X),
                              name="", in_core=held))
    regions.sort(key=lambda r: r.start)
    return regions, file_size, needed
