"""memsnap's backend for GDB: the protocol of python/memsnap/backend.py over gdb's Python API.

Reads memory of the selected inferior (through /proc/PID/mem for a live
local process, else gdb's read_memory), finds symbols without debug info
(`&name`), symbolizes code addresses with gdb's own symbol tables (inlined
levels become frames, names demangled, file names as gdb resolves them so
substitute-path applies), lists threads with their registers, memory
regions (/proc maps, or the core's load segments) and calls functions of a
live process. Everything it raises is a memsnap.errors exception. Lookups
are cached per target session; the cache is dropped when the program
stops being the same process or objfiles change.
"""

import os
import re

import gdb

from memsnap import address_ranges, corefile, errors, procmaps, runtime_calls, sourcelines
from memsnap.backend import GENERAL_REGISTERS, Backend, Location, Region, ThreadState

# The backend memsnap_gdb.py installed (for scripts and tests).
INSTANCE = None

_FORMAT_ADDRESS = re.compile(r"<(.+?)(\+(\d+))?>$")
_CORE_FILE = re.compile(r"Local core dump file:\s*`(.+?)'", re.S)
_MAPPING = re.compile(r"^\s*(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+"
                      r"(0x[0-9a-f]+)\s+(?:([rwxsp-]{4})\s+)?(.*)$")


