"""A minimal ELF64 reader for tests: the dynamic symbols of a shared object.

Reads the section headers, finds .dynsym and its string table, and returns
{name: st_value} for defined symbols. Enough for procfs_backend.py to find
`memsnap_root` in libmemsnap.so without a debugger.
"""

import struct

SHT_DYNSYM = 11


def dynamic_symbols(path):
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("%s is not a little-endian ELF64 file" % path)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = []
    for i in range(shnum):
        (name, kind, flags, addr, offset, size, link, info, align,
         entsize) = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
        sections.append((kind, offset, size, link, entsize))
    symbols = {}
    for kind, offset, size, link, entsize in sections:
        if kind != SHT_DYNSYM:
            continue
        _, str_offset, str_size, _, _ = sections[link]
        for at in range(offset, offset + size, entsize or 24):
            st_name, st_info, st_other, st_shndx, st_value, st_size = \
                struct.unpack_from("<IBBHQQ", data, at)
            if st_shndx == 0 or not st_name:
                continue
            end = data.index(b"\0", str_offset + st_name)
            symbols[data[str_offset + st_name:end].decode()] = st_value
    return symbols
