"""Loaded objects: which one holds a code address and where it is loaded, and which is memsnap's runtime.

A debugger that names the object of an address but not its load base (GDB:
gdb.solib_name, and nothing for the main program) leaves the rest to
ModuleMap, built from the target's regions: the object is the file of the
region holding the address, and its load base the start of the nearest
mapping of that file at file offset 0 at or below the address (a file can
also be mapped elsewhere, e.g. read by an unwinder, so the lowest mapping is
not always it). Regions are found by bisection over them sorted once, or in
order when some overlap (a core's segments and file mappings may).
is_runtime_module() tells the runtime's own code (never shown) apart.
"""

import fnmatch
import os

from .address_ranges import RangeIndex

RUNTIME_MODULE_PATTERN = "libmemsnap*.so*"


def module_basename(path):
    """The file name of a module path; "??" for no module."""
    if not path:
        return "??"
    return path.rstrip("/").rsplit("/", 1)[-1] or path


def real_module_path(path):
    """One spelling of a module path for every debugger: symbolic links
    resolved where this machine has the file (GDB names /usr/bin/python3
    by its target python3.11, LLDB by the link); else the path as given."""
    return _realpath(path) if path and path.startswith("/") else path


def is_runtime_module(module):
    """True for code of the memsnap runtime itself (never shown)."""
    return bool(module) and fnmatch.fnmatchcase(module_basename(module), RUNTIME_MODULE_PATTERN)


class ModuleMap:
    """Address -> (module path, load base), from the target's regions."""

    def __init__(self, regions):
        self._regions = regions
        self._index = RangeIndex((r.start, r.end, r) for r in regions)
        self._starts = {}           # real path -> starts of its mappings at file offset 0
        for region in regions:
            if region.name.startswith("/") and region.offset == 0:
                self._starts.setdefault(_realpath(region.name), []).append(region.start)
        self._bases = {}            # (module, region) -> load base: one per mapping

    def locate(self, address, module=None):
        """(module, load base) of the object holding `address`: `module` if
        the debugger named it, else the file of its region; (None, None)
        when neither is known. The base is None when no mapping of the file
        at offset 0 is known."""
        region = self._region_at(address)
        if module is None:
            module = region.name if region is not None and region.name.startswith("/") else None
        if module is None:
            return None, None
        if region is None:
            return module, self._base(module, address)
        key = (module, region)
        if key not in self._bases:
            self._bases[key] = self._base(module, address)
        return module, self._bases[key]

    def _region_at(self, address):
        found = self._index.find(address)
        if found is None and not self._index.complete:
            return next((r for r in self._regions if r.start <= address < r.end), None)
        return found

    def _base(self, module, address):
        starts = self._starts.get(_realpath(module))
        if not starts:
            return None
        below = [start for start in starts if start <= address]
        return max(below) if below else min(starts)


_REALPATHS = {}


def _realpath(path):
    real = _REALPATHS.get(path)
    if real is None:
        real = _REALPATHS[path] = os.path.realpath(path)
    return real
