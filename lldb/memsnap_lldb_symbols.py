"""What LLDB knows about a code address, as the core's Locations (memsnap_lldb_backend.py's symbolize).

LLDB resolves the address to a symbol context (through the module's own
sections when LLDB 14 has dropped a section's load address, as it does for
ld.so's); the module and its load base come from an index of the loaded
sections, built once per objfile lifetime in the backend's one cache. The
levels are the inlined blocks from the innermost out, each at the line of
its call site, then the function; names are given to the core's spelling
(python/memsnap/target/names.py) from the raw strings LLDB has: linkage
names, LLVM-demangled names, parameter lists from the ELF symbol or the
function type. Where LLDB has no function for an address of a module with
DWARF (LLDB 14 builds none for functions GCC split into hot and .cold
parts), the levels are read from the DWARF (memsnap/adapters/
dwarf_inline.py). Source paths are given with LLDB's target.source-map
applied; the core spells them.
"""

import os
import re
import shlex

import lldb

from memsnap.adapters import dwarf_inline
from memsnap.target import names
from memsnap.target.address_ranges import RangeIndex
from memsnap.target.backend import Location

_CONTEXT_SCOPE = (lldb.eSymbolContextModule | lldb.eSymbolContextCompUnit
                  | lldb.eSymbolContextFunction | lldb.eSymbolContextBlock
                  | lldb.eSymbolContextLineEntry | lldb.eSymbolContextSymbol)
_CPLUSPLUS = (lldb.eLanguageTypeC_plus_plus, lldb.eLanguageTypeC_plus_plus_03,
              lldb.eLanguageTypeC_plus_plus_11, lldb.eLanguageTypeC_plus_plus_14)
_DWARF_READERS = {}      # (path, mtime, size) -> InlineChainReader or None: one per file version


class LldbSymbols:
    """symbolize() and source paths for one LLDB backend."""

    def __init__(self, debugger, cache):
        self._debugger = debugger
        self._session = cache.table("objfile", "lldb symbol session")

    def locations(self, target, address):
        """The Locations of `address`, innermost inlined level first. (Each
        SB call costs about a microsecond and a snapshot may symbolize ten
        thousand addresses: each answer is asked for once.)"""
        sbaddr, context = self._resolve(target, address)
        module, module_offset = self._module(target, sbaddr, context, address)
        line_entry = context.GetLineEntry()
        filename, lineno = None, 0
        line = line_entry.GetLine()         # 0 for an invalid entry
        if line:
            filename, lineno = self.remap(_fullpath(line_entry.GetFileSpec())), line
        levels = None
        function = context.GetFunction()
        if not function.IsValid():
            levels = self._dwarf_levels(context, sbaddr, filename, lineno, module)
        if levels is None:
            levels = self._levels(context, function, filename, lineno)
        return [Location(name, path, number, module, module_offset, address)
                for name, path, number in levels]

    def _resolve(self, target, address):
        """(SBAddress, SBSymbolContext) of a load address."""
        sbaddr = target.ResolveLoadAddress(address)
        if not sbaddr.GetSection().IsValid():
            found = self._sections(target).section_at(address)
            if found is not None:
                section, start, module = found
                sbaddr = module.ResolveFileAddress(section.GetFileAddress() + address - start)
                return sbaddr, module.ResolveSymbolContextForAddress(sbaddr, _CONTEXT_SCOPE)
        return sbaddr, target.ResolveSymbolContextForAddress(sbaddr, _CONTEXT_SCOPE)

    def _sections(self, target):
        if "sections" not in self._session:
            self._session["sections"] = _LoadedSections(target)
        return self._session["sections"]

    def _module(self, target, sbaddr, context, address):
        """(path, offset of `address` in it) of the module holding `address`:
        the offset from where its ELF header is loaded, else its file address."""
        found = self._sections(target).find(address)
        if found is None:
            module = context.GetModule()
            if not module.IsValid():
                return None, None
            found = (module.GetFileSpec().fullpath,
                     module.GetObjectFileHeaderAddress().GetLoadAddress(target))
        path, base = found
        if base != lldb.LLDB_INVALID_ADDRESS and base <= address:
            return path, address - base
        file_address = sbaddr.GetFileAddress()
        return path, file_address if file_address != lldb.LLDB_INVALID_ADDRESS else 0

    def _levels(self, context, function, filename, lineno):
        """[(function, file, line)] of LLDB's inlined blocks, then the
        function (context's, given)."""
        cplusplus = _CPlusPlus(context, function)
        levels = []
        inlined = context.GetBlock().GetContainingInlinedBlock()   # invalid from an invalid block
        while inlined.IsValid():
            levels.append((names.spell(inlined.GetInlinedName(), cplusplus), filename, lineno))
            call_file = inlined.GetInlinedCallSiteFile()
            filename = self.remap(_fullpath(call_file)) if call_file.IsValid() else None
            lineno = inlined.GetInlinedCallSiteLine() if filename else 0
            inlined = inlined.GetParent().GetContainingInlinedBlock()
        outer = (_function_name(function, context, cplusplus) if function.IsValid()
                 else _symbol_name(context.GetSymbol()))
        return levels + [(outer, filename, lineno)]

    def _dwarf_levels(self, context, sbaddr, filename, lineno, module_path):
        """[(function, file, line)] innermost first from the module's DWARF,
        for an address LLDB has no Function for; None to keep LLDB's answer
        (no DWARF there, no pyelftools, anything unexpected)."""
        file_address = sbaddr.GetFileAddress()
        if not dwarf_inline.AVAILABLE or filename is None or file_address == lldb.LLDB_INVALID_ADDRESS:
            return None
        reader = _dwarf_reader(context.GetModule()) if module_path else None
        chain = reader.chain(file_address) if reader is not None else None
        if not chain:
            return None
        # GDB reads rows sharing an address differently from LLDB: take the
        # innermost line as GDB would, else keep LLDB's.
        line = reader.line_at(file_address)
        if line is not None:
            filename, lineno = self.remap(line[0]), line[1]
        levels = []
        for level in chain:
            if level.filename is not None:
                filename, lineno = self.remap(level.filename), level.lineno
            elif levels:
                lineno = level.lineno
            levels.append((level.function, filename, lineno))
        return levels

    def remap(self, path):
        """`path` with LLDB's target.source-map applied."""
        if not path:
            return None
        for old, new in self._source_map():
            if path == old or path.startswith(old.rstrip("/") + "/"):
                return new.rstrip("/") + path[len(old.rstrip("/")):]
        return path

    def _source_map(self):
        if "source-map" not in self._session:
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
            self._session["source-map"] = rules
        return self._session["source-map"]


