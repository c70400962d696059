"""The seam between memsnap's core and a debugger: a protocol of primitives only.

A backend answers what only its debugger knows, as plain Python data, and
decides nothing: gdb/ and lldb/ each provide one (tests provide a fake, over
bytes written by the real C writer). Everything that is policy (when to read
/proc/PID/mem directly, how a core's regions are completed, how names and
paths are spelled, what is cached and until when) is written once in the
core, in target.py and the modules it uses. Methods raise memsnap.errors
exceptions, never debugger-specific ones. Addresses are ints; only x86-64
Linux targets are supported for now.

The primitives: has_target, is_live, pid, local_pid, core_file, generation
(what the debugger has seen happen), read_memory (a prefix may be all that
is readable), regions (as the debugger lists them), threads (with their
general registers), lookup_symbol, symbolize (the debugger's raw line and
inline information for one code address), source_line and call_function;
and for naming what holds memory (retention paths, leaks/retention_names.py):
global_variable_at and stack_variables (variables from debug information,
with their DataType), variable_type (a global or thread-local variable's
declared type, by name), type_members and type_target (a type's layout);
for blocks' types (leaks/block_types.py): symbol_at (the symbol holding a
data address: a vtable), lookup_type, and format_value (the debugger's own
printer).
The base class also carries `cache`, the one cache of the target's answers
(target/cache.py): the core keeps its lookups there, and an adapter may keep
an expensive answer of its own there under the same rules.
"""

from dataclasses import dataclass, field
from typing import Dict, List, NamedTuple, Optional

from . import sourcelines
from .cache import TargetCache
from ..errors import UnwritableMemory


@dataclass(frozen=True)
class Region:
    """One mapped memory region of the target (from /proc maps or the core)."""
    start: int
    end: int                 # exclusive
    readable: bool
    writable: bool
    executable: bool
    name: str = ""           # backing file path, "[stack]", "[heap]", or ""
    in_core: bool = True     # False when a core file lacks this region's bytes (its start)
    offset: int = 0          # file offset mapped at start (0 when unknown)


class Location(NamedTuple):
    """What the debugger knows about one code address (one inline level);
    a named tuple: one is made per inline level of every address symbolized."""
    function: Optional[str]  # as the debugger spells it (see target/names.py), None if unknown
    filename: Optional[str]  # source path as the debugger resolves it (substitute-path,
                             # source-map applied), None without line info
    lineno: int              # 0 without line info
    module: Optional[str]    # path of the loaded object containing the address, None
                             # when the debugger does not say (the core finds it)
    module_offset: Optional[int]  # address - module load base; None when the debugger
                                  # does not know the base (the core finds it)
    address: int             # the address that was looked up


# The x86-64 general registers a backend reports in ThreadState.registers.
GENERAL_REGISTERS = ("rip", "rsp", "rbp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi",
                     "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")


@dataclass(frozen=True)
class ThreadState:
    """A thread of the stopped target and its general registers."""
    tid: int
    registers: Dict[str, int] = field(default_factory=dict)  # x86-64 names: rip, rsp, rbp, rax, ...
    name: str = ""
    number: int = 0          # the debugger's own thread number (`thread 3`), 0 if unknown


# DataType.kind: what a type is once its typedefs are stripped.
TYPE_POINTER, TYPE_STRUCT, TYPE_UNION, TYPE_ARRAY, TYPE_OTHER = (
    "pointer", "struct", "union", "array", "other")


@dataclass(frozen=True)
class DataType:
    """A type from debug information, as plain data plus the debugger's own
    type object (`handle`, opaque to the core, passed back to type_members
    and type_target)."""
    name: str                # as declared: "struct entry", "cache_t", "char *"
    kind: str                # TYPE_* of the type with typedefs stripped (C++ classes: struct)
    size: int                # bytes (0 when incomplete)
    handle: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Member:
    """A data member (or a C++ base class) of a struct, class or union."""
    name: str                # "" for an anonymous member; the class name for a base
    offset: int              # bytes from the start of the enclosing type
    type: DataType
    is_base: bool = False


@dataclass(frozen=True)
class Variable:
    """A variable in memory (a global, a static, or a frame's local or argument)."""
    name: str
    address: int
    type: DataType
    frame: int = 0           # stack variables: the frame's level (0 innermost)
    function: str = ""       # stack variables: the frame's function


class Generation(NamedTuple):
    """What the debugger has seen happen to its target, as values that change
    when it happens (see target/cache.py for what each one invalidates)."""
    target: object           # which process or core: changes when it is another one
    objfiles: int = 0        # changes when objects are loaded or unloaded (exec included)
    stops: int = 0           # changes whenever the program has run or memory was written


