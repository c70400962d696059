"""memsnap's LLDB backend: the python/memsnap/backend.py protocol over LLDB's SB API.

One LLDBBackend per debugger; every call looks at the debugger's selected
target and process, so it follows `target select`, re-runs and new cores.
Memory of a live local process is read straight from /proc/PID/mem (one
pread per request, far faster than lldb-server packets) after a check that
the file shows the same bytes as LLDB; otherwise, and for cores, through
SBProcess.ReadMemory with short-read checks. Code addresses are symbolized
by LLDB (inlined levels, source-map) and the answers are shaped like GDB's
(full source paths, symlinked directories resolved, C++ names demangled
GNU-style without template return types) so both debuggers print the same
text. Where LLDB has no function for an address of a module with DWARF
(LLDB 14 builds none for functions GCC split into hot and .cold parts), the
inlined levels are read from the DWARF by memsnap.dwarf_inline instead.
Everything raised is a memsnap.errors exception.
"""

import ctypes
import ctypes.util
import os
import re
import shlex

import lldb

from memsnap import address_ranges, corefile, dwarf_inline, errors, runtime_calls, sourcelines
from memsnap.backend import GENERAL_REGISTERS, Backend, Location, Region, ThreadState

_STOPPED_STATES = (lldb.eStateStopped, lldb.eStateCrashed, lldb.eStateSuspended)
_CORE_PLUGINS = ("elf-core", "mach-core", "minidump")
_EXPRESSION_TIMEOUT_US = 10 * 1000 * 1000
_CONTEXT_SCOPE = (lldb.eSymbolContextModule | lldb.eSymbolContextCompUnit
                  | lldb.eSymbolContextFunction | lldb.eSymbolContextBlock
                  | lldb.eSymbolContextLineEntry | lldb.eSymbolContextSymbol)


class _GnuDemangler:
    """Itanium names demangled as GNU tools (GDB) spell them.

    Uses libstdc++'s __cxa_demangle (the same libiberty demangler GDB uses)
    and, like GDB's DWARF reader, drops the return type GNU prints for
    template functions.
    """

    def __init__(self):
        self._demangle = None
        path = ctypes.util.find_library("stdc++") or "libstdc++.so.6"
        try:
            lib = ctypes.CDLL(path)
            fn = getattr(lib, "__cxa_demangle")
        except (OSError, AttributeError):
            return
        fn.restype = ctypes.c_void_p
        fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                       ctypes.POINTER(ctypes.c_int)]
        self._demangle = fn
        self._free = ctypes.CDLL(None).free
        self._free.argtypes = [ctypes.c_void_p]
        self._cache = {}

    def demangle(self, mangled):
        """The GNU demangling of `mangled`, or None if it is not a C++ name."""
        if self._demangle is None or not mangled.startswith("_Z"):
            return None
        if mangled in self._cache:
            return self._cache[mangled]
        status = ctypes.c_int(0)
        ptr = self._demangle(mangled.encode(), None, None, ctypes.byref(status))
        text = None
        if ptr and status.value == 0:
            text = ctypes.string_at(ptr).decode("utf-8", "replace")
            self._free(ptr)
            text = _drop_template_return_type(text)
        self._cache[mangled] = text
        return text


def _drop_template_return_type(name):
    """'int* f<int>(int)' -> 'f<int>(int)' (GDB's DMGL_RET_DROP).

    GNU prints a return type only for template functions: whatever precedes
    the last space outside brackets before the argument list. Operator
    names and "(anonymous namespace)" are skipped as units.
    """
    depth = 0
    split = -1
    i = 0
    n = len(name)
    while i < n:
        if name.startswith("(anonymous namespace)", i):
            i += len("(anonymous namespace)")
            continue
        if name.startswith("operator", i) and (i == 0 or not (name[i - 1].isalnum() or name[i - 1] == "_")):
            i += len("operator")
            if name.startswith(("()", "[]"), i):
                i += 2
            elif i < n and name[i] == " ":
                match = re.match(r" [A-Za-z_][A-Za-z0-9_]*(\[\])?", name[i:])
                i += match.end() if match else 1
            else:
                while i < n and name[i] in "<>=!+-*/%^&|~,":
                    i += 1
                if name.startswith(" <", i):   # "operator< <T>"
                    i += 1
            continue
        ch = name[i]
        if ch == "(" and depth == 0:
            break
        if ch in "<({[":
            depth += 1
        elif ch in ">)}]":
            depth -= 1
        elif ch == " " and depth == 0:
            split = i
        i += 1
    if split < 0:
        return name
    head = name[split + 1:]
    if head.startswith(("const", "volatile", "&", "*", "[")):
        return name
    return head