class GdbBackend(Backend):
    """The memsnap backend protocol implemented with gdb's Python API."""

    name = "gdb"

    def __init__(self):
        self._session = None
        self._mem_fd = None
        self._reset()
        gdb.events.exited.connect(lambda event: self._reset())
        # A running program maps and unmaps memory: regions are re-read per stop.
        gdb.events.stop.connect(lambda event: self._forget_regions())
        gdb.events.cont.connect(lambda event: self._forget_regions())
        gdb.events.memory_changed.connect(lambda event: self._forget_regions())
        gdb.events.new_objfile.connect(lambda event: self._forget_symbols())
        if hasattr(gdb.events, "clear_objfiles"):
            gdb.events.clear_objfiles.connect(lambda event: self._reset())

    # ---- target state ----

    def _inferior(self):
        return gdb.selected_inferior()

    def _connection_type(self, inferior=None):
        inferior = inferior or self._inferior()
        if inferior.pid == 0:
            return None
        connection = getattr(inferior, "connection", None)
        return connection.type if connection is not None else "native"

    def has_target(self):
        return self._connection_type() is not None

    def is_live(self):
        kind = self._connection_type()
        return kind is not None and kind != "core"

    def pid(self):
        pid = self._inferior().pid
        return pid or None

    def _check_session(self):
        """Drop caches when the target is no longer the one they describe."""
        inferior = self._inferior()
        key = (inferior.num, inferior.pid, self._connection_type(inferior))
        if key != self._session:
            self._reset()
            self._session = key

    def _reset(self):
        if self._mem_fd is not None:
            try:
                os.close(self._mem_fd)
            except OSError:
                pass
        self._mem_fd = None
        self._mem_fd_pid = None
        self._session = None
        self._regions = None
        self._region_index = None   # (regions list, address_ranges.RangeIndex of it)
        self._forget_symbols()

    def _forget_regions(self):
        self._regions = None

    def _forget_symbols(self):
        self._symbolized = {}
        self._module_bases = None
        self._symbols = {}
        self._region_bases = {}     # (module, mapping start, end) -> load base

    # ---- memory ----

    def _proc_mem_fd(self):
        """An fd on /proc/PID/mem for a live local process, or None."""
        if not self.is_live() or self._connection_type() != "native":
            return None
        pid = self._inferior().pid
        if self._mem_fd is not None and self._mem_fd_pid == pid:
            return self._mem_fd
        try:
            fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
        except OSError:
            return None
        self._mem_fd, self._mem_fd_pid = fd, pid
        return fd

    def read_memory(self, address, size):
        if size < 0 or address < 0 or address + size > 1 << 64:
            raise errors.UnreadableMemory(address, size)
        if size == 0:
            return b""
        if not self.has_target():
            raise errors.NoTargetError()
        self._check_session()
        fd = self._proc_mem_fd()
        if fd is not None:
            try:
                data = os.pread(fd, size, address)
                if len(data) == size:
                    return data
            except OSError:
                pass
            # Fall through: gdb may know better (and reports the same error).
        try:
            return bytes(self._inferior().read_memory(address, size))
        except (gdb.MemoryError, gdb.error, OverflowError, ValueError):
            raise errors.UnreadableMemory(address, size) from None

    # ---- symbols ----

    def lookup_symbol(self, name):
        self._check_session()
        if name in self._symbols:
            return self._symbols[name]
        address = None
        if self.has_target() or gdb.objfiles():
            try:
                address = int(gdb.parse_and_eval("(unsigned long)&'%s'" % name))
            except (gdb.error, RuntimeError):
                try:
                    address = int(gdb.parse_and_eval("(unsigned long)&%s" % name))
                except (gdb.error, RuntimeError):
                    address = None
        self._symbols[name] = address
        return address

    def core_file(self):
        if self._connection_type() != "core":
            return None
        try:
            text = gdb.execute("info target", to_string=True)
        except gdb.error:
            return None
        match = _CORE_FILE.search(text)
        return match.group(1) if match else None

    def symbolize(self, address):
        self._check_session()
        cached = self._symbolized.get(address)
        if cached is None:
            cached = self._symbolize(address)
            self._symbolized[address] = cached
        return list(cached)

    def _symbolize(self, address):
        module, base = self._module_of(address)
        offset = address - base if base is not None else address

        def location(function, filename, lineno):
            return Location(function=function, filename=filename, lineno=lineno,
                            module=module, module_offset=offset, address=address)

        try:
            block = gdb.block_for_pc(address)
        except RuntimeError:
            block = None
        try:
            sal = gdb.find_pc_line(address)
        except (gdb.error, RuntimeError):
            sal = None
        symtab = sal.symtab if sal is not None else None
        filename = _fullname(symtab) if symtab is not None else None
        lineno = sal.line if filename else 0
        if block is None or block.function is None and block.superblock is None:
            return (location(self._minimal_name(address), filename, lineno),)

        levels = []
        while block is not None and not block.is_static and not block.is_global:
            if block.function is not None:
                function = block.function
                levels.append(location(function.print_name, filename, lineno))
                if not _is_inlined(block):
                    break
                # The caller's line is the call site of this inlined block.
                call_file, call_line = self._call_site(block)
                filename = call_file or filename
                lineno = call_line or 0
            block = block.superblock
        if not levels:
            return (location(self._minimal_name(address), filename, lineno),)
        return tuple(levels)

    @staticmethod
    def _call_site(inlined_block):
        """(file, line) in the caller where `inlined_block` was inlined.

        gdb gives the symbol of an inlined instance its call site: for a
        DW_TAG_inlined_subroutine, Symbol.line is DW_AT_call_line and
        Symbol.symtab the DW_AT_call_file."""
        function = inlined_block.function
        symtab = function.symtab
        return (_fullname(symtab) if symtab is not None else None), function.line

    def _minimal_name(self, address):
        """Function name from the ELF symbol tables (dynamic ones in a stripped object)."""
        try:
            text = gdb.format_address(address)
        except (AttributeError, gdb.error, RuntimeError, ValueError):
            return None
        match = _FORMAT_ADDRESS.search(text)
        if match is None:
            return None
        return _demangle(match.group(1))

    def _module_of(self, address):
        """(path of the object containing `address`, its load base).

        The load base is the same for every address of one mapping: it is
        worked out once per (object, mapping) for the symbol session."""
        try:
            module = gdb.solib_name(address)
        except (gdb.error, RuntimeError):
            module = None
        region = self._region_at(address)
        if module is None:
            module = self._main_module(region)
        if module is None:
            return None, None
        if region is None or not self._region_index[1].complete:
            return module, self._module_base(module, address)
        key = (module, region.start, region.end)
        bases = self._region_bases
        if key not in bases:
            bases[key] = self._module_base(module, address)
        return module, bases[key]

    def _region_at(self, address):
        """The first memory region containing `address`, or None: by
        bisection over the regions indexed once per reading of them, or when
        some overlap (a core's segments and file mappings may), in order."""
        regions = self._cached_regions()
        index = self._region_index
        if index is None or index[0] is not regions:
            index = self._region_index = (
                regions, address_ranges.RangeIndex((r.start, r.end, r) for r in regions))
        found = index[1].find(address)
        if found is None and not index[1].complete:
            return next((r for r in regions if r.start <= address < r.end), None)
        return found

    def _main_module(self, region):
        """The object of an address gdb knows no shared library for: the file
        of its mapping (`region`), or the program when no mappings are known."""
        if region is not None:
            return region.name if region.name.startswith("/") else None
        if self._cached_regions():
            return None
        progspace = gdb.current_progspace()
        return progspace.filename if progspace is not None else None

    def _module_base(self, module, address):
        """Load base of `module` for `address`: the start of the nearest mapping
        of that file at file offset 0 at or below the address (a file can also
        be mapped elsewhere, e.g. read by an unwinder, so the lowest is not it)."""
        if self._module_bases is None:
            self._module_bases = self._file_starts()
        starts = self._module_bases.get(_realpath(module))
        if not starts:
            return None
        below = [start for start in starts if start <= address]
        return max(below) if below else min(starts)

    def _file_starts(self):
        """{real path: [starts of its mappings at file offset 0]}."""
        files = [m for m in self._live_mappings() if m.name.startswith("/")]
        if not files:
            files = [m for m in self._info_proc_mappings() if m.name.startswith("/")]
        starts = {}
        for mapping in files:
            if mapping.offset == 0:
                starts.setdefault(_realpath(mapping.name), []).append(mapping.start)
        return starts

    def source_line(self, filename, lineno):
        if not filename or lineno <= 0:
            return None
        return sourcelines.from_disk(filename, lineno, os.path.normpath(filename))

    # ---- threads ----

    def threads(self):
        if not self.has_target():
            raise errors.NoTargetError()
        selected_thread = gdb.selected_thread()
        try:
            selected_frame = gdb.selected_frame()
        except gdb.error:
            selected_frame = None
        states = []
        try:
            for thread in sorted(self._inferior().threads(), key=lambda t: t.num):
                if not thread.is_valid():
                    continue
                thread.switch()
                registers = {}
                try:
                    frame = gdb.newest_frame()
                    for register in GENERAL_REGISTERS:
                        try:
                            registers[register] = _to_int(frame.read_register(register))
                        except (gdb.error, ValueError):
                            pass
                except gdb.error:
                    pass
                tid = thread.ptid[1] or thread.ptid[2] or thread.ptid[0]
                states.append(ThreadState(tid=tid, registers=registers,
                                          name=thread.name or ""))
        finally:
            if selected_thread is not None and selected_thread.is_valid():
                selected_thread.switch()
                if selected_frame is not None and selected_frame.is_valid():
                    selected_frame.select()
        return states

    # ---- regions ----

    def regions(self):
        self._check_session()
        return list(self._cached_regions())

    def _cached_regions(self):
        if self._regions is None:
            self._regions = self._read_regions()
        return self._regions

    def _read_regions(self):
        kind = self._connection_type()
        if kind is None:
            return []
        if kind == "core":
            return self._core_regions()
        mappings = self._live_mappings() or self._info_proc_mappings()
        return [mapping.region() for mapping in mappings]

    def _live_mappings(self):
        """procmaps.Mapping list of a live local process from /proc, else []
        (gdbserver & co: their /proc is not ours)."""
        if self._connection_type() != "native":
            return []
        try:
            return procmaps.read_mappings(self._inferior().pid)
        except OSError:
            return []

    def _core_regions(self):
        path = self.core_file()
        if path is None:
            return self._info_proc_mappings()
        try:
            regions = corefile.core_regions(path)
        except errors.MemsnapError:
            return self._info_proc_mappings()
        names = [mapping.region() for mapping in self._info_proc_mappings()]
        if not names:
            return regions
        named = []
        for region in regions:
            name = ""
            for mapping in names:
                if mapping.start <= region.start < mapping.end:
                    name = mapping.name
                    break
            named.append(Region(region.start, region.end, region.readable,
                                region.writable, region.executable, name,
                                region.in_core))
        # File mappings the core holds no segment for (gcore may skip them).
        covered = [(r.start, r.end) for r in regions]
        for mapping in names:
            if not any(s <= mapping.start < e for s, e in covered):
                named.append(Region(mapping.start, mapping.end, mapping.readable,
                                    mapping.writable, mapping.executable,
                                    mapping.name, in_core=False))
        named.sort(key=lambda r: r.start)
        return named

    def _info_proc_mappings(self):
        """procmaps.Mapping list from `info proc mappings` (for a core: its
        file mappings; permissions "r--p" where gdb shows none)."""
        try:
            text = gdb.execute("info proc mappings", to_string=True)
        except gdb.error:
            return []
        mappings = []
        for line in text.splitlines():
            match = _MAPPING.match(line)
            if match is not None:
                mappings.append(procmaps.Mapping(
                    int(match.group(1), 16), int(match.group(2), 16), match.group(4) or "r--p",
                    int(match.group(3), 16), match.group(5).strip()))
        return mappings

    # ---- calls ----

    def call_function(self, name, *args):
        if not self.has_target():
            raise errors.NoTargetError()
        expression = runtime_calls.call_expression(self, name, args)
        try:
            result = int(gdb.parse_and_eval(expression))
        except gdb.error as e:
            raise runtime_calls.call_failed(name, e) from None
        finally:
            self._forget_regions()
        return result


