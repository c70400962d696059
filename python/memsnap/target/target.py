"""Target: the core's one view of the process or core a backend reaches.

Everything in the core that touches the target goes through a Target: the
backend's primitives (backend.py), plus the policy written once for every
debugger: reads through the /proc/PID/mem fast path with its safety rule
(memory.py), the regions completed and named (regions.py), the module map
(modules.py), symbol addresses and what is at a return address
(symbolize.py), all kept in the backend's one cache (cache.py) until an
event the debugger reports (Backend.generation) may change them. A Target
holds no state of its own beyond that cache, so Target.of(backend) may be
called freely: every Target of one backend shares what was looked up.
"""

from .memory import Memory
from .modules import ModuleMap
from .regions import read_regions
from .symbolize import Symbolizer


class Target:
    def __init__(self, backend):
        self.backend = backend
        self.cache = backend.cache
        self.memory = Memory(backend)
        self.symbolizer = Symbolizer(self)
        self._symbols = self.cache.table("objfile", "symbols")
        self._files = self.cache.table("objfile", "core file")
        self._regions = self.cache.table("stop", "regions")

    @classmethod
    def of(cls, target_or_backend):
        """`target_or_backend` if it is a Target, else a Target over it."""
        if isinstance(target_or_backend, Target):
            return target_or_backend
        return cls(target_or_backend)

    def refresh(self):
        """Forget the answers the debugger's events since the last call may
        have changed; called once per operation (command, snapshot, check)."""
        self.cache.observe(self.backend.generation())
        return self

    # ---- the backend's answers ----
    def has_target(self):
        return self.backend.has_target()

    def is_live(self):
        return self.backend.is_live()

    def pid(self):
        return self.backend.pid()

    def threads(self):
        return self.backend.threads()

    def core_file(self):
        if "path" not in self._files:
            self._files["path"] = self.backend.core_file()
        return self._files["path"]

    def evaluate_address(self, expression):
        return self.backend.evaluate_address(expression)

    def global_variable_at(self, address):
        """The global or static backend.Variable holding `address`, or None."""
        return self.cache.memo("objfile", "global variables", address,
                               lambda: self.backend.global_variable_at(address))

    def stack_variable_at(self, tid, address):
        """The local or argument (backend.Variable) of thread `tid` whose
        storage holds `address`, innermost frame first; or None."""
        variables = self.cache.memo("stop", "stack variables", tid,
                                    lambda: self.backend.stack_variables(tid))
        return next((v for v in variables
                     if v.address <= address < v.address + max(v.type.size, 1)), None)

    def lookup_symbol(self, name):
        if name not in self._symbols:
            self._symbols[name] = self.backend.lookup_symbol(name)
        return self._symbols[name]

    # ---- policy ----
    def read(self, address, size):
        """Exactly `size` bytes at `address`, or raise UnreadableMemory."""
        return self.memory.read(address, size)

    def read_into(self, address, view):
        """Fill the writable buffer `view` from `address`, or raise UnreadableMemory."""
        self.memory.read_into(address, view)

    def write(self, address, data):
        """Write `data` into the live process, or raise UnwritableMemory."""
        self.backend.write_memory(address, bytes(data))

    def regions(self):
        """The target's memory regions, sorted (see regions.py)."""
        if "list" not in self._regions:
            self._regions["list"] = read_regions(self)
        return self._regions["list"]

    def modules(self):
        """The ModuleMap of the current regions."""
        if "modules" not in self._regions:
            self._regions["modules"] = ModuleMap(self.regions())
        return self._regions["modules"]
