"""Frame sources: turn the entries of a stack into Frames, lazily and cached.

A site's stack is a tuple of references; a frame source maps one reference
to its frames, innermost inlined level first. PcSymbolizer resolves return
addresses through the debugger (backend.symbolize(pc - 1)), drops runtime
frames, gives frames without line info a label that keeps functions apart
(see frames.py), and caches every PC for the session. FrameListSource serves
snapshots built from tracemalloc-style frame tuples or loaded from a file.
"""

import posixpath

from .errors import MemsnapError
from .frames import Frame, label_for, module_basename
from .keyframe import is_runtime_module

# A function start further than this before the address is not believed.
_MAX_FUNCTION_SPAN = 1 << 20


def _normalized(filename):
    """One spelling per source path, whichever debugger gave it.

    Debuggers print a path they could not resolve as the compiler recorded
    it ("./csu/../csu/libc-start.c" in gdb, "csu/libc-start.c" in lldb);
    normalizing makes both give the same frame and the same text."""
    return posixpath.normpath(filename)


class PcSymbolizer:
    """Return address -> tuple of Frames, through a Backend, cached."""

    def __init__(self, backend):
        self.backend = backend
        self._cache = {}
        self._starts = {}
        self._runtime = {}        # module -> is_runtime_module(module)
        self._filenames = {}      # filename -> _normalized(filename)
        self.lookups = 0          # backend.symbolize calls made (for reports)

    def frames(self, pc):
        frames = self._cache.get(pc)
        if frames is None:
            frames = self._cache[pc] = self._resolve(pc)
        return frames

    def cached(self, pc):
        return pc in self._cache

    def _resolve(self, pc):
        looked_up = pc - 1 if pc > 0 else pc
        self.lookups += 1
        try:
            locations = self.backend.symbolize(looked_up)
        except MemsnapError:
            locations = []
        if not locations:
            return (Frame(("??", 0, None, pc, None, label_for(None, None, None, pc))),)
        frames = []
        runtime = self._runtime
        for location in locations:
            module = location.module
            in_runtime = runtime.get(module)
            if in_runtime is None:
                in_runtime = runtime[module] = is_runtime_module(module)
            if in_runtime:
                continue
            frames.append(self._frame(pc, looked_up, location))
        return tuple(frames)

    def _frame(self, pc, looked_up, location):
        filename = location.filename
        if filename and location.lineno and location.lineno > 0:
            normalized = self._filenames.get(filename)
            if normalized is None:
                normalized = self._filenames[filename] = _normalized(filename)
            return Frame((normalized, int(location.lineno), location.function, pc,
                          location.module, ""))
        module_offset = None
        function_offset = None
        if location.module:
            module_offset = location.module_offset + (pc - looked_up)
            if location.function:
                base = location.address - location.module_offset
                start = self._function_start(location.function)
                if start is not None and base <= start <= looked_up < start + _MAX_FUNCTION_SPAN:
                    function_offset = pc - start
        label = label_for(location.function, function_offset, module_offset, pc)
        return Frame((module_basename(location.module), 0, location.function, pc,
                      location.module, label))

    def _function_start(self, name):
        if name in self._starts:
            return self._starts[name]
        try:
            start = self.backend.lookup_symbol(name)
        except MemsnapError:
            start = None
        self._starts[name] = start
        return start


class FrameListSource:
    """References are indexes into a list of frame tuples (innermost first)."""

    def __init__(self, entries=()):
        self._entries = [tuple(entry) for entry in entries]
        self._index = {}
        for i, entry in enumerate(self._entries):
            self._index[tuple(f.as_tuple() for f in entry)] = i

    def add(self, frames):
        """Reference for a tuple of Frames, reusing an equal entry."""
        frames = tuple(frames)
        key = tuple(f.as_tuple() for f in frames)
        ref = self._index.get(key)
        if ref is None:
            ref = self._index[key] = len(self._entries)
            self._entries.append(frames)
        return ref

    def frames(self, ref):
        return self._entries[ref]

    def cached(self, ref):
        return True