class Backend:
    """Base class and documentation of the protocol. Subclasses override
    every method that raises NotImplementedError."""

    name = "abstract"        # "gdb", "lldb", "fake", ...

    @property
    def cache(self) -> TargetCache:
        """The one cache of this target's answers (made on first use)."""
        cache = self.__dict__.get("_memsnap_cache")
        if cache is None:
            cache = self.__dict__["_memsnap_cache"] = TargetCache()
        return cache

    def has_target(self) -> bool:
        """True when there is a process or a core to read."""
        raise NotImplementedError

    def is_live(self) -> bool:
        """True for a live (stopped) process, False for a core dump."""
        raise NotImplementedError

    def pid(self) -> Optional[int]:
        raise NotImplementedError

    def local_pid(self) -> Optional[int]:
        """The pid of a live process on this machine, whose /proc entries are
        this process's own; None for a core, a remote process or no process."""
        return None

    def core_file(self) -> Optional[str]:
        """Path of the core file the target was read from; None for a live
        process, or when the debugger cannot tell."""
        return None

    def generation(self) -> Generation:
        """The debugger's count of what happened to the target so far."""
        return Generation(self.pid())

    def read_memory(self, address: int, size: int) -> bytes:
        """The bytes at `address`: all `size` of them, or the readable prefix
        of them; raises errors.UnreadableMemory when none is readable."""
        raise NotImplementedError

    def write_memory(self, address: int, data: bytes) -> None:
        """Write `data` at `address` of the live process; raises
        errors.UnwritableMemory when it cannot (a core, a debugger without
        the means)."""
        raise UnwritableMemory(address, len(data))

    def regions(self) -> List[Region]:
        """The memory regions as the debugger lists them (for a core, whatever
        it knows: segments, file mappings, or both; names may be missing;
        in_core False for what it knows the core lacks)."""
        return []

    def threads(self) -> List[ThreadState]:
        return []

    def lookup_symbol(self, name: str) -> Optional[int]:
        """Address of a global symbol (data or code); works without debug info."""
        raise NotImplementedError

    def symbolize(self, address: int) -> List[Location]:
        """Locations for a code address, innermost inlined level first.

        The core passes return addresses minus one. Never empty: an address
        the debugger knows nothing about gives one Location with function None.
        """
        raise NotImplementedError

    def source_line(self, filename: str, lineno: int) -> Optional[str]:
        """The text of a source line (no trailing newline), or None: by
        default read from disk; a debugger with its own source path rules
        reads it where they say."""
        return sourcelines.from_disk(filename, lineno)

    def evaluate_address(self, expression: str) -> int:
        """The value of a debugger expression as a 64-bit address (an array
        gives its address, a number its value); errors.BadAddressError with
        the debugger's own message when it cannot be evaluated."""
        raise NotImplementedError

    def global_variable_at(self, address: int) -> Optional[Variable]:
        """The global or static variable (debug information) whose storage
        holds `address`, or None."""
        return None

    def variable_type(self, name: str) -> Optional[DataType]:
        """The declared type of the global, static or thread-local variable
        `name` (debug information), or None."""
        return None

    def stack_variables(self, tid: int) -> List[Variable]:
        """The locals and arguments in memory of every frame of thread `tid`
        (innermost frame first); none without debug information."""
        return []

    def type_members(self, datatype: DataType) -> List[Member]:
        """The members (and base classes) of a struct, class or union type,
        in declaration order; [] for other types."""
        return []

    def type_target(self, datatype: DataType) -> Optional[DataType]:
        """What a pointer type points to, or an array type's element; else None."""
        return None

    def symbol_at(self, address: int) -> Optional[tuple]:
        """(name, start) of the symbol (debug information or not) whose range
        holds a data address, its name demangled ("vtable for Circle"); None."""
        return None

    def lookup_type(self, name: str) -> Optional[DataType]:
        """The type named `name` ("Circle", "struct entry"), or None."""
        return None

    def format_value(self, address: int, datatype: DataType, count: int = 1) -> str:
        """The value of type `datatype` (an array of `count` of them when
        count > 1) at `address`, as the debugger's own printer shows it."""
        raise NotImplementedError

    def call_function(self, name: str, *args, returns: str = "int") -> int:
        """Call function `name` of the live process with integer or str
        arguments (expression: target/runtime_calls.py) and return its
        result, an int or (returns="long") a pointer-sized value."""
        raise NotImplementedError