def _has_parameter_list(name):
    """True for 'f(int)', 'operator()(int) const'; False for 'f', 'operator()'."""
    stripped = name
    for qualifier in (" const", " volatile", " &&", " &"):
        if stripped.endswith(qualifier):
            stripped = stripped[:-len(qualifier)]
    return stripped.endswith(")") and not stripped.endswith("operator()")


def _llvm_to_gnu(name):
    """Respell an LLVM-demangled C++ name as GNU does (for inlined names,
    which LLDB hands over only demangled)."""
    # LLVM writes operator< with template arguments "operator<<T>" and
    # operator<< with them "operator<<<T>"; GNU puts a space before the "<".
    if "operator<<<" in name:
        name = name.replace("operator<<<", "operator<< <")
    else:
        name = re.sub(r"operator<<(?=[A-Za-z_:])", "operator< <", name)
    return _drop_template_return_type(name)


class _LoadedRanges:
    """Load address -> (module path, module load base), by bisection over the
    loaded ranges of every module's top-level sections; and load address ->
    (section, its load address, module) for addresses LLDB itself fails to
    resolve (see LLDBBackend._resolve)."""

    def __init__(self, target):
        ranges = []
        self._sections = []
        for index in range(target.GetNumModules()):
            module = target.GetModuleAtIndex(index)
            if not module.IsValid():
                continue
            entry = (module.GetFileSpec().fullpath,
                     module.GetObjectFileHeaderAddress().GetLoadAddress(target))
            for section_index in range(module.GetNumSections()):
                section = module.GetSectionAtIndex(section_index)
                start = section.GetLoadAddress(target)
                size = section.GetByteSize()
                if start != lldb.LLDB_INVALID_ADDRESS and size > 0:
                    ranges.append((start, start + size, entry))
                    self._sections.append((start, start + size, section, module))
        # Overlapping ranges would make an answer depend on the order: they
        # are left out of the index (and asked the slow way).
        self._index = address_ranges.RangeIndex(ranges)

    def find(self, address):
        return self._index.find(address)

    def section_at(self, address):
        """(section, its load address, module) holding `address`, or None."""
        for start, end, section, module in self._sections:
            if start <= address < end:
                return section, start, module
        return None


