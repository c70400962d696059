"""Thread-local variables (`__thread`, C++ `thread_local`): which one, of which thread, holds an address.

Retention paths name a root word that lies in a thread's TLS block as that
thread's variable (leaks/retention_names.py). Neither debugger answers the
question the other way round (LLDB 14 on Linux cannot even locate such a
variable), so memsnap finds the blocks itself, from memory reads only: the
same in GDB and LLDB, live and on a core. glibc describes its own
structures for libthread_db: each `_thread_db_<struct>_<field>` symbol of
libc.so.6 holds three 32-bit words (the field's size in bits, its element
count, its byte offset). With them:
- the threads are the `struct pthread` records on the lists
  `_dl_stack_used` and `_dl_stack_user` of ld.so's `_rtld_global` (fields
  `pthread.list`, `pthread.tid`);
- a thread's dtv (`pthread.dtvp`) holds, in slot m, the address of module
  m's TLS block in that thread (dtv[-1] counts the slots; a dynamic block
  not allocated yet is all ones);
- a module's number is its link map's `l_tls_modid`, on the list r_debug
  starts (the module's file is the mapping holding its `l_ld`);
- a block's variables are its module's STT_TLS symbols (offset into the
  block, size, name), from the module's ELF file (pyelftools; Debian's
  python3-pyelftools): a module without a symbol table names none.
Anything missing (another C library, a static program, an unreadable word
of a core) means no thread-local names, never an error.
"""

import struct
from typing import NamedTuple, Optional

from ..errors import MemsnapError
from .backend import DataType

_DESCRIPTOR = struct.Struct("<III")     # bits, count, byte offset
_WORD = struct.Struct("<Q")
_INT = struct.Struct("<i")
_DTV_SLOT = 16                          # sizeof(dtv_t) on x86-64: {void *val, *to_free}
_UNALLOCATED = (1 << 64) - 1
_MAX_THREADS = 1 << 16
_MAX_MODULES = 1 << 12
_STT_TLS = "STT_TLS"


class ThreadLocal(NamedTuple):
    """A thread-local variable of one thread."""
    name: str
    address: int             # where this thread's copy starts
    size: int
    type: Optional[DataType]  # as declared (debug information), None if unknown
    tid: int                 # the thread's id (LWP)
    module: str              # the path of the module defining it


def thread_local_at(target, address) -> Optional[ThreadLocal]:
    """The ThreadLocal holding `address` in some thread, or None."""
    for start, end, tid, module in _blocks(target):
        if start <= address < end:
            for offset, size, name in _symbols(target, module):
                if offset <= address - start < offset + max(size, 1):
                    datatype = target.cache.memo("objfile", "variable types", name,
                                                 lambda: target.backend.variable_type(name))
                    return ThreadLocal(name, start + offset, size, datatype, tid, module)
            return None
    return None


def _blocks(target):
    """[(start, end, tid, module path)]: every thread's TLS blocks now."""
    return target.cache.memo("stop", "thread-local blocks", None, lambda: _read_blocks(target))


def _read_blocks(target):
    try:
        glibc = _Glibc(target)
        modules = [(modid, path, _tls_size(target, path)) for modid, path in glibc.modules()]
        modules = [m for m in modules if m[2]]
        blocks = []
        for tid, dtv in glibc.threads() if modules else ():
            slots = glibc.word(dtv - _DTV_SLOT)
            for modid, path, size in modules:
                if modid > slots:
                    continue
                start = glibc.word(dtv + modid * _DTV_SLOT + glibc.pointer_val)
                if start and start != _UNALLOCATED:
                    blocks.append((start, start + size, tid, path))
        return blocks
    except (MemsnapError, _Missing):
        return []


class _Missing(Exception):
    """A symbol glibc's thread descriptions need is not there."""


class _Glibc:
    """glibc's threads and modules, read through its _thread_db descriptions."""

    def __init__(self, target):
        self.target = target
        self.dtvp = self._offset("pthread_dtvp")
        self.tid = self._offset("pthread_tid")
        self.list = self._offset("pthread_list")
        self.next = self._offset("list_t_next")
        self.modid = self._offset("link_map_l_tls_modid")
        self.pointer_val = self._offset("dtv_t_pointer_val")
        self.lists = [self._offset("rtld_global__dl_stack_used"),
                      self._offset("rtld_global__dl_stack_user")]
        self.rtld_global = self._symbol("_rtld_global")
        self.r_debug = self._symbol("_r_debug")

    def _symbol(self, name):
        address = self.target.lookup_symbol(name)
        if not address:
            raise _Missing(name)
        return address

    def _offset(self, field):
        where = self._symbol("_thread_db_" + field)
        return _DESCRIPTOR.unpack(self.target.read(where, _DESCRIPTOR.size))[2]

    def word(self, address):
        return _WORD.unpack(self.target.read(address, 8))[0]

    def threads(self):
        """(tid, dtv) of every thread glibc knows."""
        seen = set()
        for offset in self.lists:
            head = self.rtld_global + offset
            node = self.word(head + self.next)
            while node != head and node not in seen and len(seen) < _MAX_THREADS:
                seen.add(node)
                pthread = node - self.list
                tid = _INT.unpack(self.target.read(pthread + self.tid, 4))[0]
                yield tid, self.word(pthread + self.dtvp)
                node = self.word(node + self.next)

    def modules(self):
        """(TLS module id, file path) of every loaded module with a TLS block."""
        link_map = self.word(self.r_debug + 8)          # r_debug.r_map
        seen = set()
        while link_map and link_map not in seen and len(seen) < _MAX_MODULES:
            seen.add(link_map)
            modid = self.word(link_map + self.modid)
            if modid:
                path = _file_holding(self.target, self.word(link_map + 16))     # l_ld
                if path:
                    yield modid, path
            link_map = self.word(link_map + 24)         # l_next


def _file_holding(target, address):
    region = next((r for r in target.regions() if r.start <= address < r.end), None)
    return region.name if region is not None and region.name.startswith("/") else None


def _tls_size(target, path):
    return _elf_tls(target, path)[0]


def _symbols(target, path):
    return _elf_tls(target, path)[1]


def _elf_tls(target, path):
    """(PT_TLS memory size, [(offset, size, name)] of the STT_TLS symbols) of
    the ELF file at `path`; (0, []) when it cannot be read."""
    return target.cache.memo("objfile", "thread-local symbols", path, lambda: _read_elf_tls(path))


def _read_elf_tls(path):
    try:
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile
    except ImportError:
        return 0, []
    try:
        with open(path, "rb") as handle:
            elf = ELFFile(handle)
            size = next((segment["p_memsz"] for segment in elf.iter_segments()
                         if segment["p_type"] == "PT_TLS"), 0)
            symbols = {}
            for section_name in (".dynsym", ".symtab"):
                section = elf.get_section_by_name(section_name)
                for symbol in section.iter_symbols() if section is not None else ():
                    if symbol["st_info"]["type"] == _STT_TLS and symbol.name:
                        symbols[symbol["st_value"]] = (symbol["st_value"], symbol["st_size"],
                                                       symbol.name)
            return size, sorted(symbols.values())
    except (OSError, ELFError, ValueError, KeyError):
        return 0, []
