"""Memory regions of an ELF core file, read from its program headers.

GDB's `info proc mappings` on a core lists only file-backed mappings (from
the NT_FILE note); the trace table lives in anonymous mappings, so the GDB
backend reads the core's PT_LOAD segments itself. A segment whose bytes the
file does not hold (p_filesz == 0, as for read-only file mappings gcore
skips, or a segment cut off by a truncated core) is reported with
in_core=False so the reader can say what is missing. Pure Python, no gdb.
"""

import os
import struct

from memsnap.backend import Region
from memsnap.errors import MemsnapError

_PT_LOAD = 1
_PF_X, _PF_W, _PF_R = 1, 2, 4


def core_regions(path):
    """Regions of the core file at `path`, sorted by start address."""
    return _read(path)[0]


def truncation(path):
    """(bytes the file has, bytes its segments need) if the core is truncated, else None."""
    _, file_size, needed = _read(path)
    return (file_size, needed) if file_size < needed else None


def _read(path):
    try:
        with open(path, "rb") as f:
            header = f.read(64)
            if len(header) < 64 or header[:4] != b"\x7fELF":
                raise MemsnapError("%s is not an ELF core file" % path)
            if header[4] != 2 or header[5] != 1:
                raise MemsnapError("%s is not a 64-bit little-endian core" % path)
            phoff, = struct.unpack_from("<Q", header, 32)
            phentsize, phnum = struct.unpack_from("<HH", header, 54)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
            file_size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise MemsnapError("cannot read core file %s: %s" % (path, e.strerror))
    regions = []
    needed = 0
    for i in range(len(table) // phentsize):
        (p_type, p_flags, p_offset, p_vaddr, _paddr, p_filesz,
         p_memsz, _align) = struct.unpack_from("<IIQQQQQQ", table, i * phentsize)
        needed = max(needed, p_offset + p_filesz)
        if p_type != _PT_LOAD or p_memsz == 0:
            continue
        complete = p_filesz >= p_memsz and p_offset + p_filesz <= file_size
        regions.append(Region(start=p_vaddr, end=p_vaddr + p_memsz,
                              readable=bool(p_flags & _PF_R),
                              writable=bool(p_flags & _PF_W),
                              executable=bool(p_flags & _PF_X),
                              name="", in_core=complete))
    regions.sort(key=lambda r: r.start)
    return regions, file_size, needed
