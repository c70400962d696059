"""Build IDs of ELF images, read from a target's memory or from a file.

A build ID (the NT_GNU_BUILD_ID note, what `readelf -n` prints as "Build
ID") names one exact build of a program or library; the pprof export
(python/memsnap/views/export/pprof.py) puts it in each mapping so that a profile
can later be matched with the right binaries and debug files. It is read
from the image loaded in the target first — right even when the file on
disk has been rebuilt since, and present in kernel cores, which keep each
image's first page where the notes are — and from the file the image was
mapped from otherwise. The ELF headers are read by python/memsnap/target/elf.py;
every length in a note is checked against the bytes read, so a corrupt or
foreign image gives None, never an exception or a long loop. Pure Python:
no debugger.
"""

import os
import stat
import struct

from . import elf
from ..errors import MemsnapError

NT_GNU_BUILD_ID = 3
GNU_OWNER = b"GNU\0"
NOTE_HEADER = struct.Struct("<III")       # namesz, descsz, type
MAX_NOTE_SEGMENT = 64 * 1024              # notes are small; larger is corrupt
MAX_BUILD_ID = 64                         # bytes (sha1 gives 20)


def build_id(read, base, path=None):
    """The build ID (lower-case hex) of the image whose ELF header is at
    `base` in the target (read(address, size) -> bytes), else of the file
    at `path`; None when neither has one that can be read."""
    found = build_id_in_memory(read, base)
    if found is None and path:
        found = build_id_in_file(path)
    return found


def build_id_in_memory(read, base):
    """The build ID of the image loaded at `base`, or None."""
    image = elf.loaded_image(read, base)
    if image is None:
        return None
    bias, headers = image
    return _from_notes(headers, lambda h: read(bias + h.vaddr, h.filesz), MemsnapError)


def build_id_in_file(path):
    """The build ID of the ELF file at `path`, or None (also for a path
    that is not a regular file: nothing else is opened)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as handle:
        try:
            e_type, headers = elf.read_program_headers(
                lambda offset, size: _read_at(handle, offset, size), path, max_count=256)
        except (MemsnapError, OSError):
            return None
        return _from_notes(headers, lambda h: _read_at(handle, h.offset, h.filesz), OSError)


def _read_at(handle, offset, size):
    handle.seek(offset)
    return handle.read(size)


def _from_notes(headers, read_segment, read_error):
    """The build ID in the PT_NOTE segments read_segment(header) returns."""
    for header in headers:
        if header.type != elf.PT_NOTE or not 0 < header.filesz <= MAX_NOTE_SEGMENT:
            continue
        try:
            data = read_segment(header)
        except read_error:
            continue
        found = find_build_id(data, 8 if header.align == 8 else 4)
        if found is not None:
            return found
    return None


def find_build_id(data, align=4):
    """The GNU build ID among the notes in `data` (one note segment, its
    entries padded to `align` bytes), or None."""
    position = 0
    while position + NOTE_HEADER.size <= len(data):
        name_size, desc_size, note_type = NOTE_HEADER.unpack_from(data, position)
        name_at = position + NOTE_HEADER.size
        desc_at = name_at + _padded(name_size, align)
        end = desc_at + _padded(desc_size, align)
        if desc_at + desc_size > len(data):
            return None
        if (note_type == NT_GNU_BUILD_ID and data[name_at:name_at + name_size] == GNU_OWNER
                and 0 < desc_size <= MAX_BUILD_ID):
            return data[desc_at:desc_at + desc_size].hex()
        position = end
    return None


def _padded(size, align):
    return (size + align - 1) // align * align
