"""ELF64 program headers, read from a file or from a target's memory.

The one place that knows the ELF64 little-endian header and program
header layouts: the core file reader (corefile.py) reads a core's PT_LOAD
segments from the file, loaded_segments() a module's segments from the
image mapped in the target (for region names in regions.py and the leak
check's roots), loaded_image() where build_id.py finds its notes, and
LLDB's gcore writes program headers with the same record. Raises memsnap.errors exceptions only. Pure Python: no debugger.
"""

import struct
from typing import NamedTuple

from ..errors import MemsnapError

ELF_MAGIC = b"\x7fELF"
ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
ET_DYN, ET_CORE = 3, 4
PT_LOAD, PT_NOTE = 1, 4
PF_X, PF_W, PF_R = 1, 2, 4


class ProgramHeader(NamedTuple):
    """One Elf64_Phdr."""
    type: int
    flags: int
    offset: int              # of the segment's bytes in the file
    vaddr: int
    paddr: int
    filesz: int              # bytes the file holds (0: none)
    memsz: int               # bytes the segment spans in memory
    align: int


def read_program_headers(read, where, max_count=None):
    """(e_type, [ProgramHeader]) of the ELF64 little-endian image that
    read(offset, size) -> bytes reads; MemsnapError naming `where` if it is
    not one, or if it claims more than `max_count` program headers."""
    header = read(0, ELF_HEADER.size)
    if len(header) < ELF_HEADER.size or header[:4] != ELF_MAGIC:
        raise MemsnapError("%s is not an ELF file" % where)
    if header[4] != 2 or header[5] != 1:
        raise MemsnapError("%s is not a 64-bit little-endian ELF file" % where)
    (_ident, e_type, _machine, _version, _entry, phoff, _shoff, _flags, _ehsize,
     phentsize, phnum, _shentsize, _shnum, _shstrndx) = ELF_HEADER.unpack(header)
    if phentsize < PROGRAM_HEADER.size or (max_count is not None and phnum > max_count):
        raise MemsnapError("%s has a bad program header table (%d entries of %d bytes)"
                           % (where, phnum, phentsize))
    table = read(phoff, phentsize * phnum)
    return e_type, [ProgramHeader._make(PROGRAM_HEADER.unpack_from(table, i * phentsize))
                    for i in range(len(table) // phentsize)]


def loaded_image(read, base):
    """(bias, [ProgramHeader]) of the ELF image whose header read(address,
    size) finds at `base` in the target: bias + a header's vaddr is where
    its segment is loaded. None if it cannot be read or loads nothing."""
    try:
        e_type, headers = read_program_headers(lambda offset, size: read(base + offset, size),
                                               "the image at 0x%x" % base, max_count=256)
    except MemsnapError:
        return None
    loads = [h.vaddr for h in headers if h.type == PT_LOAD and h.memsz]
    if not loads:
        return None
    bias = base - (min(loads) & ~0xFFF) if e_type == ET_DYN else 0  # ET_DYN is relocated
    return bias, headers


def loaded_segments(read, base):
    """[(start, end, flags)] of the PT_LOAD segments, relocated, of the ELF
    image at `base` in the target (see loaded_image); None as there."""
    image = loaded_image(read, base)
    if image is None:
        return None
    bias, headers = image
    return [(bias + h.vaddr, bias + h.vaddr + h.memsz, h.flags)
            for h in headers if h.type == PT_LOAD and h.memsz]
