"""What is at a return address, asked of the debugger once and spelled the same for every debugger.

Symbolizer.levels(pc) looks the address up at pc - 1 (a return address is
the instruction after the call), drops the levels inside memsnap's runtime,
spells source paths one way (normalized, the directory's symlinks resolved
for a file that exists, as GDB prints them; debuggers print a path they
could not resolve as the compiler recorded it: "./csu/../csu/libc-start.c"
in gdb, "csu/libc-start.c" in lldb), and for a level without line
information works out where in its module and function the address is
(modules.py, and the function's start from its symbol when that lies in
the same module, before the address and less than 1 MiB from it). Every
answer is kept in the target's cache for the objfile lifetime
(cache.py): one debugger lookup per PC while the loaded objects stay.
"""

import os
import posixpath
from typing import NamedTuple, Optional

from ..errors import MemsnapError
from .modules import is_runtime_module, real_module_path

# A function start further than this before the address is not believed.
_MAX_FUNCTION_SPAN = 1 << 20


class CodeLevel(NamedTuple):
    """One inlined level at a return address, innermost first in levels()."""
    function: Optional[str]
    filename: Optional[str]        # spelled once; None without line information
    lineno: int                    # 0 without line information
    module: Optional[str]          # path of the loaded object, None if unknown
    module_offset: Optional[int]   # of the return address; only without line information
    function_offset: Optional[int]  # return address - function start, idem


UNKNOWN = CodeLevel(None, None, 0, None, None, None)


class Symbolizer:
    """Return address -> tuple of CodeLevels, through the target's backend."""

    def __init__(self, target):
        self.target = target
        self._levels = target.cache.table("objfile", "pc levels")
        self._runtime = target.cache.table("objfile", "runtime modules")
        self._filenames = target.cache.table("objfile", "source paths")

    def levels(self, pc):
        levels = self._levels.get(pc)
        if levels is None:
            levels = self._levels[pc] = self._resolve(pc)
        return levels

    def cached(self, pc):
        return pc in self._levels

    def _resolve(self, pc):
        looked_up = pc - 1 if pc > 0 else pc
        try:
            locations = self.target.backend.symbolize(looked_up)
        except MemsnapError:
            locations = []
        if not locations:
            return (UNKNOWN,)
        levels = []
        for location in locations:
            if not self._in_runtime(location.module):
                levels.append(self._level(pc, looked_up, location))
        return tuple(levels)

    def _in_runtime(self, module):
        answer = self._runtime.get(module)
        if answer is None:
            answer = self._runtime[module] = is_runtime_module(module)
        return answer

    def _level(self, pc, looked_up, location):
        module, module_offset = location.module, location.module_offset
        if module is None or module_offset is None:
            module, base = self.target.modules().locate(looked_up, module)
            module_offset = looked_up - base if base is not None else looked_up
        module = real_module_path(module)
        if location.filename and location.lineno and location.lineno > 0:
            return CodeLevel(location.function, self.source_path(location.filename),
                             int(location.lineno), module, None, None)
        function_offset = None
        if module is not None:
            if location.function:
                base = looked_up - module_offset
                start = self.target.lookup_symbol(location.function)
                if start is not None and base <= start <= looked_up < start + _MAX_FUNCTION_SPAN:
                    function_offset = pc - start
            module_offset += pc - looked_up
        else:
            module_offset = None
        return CodeLevel(location.function, None, 0, module, module_offset, function_offset)

    def source_path(self, filename):
        """A source path as printed: normalized, and for an existing file its
        directory's symlinks resolved."""
        spelled = self._filenames.get(filename)
        if spelled is None:
            spelled = posixpath.normpath(filename)
            if spelled.startswith("/") and os.path.exists(spelled):
                spelled = os.path.join(os.path.realpath(os.path.dirname(spelled)),
                                       os.path.basename(spelled))
            self._filenames[filename] = spelled
        return spelled
