"""memsnap's backend for GDB: the primitives of python/memsnap/target/backend.py over gdb's Python API.

Only what gdb knows: its inferior's memory, symbols found without debug
info (`&name`), what is at a code address (memsnap_gdb_symbols.py),
variables and types from debug information (memsnap_gdb_types.py), `info
proc mappings`, threads with their registers, calls into a live process,
and a count of the events gdb reports (stops, objfiles) for the core's one
cache.
Everything else (the /proc/PID/mem fast path, a core's segments, module
load bases, name spelling, caching) is the core's. Raises memsnap.errors
exceptions only.
"""

import re

import gdb

from memsnap import errors
from memsnap.target import procmaps, runtime_calls
from memsnap.target.backend import GENERAL_REGISTERS, Backend, Generation, ThreadState

import memsnap_gdb_symbols
import memsnap_gdb_types

# The backend memsnap_gdb.py installed (for scripts and tests).
INSTANCE = None

_CORE_FILE = re.compile(r"Local core dump file:\s*`(.+?)'", re.S)
_MAPPING = re.compile(r"^\s*(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+"
                      r"(0x[0-9a-f]+)\s+(?:([rwxsp-]{4})\s+)?(.*)$")


class GdbBackend(Backend):
    """The memsnap backend protocol implemented with gdb's Python API."""

    name = "gdb"

    def __init__(self):
        self._stops = self._objfiles = 0
        self._writing = False   # our own write_memory: not the program running
        for event in ("stop", "cont", "memory_changed"):
            getattr(gdb.events, event).connect(self._ran)
        for event in ("new_objfile", "clear_objfiles", "exited"):
            if hasattr(gdb.events, event):
                getattr(gdb.events, event).connect(self._loaded)

    def _ran(self, event):
        if not self._writing:
            self._stops += 1

    def _loaded(self, event):
        self._objfiles += 1

    # ---- target ----

    def _inferior(self):
        return gdb.selected_inferior()

    def _connection_type(self):
        inferior = self._inferior()
        if inferior.pid == 0:
            return None
        connection = getattr(inferior, "connection", None)
        return connection.type if connection is not None else "native"

    def has_target(self):
        return self._connection_type() is not None

    def is_live(self):
        return self._connection_type() not in (None, "core")

    def pid(self):
        return self._inferior().pid or None

    def local_pid(self):
        return self.pid() if self._connection_type() == "native" else None

    def generation(self):
        inferior = self._inferior()
        return Generation((inferior.num, inferior.pid, self._connection_type()),
                          self._objfiles, self._stops)

    def core_file(self):
        if self._connection_type() != "core":
            return None
        try:
            match = _CORE_FILE.search(gdb.execute("info target", to_string=True))
        except gdb.error:
            return None
        return match.group(1) if match else None

    # ---- memory ----

    def read_memory(self, address, size):
        if not self.has_target():
            raise errors.NoTargetError()
        try:
            return bytes(self._inferior().read_memory(address, size))
        except (gdb.MemoryError, gdb.error, OverflowError, ValueError):
            raise errors.UnreadableMemory(address, size) from None

    def write_memory(self, address, data):
        if not self.is_live():
            raise errors.UnwritableMemory(address, len(data))
        self._writing = True
        try:
            self._inferior().write_memory(address, data)
        except (gdb.MemoryError, gdb.error, OverflowError, ValueError):
            raise errors.UnwritableMemory(address, len(data)) from None
        finally:
            self._writing = False

    def regions(self):
        """`info proc mappings` (for a core: its file mappings; permissions
        "r--p" where gdb shows none)."""
        try:
            text = gdb.execute("info proc mappings", to_string=True)
        except gdb.error:
            return []
        regions = []
        for line in text.splitlines():
            match = _MAPPING.match(line)
            if match is not None:
                regions.append(procmaps.Mapping(
                    int(match.group(1), 16), int(match.group(2), 16), match.group(4) or "r--p",
                    int(match.group(3), 16), match.group(5).strip()).region())
        return regions

    def threads(self):
        if not self.has_target():
            raise errors.NoTargetError()
        with memsnap_gdb_types.selection_kept():
            return [self._thread_state(thread)
                    for thread in sorted(self._inferior().threads(), key=lambda t: t.num)
                    if thread.is_valid()]

    @staticmethod
    def _thread_state(thread):
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
        tid = memsnap_gdb_types.thread_id(thread)
        return ThreadState(tid=tid, registers=registers, name=thread.name or "", number=thread.num)

    # ---- symbols ----

    def lookup_symbol(self, name):
        if not (self.has_target() or gdb.objfiles()):
            return None
        for expression in ("(unsigned long)&'%s'", "(unsigned long)&%s"):
            try:
                return int(gdb.parse_and_eval(expression % name))
            except (gdb.error, RuntimeError):
                pass
        return None

    def symbolize(self, address):
        return memsnap_gdb_symbols.locations(address)

    # ---- variables and types (memsnap_gdb_types.py) ----

    def global_variable_at(self, address):
        return memsnap_gdb_types.global_variable_at(address) if self.has_target() else None

    def variable_type(self, name):
        return memsnap_gdb_types.variable_type(name) if self.has_target() else None

    def stack_variables(self, tid):
        return memsnap_gdb_types.stack_variables(tid) if self.has_target() else []

    def type_members(self, datatype):
        return memsnap_gdb_types.type_members(datatype)

    def type_target(self, datatype):
        return memsnap_gdb_types.type_target(datatype)

    def symbol_at(self, address):
        return memsnap_gdb_types.symbol_at(address) if self.has_target() else None

    def lookup_type(self, name):
        return memsnap_gdb_types.lookup_type(name)

    def format_value(self, address, datatype, count=1):
        return memsnap_gdb_types.format_value(address, datatype, count)

    # ---- calls ----

    def evaluate_address(self, expression):
        try:
            value = gdb.parse_and_eval(expression)
            if value.type.strip_typedefs().code == gdb.TYPE_CODE_ARRAY:
                value = value.address
            return int(value.cast(gdb.lookup_type("unsigned long"))) & (2**64 - 1)
        except (gdb.error, RuntimeError, ValueError, OverflowError) as e:
            raise errors.BadAddressError(str(e) or type(e).__name__) from None

    def call_function(self, name, *args, returns="int"):
        try:
            return int(gdb.parse_and_eval(runtime_calls.call_expression(name, args, returns)))
        except gdb.error as e:
            raise runtime_calls.call_failed(name, e) from None


def _to_int(value):
    try:
        return int(value)
    except gdb.error:
        return int(value.cast(gdb.lookup_type("unsigned long")))