class _LoadedSections:
    """Load address -> (module path, module load base), by bisection over the
    loaded ranges of every module's top-level sections; and load address ->
    (section, its load address, module) for addresses LLDB itself fails to
    resolve."""

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
        self._index = RangeIndex(ranges)

    def find(self, address):
        return self._index.find(address)

    def section_at(self, address):
        """(section, its load address, module) holding `address`, or None."""
        for start, end, section, module in self._sections:
            if start <= address < end:
                return section, start, module
        return None


class _CPlusPlus:
    """Whether a symbol context's compile unit is C++ (true as a bool),
    asked of LLDB only when a name needs it: of the function (one call)
    when it has one."""

    __slots__ = ("_context", "_function", "_answer")

    def __init__(self, context, function):
        self._context = context
        self._function = function
        self._answer = None

    def __bool__(self):
        if self._answer is None:
            if self._function.IsValid():
                self._answer = self._function.GetLanguage() in _CPLUSPLUS
            else:
                unit = self._context.GetCompileUnit()
                self._answer = unit.IsValid() and unit.GetLanguage() in _CPLUSPLUS
        return self._answer


def _function_name(function, context, cplusplus):
    mangled = function.GetMangledName()
    gnu = names.demangle(mangled) if mangled else None
    if gnu:
        return gnu
    name = function.GetName()
    if not name:
        return None
    if cplusplus and not names.has_parameter_list(name):
        # GDB names a C++ function without linkage name (main, a lambda's
        # operator()) with its parameters and qualifiers: take them from the
        # ELF symbol's demangling, else from its type.
        name += (_symbol_parameters(context.GetSymbol(), name)
                 or _parameter_list(function.GetType()))
    return names.spell(name, cplusplus)


def _symbol_parameters(symbol, name):
    gnu = names.demangle(symbol.GetMangledName()) if symbol.IsValid() else None
    if not gnu or name not in gnu:
        return None
    suffix = gnu[gnu.rindex(name) + len(name):]
    return suffix if suffix.startswith("(") else None


def _parameter_list(function_type):
    if not function_type.IsValid():
        return ""
    types = function_type.GetFunctionArgumentTypes()
    parameters = [re.sub(r" (?=[*&])", "", types.GetTypeAtIndex(i).GetName())
                  for i in range(types.GetSize())]
    return "(%s)" % ", ".join(parameters)


def _fullpath(spec):
    """An SBFileSpec's path, as its `fullpath` property gives it (without
    the property's own Python call)."""
    directory, name = spec.GetDirectory(), spec.GetFilename()
    if directory and name:
        return "%s/%s" % (directory, name)
    return directory or name or None


def _symbol_name(symbol):
    # LLDB names functions it only knows from .eh_frame
    # "___lldb_unnamed_symbolN"; GDB has no name for them.
    if not symbol.IsValid() or symbol.IsSynthetic():
        return None
    return names.demangle(symbol.GetMangledName()) or symbol.GetName() or None


def _dwarf_reader(module):
    """The InlineChainReader of a module's DWARF (its separate debug file or
    itself), or None; one per file and version of it."""
    if not module.IsValid():
        return None
    for spec in (module.GetSymbolFileSpec(), module.GetFileSpec()):
        path = spec.fullpath if spec.IsValid() else None
        try:
            stat = os.stat(path) if path else None
        except OSError:
            stat = None
        if stat is None:
            continue
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in _DWARF_READERS:
            _DWARF_READERS[key] = (dwarf_inline.InlineChainReader(path, names.demangle)
                                   if dwarf_inline.InlineChainReader.has_dwarf(path) else None)
        if _DWARF_READERS[key] is not None:
            return _DWARF_READERS[key]
    return None