class LLDBBackend(Backend):
    """Backend over one lldb.SBDebugger (its selected target and process)."""

    name = "lldb"

    def __init__(self, debugger):
        self._debugger = debugger
        self._demangler = _GnuDemangler()
        self._mem_key = None        # (process unique id, pid) the file below is for
        self._mem_file = None       # open /proc/PID/mem, or None
        self._symbol_key = None     # (process unique id, module count)
        self._symbol_cache = {}
        self._source_paths = {}     # raw source path -> path as printed
        self._module_ranges = None  # _LoadedRanges of the symbol session
        self._module_readers = {}   # module path -> InlineChainReader or None (session)
        self._dwarf_readers = {}    # (path, mtime, size) -> InlineChainReader or None

    # ---- target and process ----

    def _target(self):
        target = self._debugger.GetSelectedTarget()
        return target if target.IsValid() else None

    def _process(self):
        target = self._target()
        if target is None:
            return None
        process = target.GetProcess()
        if not process.IsValid() or process.GetState() not in _STOPPED_STATES:
            return None
        return process

    def _require_process(self):
        process = self._process()
        if process is None:
            target = self._target()
            if target is not None and target.GetProcess().IsValid() \
                    and target.GetProcess().GetState() == lldb.eStateRunning:
                raise errors.NoTargetError("the process is running: stop it first")
            raise errors.NoTargetError()
        return process

    def has_target(self):
        return self._process() is not None

    def is_live(self):
        process = self._require_process()
        return process.GetPluginName() not in _CORE_PLUGINS

    def pid(self):
        process = self._process()
        if process is None:
            return None
        pid = process.GetProcessID()
        return pid if pid and pid != lldb.LLDB_INVALID_PROCESS_ID else None

    # ---- memory ----

    def read_memory(self, address, size):
        if size < 0 or address < 0 or address + size > 1 << 64:
            raise errors.UnreadableMemory(address, max(size, 0))
        if size == 0:
            return b""
        process = self._require_process()
        mem = self._proc_mem(process)
        if mem is not None:
            try:
                return self._pread(mem, address, size)
            except errors.UnreadableMemory:
                # LLDB may still read it (an fd from before an exec shows the
                # old image): then the file is stale, reopen it next time.
                data = self._sb_read(process, address, size)
                self._mem_key = None
                return data
        return self._sb_read(process, address, size)

    def _pread(self, mem, address, size):
        chunks = []
        done = 0
        while done < size:
            try:
                data = os.pread(mem.fileno(), size - done, address + done)
            except (OSError, OverflowError, ValueError):
                data = b""
            if not data:
                raise errors.UnreadableMemory(address, size)
            chunks.append(data)
            done += len(data)
        return b"".join(chunks)

    def _sb_read(self, process, address, size):
        error = lldb.SBError()
        data = process.ReadMemory(address, size, error)
        if error.Success() and data is not None and len(data) == size:
            return bytes(data)
        if process.GetPluginName() in _CORE_PLUGINS:
            # Like GDB: bytes a core lacks may be in a mapped file's sections.
            target = process.GetTarget()
            error = lldb.SBError()
            data = target.ReadMemory(lldb.SBAddress(address, target), size, error)
            if error.Success() and data is not None and len(data) == size:
                return bytes(data)
        raise errors.UnreadableMemory(address, size)

    def _proc_mem(self, process):
        """An open /proc/PID/mem for a live local process, once it is known
        to show what LLDB shows; None when it cannot be used."""
        if process.GetPluginName() in _CORE_PLUGINS:
            return None
        key = (process.GetUniqueID(), process.GetProcessID())
        if key == self._mem_key:
            return self._mem_file
        if self._mem_file is not None:
            self._mem_file.close()
        self._mem_key, self._mem_file = key, None
        if process.GetTarget().GetPlatform().GetName() != "host":
            return None
        try:
            mem = open("/proc/%d/mem" % key[1], "rb", buffering=0)
        except OSError:
            return None
        if not self._same_bytes(process, mem):
            mem.close()
            return None
        self._mem_file = mem
        return mem

    def _same_bytes(self, process, mem):
        """True when /proc/PID/mem and LLDB agree on the stack top of the
        selected thread (a stale pid or a remote process would not)."""
        thread = process.GetSelectedThread()
        if not thread.IsValid():
            thread = process.GetThreadAtIndex(0)
        sp = thread.GetFrameAtIndex(0).GetSP() if thread.IsValid() else 0
        if not sp or sp == lldb.LLDB_INVALID_ADDRESS:
            return False
        error = lldb.SBError()
        expected = process.ReadMemory(sp, 64, error)
        if not error.Success() or expected is None:
            return False
        try:
            return os.pread(mem.fileno(), 64, sp) == bytes(expected)
        except OSError:
            return False

    # ---- symbols ----

    def lookup_symbol(self, name):
        target = self._target()
        if target is None:
            raise errors.NoTargetError()
        found = None
        contexts = target.FindSymbols(name)
        for i in range(contexts.GetSize()):
            symbol = contexts.GetContextAtIndex(i).GetSymbol()
            if not symbol.IsValid():
                continue
            address = symbol.GetStartAddress().GetLoadAddress(target)
            if address == lldb.LLDB_INVALID_ADDRESS:
                continue
            if symbol.IsExternal():
                return address
            if found is None:
                found = address
        if found is None and "(" in name:
            found = self._function_symbol(target, name)
        return found

    def _function_symbol(self, target, name):
        """Start of the function GNU-demangled as `name` ("ns::f(int)"):
        LLDB finds no symbol by such a name, but finds the function, which
        is kept only if its linkage name demangles to exactly `name`."""
        contexts = target.FindFunctions(name)
        for i in range(contexts.GetSize()):
            symbol = contexts.GetContextAtIndex(i).GetSymbol()
            if not symbol.IsValid():
                continue
            mangled = symbol.GetMangledName()
            if not mangled or self._demangler.demangle(mangled) != name:
                continue
            address = symbol.GetStartAddress().GetLoadAddress(target)
            if address != lldb.LLDB_INVALID_ADDRESS:
                return address
        return None

    def core_file(self):
        """LLDB 14 cannot name a target's core file, but it keeps the file
        mapped: of the cores mapped into this process, the one whose
        segments start where this process's memory regions start."""
        process = self._process()
        if process is None or process.GetPluginName() not in _CORE_PLUGINS:
            return None
        starts = {region.start for region in self.regions()}
        best, best_overlap = None, 0
        for path in corefile.mapped_core_files():
            try:
                overlap = len(starts & {r.start for r in corefile.core_regions(path)})
            except errors.MemsnapError:
                continue
            if overlap > best_overlap:
                best, best_overlap = path, overlap
        return best

    def symbolize(self, address):
        target = self._target()
        if target is None:
            raise errors.NoTargetError()
        key = (target.GetProcess().GetUniqueID(), target.GetNumModules())
        if key != self._symbol_key:
            self._symbol_key, self._symbol_cache = key, {}
            self._source_map_rules = None
            self._source_paths = {}
            self._module_ranges = None
            self._module_readers = {}
        cached = self._symbol_cache.get(address)
        if cached is None:
            cached = self._symbolize(target, address)
            self._symbol_cache[address] = cached
        return list(cached)

    def _resolve(self, target, address):
        """(SBAddress, SBSymbolContext) of a load address.

        LLDB 14 sometimes drops the load addresses of ld.so's sections from
        its section load list while `image dump sections` still shows them;
        such addresses are resolved through the module's own sections."""
        sbaddr = target.ResolveLoadAddress(address)
        if not sbaddr.GetSection().IsValid():
            found = self._loaded_ranges(target).section_at(address)
            if found is not None:
                section, start, module = found
                sbaddr = module.ResolveFileAddress(section.GetFileAddress()
                                                   + address - start)
                return sbaddr, module.ResolveSymbolContextForAddress(
                    sbaddr, _CONTEXT_SCOPE)
        return sbaddr, target.ResolveSymbolContextForAddress(sbaddr, _CONTEXT_SCOPE)

    def _loaded_ranges(self, target):
        """The _LoadedRanges of the symbol session (built on first use)."""
        if self._module_ranges is None:
            self._module_ranges = _LoadedRanges(target)
        return self._module_ranges

    def _symbolize(self, target, address):
        sbaddr, context = self._resolve(target, address)
        module_path, base = self._module_of(target, context, address)
        module_offset = 0
        if module_path is not None:
            if base != lldb.LLDB_INVALID_ADDRESS and base <= address:
                module_offset = address - base
            else:
                file_address = sbaddr.GetFileAddress()
                if file_address != lldb.LLDB_INVALID_ADDRESS:
                    module_offset = file_address

        line_entry = context.GetLineEntry()
        filename, lineno = None, 0
        if line_entry.IsValid() and line_entry.GetLine():
            filename = self._source_path(line_entry.GetFileSpec())
            lineno = line_entry.GetLine()

        function = context.GetFunction()
        if not function.IsValid():
            levels = self._dwarf_levels(context, sbaddr, filename, lineno, module_path)
            if levels is not None:
                return tuple(Location(function=fn, filename=path, lineno=line,
                                      module=module_path, module_offset=module_offset,
                                      address=address)
                             for fn, path, line in levels)

        levels = []
        cplusplus = self._is_cplusplus(context)
        block = context.GetBlock()
        inlined = block.GetContainingInlinedBlock() if block.IsValid() else None
        while inlined is not None and inlined.IsValid():
            levels.append((self._inlined_name(inlined, cplusplus), filename, lineno))
            call_file = inlined.GetInlinedCallSiteFile()
            filename = self._source_path(call_file) if call_file.IsValid() else None
            lineno = inlined.GetInlinedCallSiteLine() if filename else 0
            parent = inlined.GetParent()
            inlined = parent.GetContainingInlinedBlock() if parent.IsValid() else None
        if function.IsValid():
            outer = self._function_name(function, context.GetSymbol(), cplusplus)
        else:
            outer = self._symbol_name(context.GetSymbol())
        levels.append((outer, filename, lineno))
        return tuple(Location(function=fn, filename=path, lineno=line,
                              module=module_path, module_offset=module_offset,
                              address=address)
                     for fn, path, line in levels)

    def _dwarf_levels(self, context, sbaddr, filename, lineno, module_path):
        """[(function, file, line)] innermost first from the module's DWARF,
        for an address LLDB has no Function for (LLDB 14 builds none for a
        function GCC split into hot and .cold parts); None to keep LLDB's
        answer (no DWARF there, no pyelftools, anything unexpected)."""
        if not dwarf_inline.AVAILABLE or filename is None:
            return None
        file_address = sbaddr.GetFileAddress()
        if file_address == lldb.LLDB_INVALID_ADDRESS:
            return None
        reader = self._dwarf_reader(context, module_path)
        if reader is None:
            return None
        chain = reader.chain(file_address)
        if not chain:
            return None
        # GDB reads rows sharing an address differently from LLDB: take the
        # innermost line as GDB would, else keep LLDB's.
        line = reader.line_at(file_address)
        if line is not None:
            filename, lineno = self._source_path_text(line[0]), line[1]
        levels = []
        for level in chain:
            if level.filename is not None:
                filename = self._source_path_text(level.filename)
                lineno = level.lineno
            elif levels:
                lineno = level.lineno
            levels.append((level.function, filename, lineno))
        return levels

    def _dwarf_reader(self, context, module_path):
        """The InlineChainReader of a module's DWARF (its separate debug file
        or itself), or None; one per file (and version of it) for the
        backend's life, looked up once per module and symbol session."""
        readers = self._module_readers
        if module_path in readers:
            return readers[module_path]
        module = context.GetModule()
        if not module.IsValid() or module_path is None:
            return None
        key = module_path
        reader = None
        for spec in (module.GetSymbolFileSpec(), module.GetFileSpec()):
            path = spec.fullpath if spec.IsValid() else None
            if not path:
                continue
            try:
                stat = os.stat(path)
            except OSError:
                continue
            file_key = (path, stat.st_mtime_ns, stat.st_size)
            if file_key not in self._dwarf_readers:
                self._dwarf_readers[file_key] = (
                    dwarf_inline.InlineChainReader(path, self._demangler.demangle)
                    if dwarf_inline.InlineChainReader.has_dwarf(path) else None)
            reader = self._dwarf_readers[file_key]
            if reader is not None:
                break
        self._module_readers[key] = reader
        return reader

    def _module_of(self, target, context, address):
        """(path, load base) of the module holding `address`; path None if none.

        The base is where the object's ELF header is mapped: its lowest
        mapping, as in /proc/PID/maps. Looked up in a table of the loaded
        sections' ranges built once per symbol session (asking the context
        for its module costs more than the rest of a lookup); an address
        outside it asks the context."""
        found = self._loaded_ranges(target).find(address)
        if found is not None:
            return found
        module = context.GetModule()
        if not module.IsValid():
            return None, None
        return (module.GetFileSpec().fullpath,
                module.GetObjectFileHeaderAddress().GetLoadAddress(target))

    @staticmethod
    def _is_cplusplus(context):
        unit = context.GetCompileUnit()
        if not unit.IsValid():
            return False
        return unit.GetLanguage() in (lldb.eLanguageTypeC_plus_plus,
                                      lldb.eLanguageTypeC_plus_plus_03,
                                      lldb.eLanguageTypeC_plus_plus_11,
                                      lldb.eLanguageTypeC_plus_plus_14)

    def _function_name(self, function, symbol, cplusplus):
        mangled = function.GetMangledName()
        if mangled:
            gnu = self._demangler.demangle(mangled)
            if gnu:
                return gnu
        name = function.GetName()
        if not name:
            return None
        if cplusplus and not _has_parameter_list(name):
            # GDB names a C++ function without linkage name (main, a
            # lambda's operator()) with its parameters and qualifiers: take
            # them from the ELF symbol's demangling, else from its type.
            name += (self._symbol_parameters(symbol, name)
                     or self._parameter_list(function.GetType()))
        return _llvm_to_gnu(name) if cplusplus else name

    def _symbol_parameters(self, symbol, name):
        mangled = symbol.GetMangledName() if symbol.IsValid() else None
        gnu = self._demangler.demangle(mangled) if mangled else None
        if not gnu or name not in gnu:
            return None
        suffix = gnu[gnu.rindex(name) + len(name):]
        return suffix if suffix.startswith("(") else None

    def _inlined_name(self, block, cplusplus):
        name = block.GetInlinedName()
        if not name:
            return None
        if name.startswith("_Z"):
            return self._demangler.demangle(name) or name
        return _llvm_to_gnu(name) if cplusplus else name

    def _symbol_name(self, symbol):
        # LLDB names functions it only knows from .eh_frame
        # "___lldb_unnamed_symbolN"; GDB has no name for them.
        if not symbol.IsValid() or symbol.IsSynthetic():
            return None
        mangled = symbol.GetMangledName()
        if mangled:
            gnu = self._demangler.demangle(mangled)
            if gnu:
                return gnu
        return symbol.GetName() or None

    @staticmethod
    def _parameter_list(function_type):
        if not function_type.IsValid():
            return ""
        types = function_type.GetFunctionArgumentTypes()
        names = [re.sub(r" (?=[*&])", "", types.GetTypeAtIndex(i).GetName())
                 for i in range(types.GetSize())]
        return "(%s)" % ", ".join(names) if names else "()"

    # ---- source ----

    def _source_map(self):
        rules = getattr(self, "_source_map_rules", None)
        if rules is None:
            rules = []
            result = lldb.SBCommandReturnObject()
            self._debugger.GetCommandInterpreter().HandleCommand(
                "settings show target.source-map", result)
            for line in (result.GetOutput() or "").splitlines():
                match = re.match(r'\s*\[\d+\]\s+(".*")\s+->\s+(".*")\s*$', line)
                if match:
                    try:
                        rules.append((shlex.split(match.group(1))[0],
                                      shlex.split(match.group(2))[0]))
                    except ValueError:
                        continue
            self._source_map_rules = rules
        return rules

    def _remap(self, path):
        for old, new in self._source_map():
            if path == old or path.startswith(old.rstrip("/") + "/"):
                return new.rstrip("/") + path[len(old.rstrip("/")):]
        return path

    def _source_path(self, filespec):
        """The full path GDB would print: source-map applied, and for an
        existing file its directory's symlinks resolved (cached per path for
        the symbol session)."""
        return self._source_path_text(filespec.fullpath)

    def _source_path_text(self, raw):
        """_source_path of a path given as text."""
        if not raw:
            return None
        paths = self._source_paths
        path = paths.get(raw)
        if path is None:
            path = self._remap(raw)
            if os.path.exists(path):
                path = os.path.join(os.path.realpath(os.path.dirname(path)),
                                    os.path.basename(path))
            paths[raw] = path
        return path

    def source_line(self, filename, lineno):
        if lineno <= 0 or not filename:
            return None
        return sourcelines.from_disk(filename, lineno, self._remap(filename))

    # ---- threads and regions ----

    def threads(self):
        process = self._require_process()
        states = []
        for thread in process:
            registers = {}
            frame = thread.GetFrameAtIndex(0)
            if frame.IsValid():
                for regset in frame.GetRegisters():
                    for reg in regset:
                        name = reg.GetName()
                        if name in GENERAL_REGISTERS and name not in registers:
                            error = lldb.SBError()
                            value = reg.GetValueAsUnsigned(error, 0)
                            if error.Success():
                                registers[name] = value
            states.append(ThreadState(tid=thread.GetThreadID(),
                                      registers=registers,
                                      name=thread.GetName() or ""))
        return states

    def regions(self):
        process = self._require_process()
        core = process.GetPluginName() in _CORE_PLUGINS
        infos = process.GetMemoryRegions()
        out = []
        for i in range(infos.GetSize()):
            info = lldb.SBMemoryRegionInfo()
            if not infos.GetMemoryRegionAtIndex(i, info) or not info.IsMapped():
                continue
            start, end = info.GetRegionBase(), info.GetRegionEnd()
            if end <= start:
                continue
            in_core = True
            if core:
                error = lldb.SBError()
                data = process.ReadMemory(start, 1, error)
                in_core = error.Success() and data is not None and len(data) == 1
            out.append(Region(start=start, end=end,
                              readable=info.IsReadable(),
                              writable=info.IsWritable(),
                              executable=info.IsExecutable(),
                              name=info.GetName() or "",
                              in_core=in_core))
        return out

    # ---- calls ----

    def call_function(self, name, *args):
        process = self._require_process()
        expression = runtime_calls.call_expression(self, name, args)
        options = lldb.SBExpressionOptions()
        options.SetUnwindOnError(True)
        options.SetIgnoreBreakpoints(True)
        options.SetTryAllThreads(True)
        options.SetTimeoutInMicroSeconds(_EXPRESSION_TIMEOUT_US)
        options.SetLanguage(lldb.eLanguageTypeC)
        value = process.GetTarget().EvaluateExpression(expression, options)
        error = value.GetError()
        if not value.IsValid() or (error.IsValid() and error.Fail()):
            raise runtime_calls.call_failed(name, error.GetCString() or "")
        return value.GetValueAsSigned()
