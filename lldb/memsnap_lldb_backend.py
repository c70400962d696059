"""memsnap's LLDB backend: the primitives of python/memsnap/target/backend.py over LLDB's SB API.

One LLDBBackend per debugger; every call looks at the debugger's selected
target and process, so it follows `target select`, re-runs and new cores.
Only what LLDB knows: its process's memory (for a core, also the sections
of the files it maps), symbols, memory regions, threads with their
registers, the process's stop and module counts (for the core's one
cache), calls into a live process, what is at a code address
(memsnap_lldb_symbols.py), and variables and types from debug information
(memsnap_lldb_types.py). Everything else (the /proc/PID/mem fast path,
a core's segments, name and path spelling, caching) is the core's.
Everything raised is a memsnap.errors exception.
"""

import re

import lldb

from memsnap import errors
from memsnap.target import corefile, names, runtime_calls, sourcelines
from memsnap.target.backend import GENERAL_REGISTERS, Backend, Generation, Region, ThreadState

from memsnap_lldb_symbols import LldbSymbols
import memsnap_lldb_types

_STOPPED_STATES = (lldb.eStateStopped, lldb.eStateCrashed, lldb.eStateSuspended)
_CORE_PLUGINS = ("elf-core", "mach-core", "minidump")
_EXPRESSION_TIMEOUT_US = 10 * 1000 * 1000


class LLDBBackend(Backend):
    """Backend over one lldb.SBDebugger (its selected target and process)."""

    name = "lldb"

    def __init__(self, debugger):
        self._debugger = debugger
        self._symbols = LldbSymbols(debugger, self.cache)

    # ---- target and process ----

    def _target(self):
        target = self._debugger.GetSelectedTarget()
        return target if target.IsValid() else None

    def _process(self):
        target = self._target()
        process = target.GetProcess() if target is not None else None
        if process is None or not process.IsValid() or process.GetState() not in _STOPPED_STATES:
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

    def _is_core(self, process):
        return process.GetPluginName() in _CORE_PLUGINS

    def has_target(self):
        return self._process() is not None

    def is_live(self):
        return not self._is_core(self._require_process())

    def pid(self):
        process = self._process()
        pid = process.GetProcessID() if process is not None else None
        return pid if pid and pid != lldb.LLDB_INVALID_PROCESS_ID else None

    def local_pid(self):
        process = self._process()
        if process is None or self._is_core(process) \
                or process.GetTarget().GetPlatform().GetName() != "host":
            return None
        return self.pid()

    def generation(self):
        target = self._target()
        process = target.GetProcess() if target is not None else None
        if process is None or not process.IsValid():
            return Generation(None)
        return Generation((process.GetUniqueID(), process.GetProcessID()),
                          target.GetNumModules(), process.GetStopID())

    def core_file(self):
        """LLDB 14 cannot name a target's core file, but it keeps the file
        mapped: of the cores mapped into this process, the one whose
        segments start where this process's memory regions start."""
        process = self._process()
        if process is None or not self._is_core(process):
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

    # ---- memory ----

    def read_memory(self, address, size):
        process = self._require_process()
        data = _read(process.ReadMemory, address, size)
        if len(data) < size and self._is_core(process):
            # Like GDB: bytes a core lacks may be in a mapped file's sections.
            target = process.GetTarget()
            data = max(data, _read(target.ReadMemory, lldb.SBAddress(address, target), size), key=len)
        if not data:
            raise errors.UnreadableMemory(address, size)
        return data

    def write_memory(self, address, data):
        process = self._require_process()
        error = lldb.SBError()
        if self._is_core(process) or process.WriteMemory(address, data, error) != len(data) \
                or error.Fail():
            raise errors.UnwritableMemory(address, len(data))

    def regions(self):
        process = self._require_process()
        core = self._is_core(process)
        infos = process.GetMemoryRegions()
        out = []
        for i in range(infos.GetSize()):
            info = lldb.SBMemoryRegionInfo()
            if not infos.GetMemoryRegionAtIndex(i, info) or not info.IsMapped():
                continue
            start, end = info.GetRegionBase(), info.GetRegionEnd()
            if end > start:
                out.append(Region(start, end, info.IsReadable(), info.IsWritable(),
                                  info.IsExecutable(), info.GetName() or "",
                                  not core or self._in_core(process, start)))
        return out

    @staticmethod
    def _in_core(process, address):
        return len(_read(process.ReadMemory, address, 1)) == 1

    def threads(self):
        return [ThreadState(tid=thread.GetThreadID(), registers=_registers(thread),
                            name=thread.GetName() or "", number=thread.GetIndexID())
                for thread in self._require_process()]

    # ---- symbols and sources ----

    def lookup_symbol(self, name):
        target = self._target()
        if target is None:
            raise errors.NoTargetError()
        found = None
        for symbol in _symbols(target.FindSymbols(name)):
            address = symbol.GetStartAddress().GetLoadAddress(target)
            if address == lldb.LLDB_INVALID_ADDRESS:
                continue
            if symbol.IsExternal():
                return address
            found = address if found is None else found
        if found is None and "(" in name:
            found = self._function_symbol(target, name)
        return found

    @staticmethod
    def _function_symbol(target, name):
        """Start of the function GNU-demangled as `name` ("ns::f(int)"):
        LLDB finds no symbol by such a name, but finds the function, which
        is kept only if its linkage name demangles to exactly `name`."""
        for symbol in _symbols(target.FindFunctions(name)):
            if names.demangle(symbol.GetMangledName()) != name:
                continue
            address = symbol.GetStartAddress().GetLoadAddress(target)
            if address != lldb.LLDB_INVALID_ADDRESS:
                return address
        return None

    def symbolize(self, address):
        target = self._target()
        if target is None:
            raise errors.NoTargetError()
        return self._symbols.locations(target, address)

    def source_line(self, filename, lineno):
        return sourcelines.from_disk(filename, lineno, self._symbols.remap(filename))

    # ---- variables and types (memsnap_lldb_types.py) ----

    def global_variable_at(self, address):
        target = self._target()
        return memsnap_lldb_types.global_variable_at(target, address) if target else None

    def variable_type(self, name):
        target = self._target()
        return memsnap_lldb_types.variable_type(target, name) if target else None

    def stack_variables(self, tid):
        return memsnap_lldb_types.stack_variables(self._require_process(), tid)

    def type_members(self, datatype):
        return memsnap_lldb_types.type_members(datatype)

    def type_target(self, datatype):
        return memsnap_lldb_types.type_target(datatype)

    def symbol_at(self, address):
        target = self._target()
        return memsnap_lldb_types.symbol_at(target, address) if target else None

    def lookup_type(self, name):
        target = self._target()
        return memsnap_lldb_types.lookup_type(target, name) if target else None

    def format_value(self, address, datatype, count=1):
        return memsnap_lldb_types.format_value(self._require_process().GetTarget(), address,
                                               datatype, count)

    # ---- calls ----

    def evaluate_address(self, expression):
        target = self._target()
        frame = target.GetProcess().GetSelectedThread().GetSelectedFrame()
        options = lldb.SBExpressionOptions()
        options.SetUnwindOnError(True)
        options.SetTimeoutInMicroSeconds(_EXPRESSION_TIMEOUT_US)
        value = (frame.EvaluateExpression(expression, options) if frame.IsValid()
                 else target.EvaluateExpression(expression, options))
        error = value.GetError()
        if not value.IsValid() or (error.IsValid() and error.Fail()):
            raise errors.BadAddressError(_expression_error(error.GetCString() or ""))
        if value.GetType().IsArrayType():
            value = value.AddressOf()
        if value.GetType().GetTypeFlags() & lldb.eTypeIsFloat:
            number = int(float(value.GetValue()))
        else:
            number = value.GetValueAsUnsigned(0)
        return number & (2**64 - 1)

    def call_function(self, name, *args, returns="int"):
        process = self._require_process()
        options = lldb.SBExpressionOptions()
        options.SetUnwindOnError(True)
        options.SetIgnoreBreakpoints(True)
        options.SetTryAllThreads(True)
        options.SetTimeoutInMicroSeconds(_EXPRESSION_TIMEOUT_US)
        options.SetLanguage(lldb.eLanguageTypeC)
        value = process.GetTarget().EvaluateExpression(
            runtime_calls.call_expression(name, args, returns), options)
        error = value.GetError()
        if not value.IsValid() or (error.IsValid() and error.Fail()):
            raise runtime_calls.call_failed(name, error.GetCString() or "")
        return value.GetValueAsSigned()


