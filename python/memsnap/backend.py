"""The narrow protocol between memsnap's debugger-agnostic core and a debugger.

The core (reader, model, commands) talks to a process or core dump only
through an object with these methods; `gdb/` and `lldb/` each provide one,
and tests provide fakes. Everything a backend returns is plain Python data.
Methods raise memsnap.errors exceptions (never debugger-specific ones).
Addresses are ints. Only x86-64 Linux targets are supported for now.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass(frozen=True)
class Region:
    """One mapped memory region of the target (from /proc maps or the core)."""
    start: int
    end: int                 # exclusive
    readable: bool
    writable: bool
    executable: bool
    name: str = ""           # backing file path, "[stack]", "[heap]", or ""
    in_core: bool = True     # False when a core file lacks this region's bytes


@dataclass(frozen=True)
class Location:
    """What the debugger knows about one code address (one inline level)."""
    function: Optional[str]  # demangled name, None if unknown
    filename: Optional[str]  # absolute source path as the debugger resolves it
                             # (substitute-path applied), None without line info
    lineno: int              # 0 without line info
    module: Optional[str]    # path of the loaded object containing the address
    module_offset: int       # address - module load base
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


class Backend:
    """Base class and documentation of the protocol. Subclasses override all."""

    name = "abstract"        # "gdb", "lldb", "fake", ...

    def has_target(self) -> bool:
        """True when there is a process or a core to read."""
        raise NotImplementedError

    def is_live(self) -> bool:
        """True for a live (stopped) process, False for a core dump."""
        raise NotImplementedError

    def pid(self) -> Optional[int]:
        raise NotImplementedError

    def core_file(self) -> Optional[str]:
        """Path of the core file the target was read from; None for a live
        process, or when the debugger cannot tell."""
        return None

    def read_memory(self, address: int, size: int) -> bytes:
        """Exactly `size` bytes at `address`, or raise errors.UnreadableMemory."""
        raise NotImplementedError

    def lookup_symbol(self, name: str) -> Optional[int]:
        """Address of a global symbol (data or code); works without debug info."""
        raise NotImplementedError

    def symbolize(self, address: int) -> List[Location]:
        """Locations for a code address, innermost inlined level first.

        Callers pass return addresses minus one. Never empty: an address the
        debugger knows nothing about gives one Location with function None.
        """
        raise NotImplementedError

    def source_line(self, filename: str, lineno: int) -> Optional[str]:
        """The text of a source line (no trailing newline), or None."""
        raise NotImplementedError

    def threads(self) -> List[ThreadState]:
        raise NotImplementedError

    def regions(self) -> List[Region]:
        raise NotImplementedError

    def call_function(self, name: str, *args: int) -> int:
        """Call a function of a live process with integer args; its int result."""
        raise NotImplementedError