def _is_inlined(block):
    """True when a function block is an inlined instance, not a real function.

    gdb 13's Block does not say; an inlined instance lies inside the code of
    the function block enclosing it, while a function merely nested in
    another one's scope (a C++ lambda's operator(), a GNU C nested function)
    has code of its own outside it."""
    superblock = block.superblock
    while superblock is not None:
        if superblock.function is not None:
            return superblock.start <= block.start and block.end <= superblock.end
        if superblock.is_static or superblock.is_global:
            return False
        superblock = superblock.superblock
    return False


def _demangle(name):
    """A C++ linkage name (_Z...) demangled by gdb; other names unchanged."""
    if not name.startswith("_Z"):
        return name
    base, at, version = name.partition("@")
    try:
        text = gdb.execute("demangle -l c++ -- %s" % base, to_string=True).strip()
    except gdb.error:
        return name
    return text + at + version if text else name


_REALPATHS = {}


def _realpath(path):
    real = _REALPATHS.get(path)
    if real is None:
        real = _REALPATHS[path] = os.path.realpath(path)
    return real


def _fullname(symtab):
    try:
        return symtab.fullname()
    except (RuntimeError, gdb.error):
        return symtab.filename


def _to_int(value):
    try:
        return int(value)
    except gdb.error:
        return int(value.cast(gdb.lookup_type("unsigned long")))