def _expression_error(text):
    """LLDB's diagnostic of an expression, as one line: "use of undeclared
    identifier 'x'" out of "expression failed to parse:\nerror: <user
    expression 0>:1:1: use of undeclared identifier 'x'\nx\n^"."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    found = next((line for line in lines if line.startswith("error:")), lines[0] if lines else "")
    found = re.sub(r"^error:\s*", "", found)
    return re.sub(r"^<user expression \d+>:\d+:\d+:\s*", "", found) or "cannot evaluate it"


def _read(read, address, size):
    """What an SB ReadMemory method read at `address` (b"" on error)."""
    error = lldb.SBError()
    data = read(address, size, error)
    return bytes(data) if error.Success() and data else b""


def _symbols(contexts):
    """The valid symbols of an SBSymbolContextList."""
    for i in range(contexts.GetSize()):
        symbol = contexts.GetContextAtIndex(i).GetSymbol()
        if symbol.IsValid():
            yield symbol


def _registers(thread):
    """The general registers of a thread's innermost frame."""
    registers = {}
    frame = thread.GetFrameAtIndex(0)
    for regset in frame.GetRegisters() if frame.IsValid() else ():
        for reg in regset:
            name = reg.GetName()
            if name in GENERAL_REGISTERS and name not in registers:
                error = lldb.SBError()
                value = reg.GetValueAsUnsigned(error, 0)
                if error.Success():
                    registers[name] = value
    return registers
