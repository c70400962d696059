"""Loading libmemsnap.so into a live process started without it (memtrace start after attaching).

load_runtime(target) has the stopped process call its own dlopen() on the
runtime this memsnap was built with (buildconfig.RUNTIME), through the
debugger's call primitive (Backend.call_function, target/runtime_calls.py),
so the same code serves gdb and lldb. The runtime then traces nothing until
memsnap_attach() (runtime/inject_got.c) redirects the process's allocation
calls to it: views/cmd_memtrace.py calls it. A process that cannot load a
library (static binary, no dlopen, dlopen failing) gets one clear line
(CannotLoadError). docs/production.md tells the whole story.
"""

import os
import re

from ..errors import MemsnapError

try:
    from .. import buildconfig
except ImportError:     # a source tree used without a build: no runtime to load
    buildconfig = None

RTLD_NOW = 0x2
RTLD_NODELETE = 0x1000      # never unloaded: the rewritten imports lead into it
DLERROR_MAX = 512


class CannotLoadError(MemsnapError):
    """The runtime cannot be loaded into this process."""


def runtime_loaded(target):
    return target.lookup_symbol("memsnap_root") is not None


def load_runtime(target, path=None):
    """dlopen the runtime into the live process `target` (a no-op when it
    is there); raise CannotLoadError with the reason."""
    if runtime_loaded(target):
        return
    path = path or (buildconfig.RUNTIME if buildconfig else "")
    if not path or not os.path.isfile(path):
        raise CannotLoadError("cannot load the runtime: %s is missing (run memsnap from a build "
                              "tree's launcher or an installed copy)" % (path or "libmemsnap.so"))
    prefix = "cannot load %s into process %d: " % (os.path.basename(path), target.pid())
    if not _dynamic_loader_mapped(target) or target.lookup_symbol("dlopen") is None:
        raise CannotLoadError(prefix + "it has no dynamic loader or no dlopen (a static "
                              "binary, or libc not loaded yet)")
    handle = target.backend.call_function("dlopen", path, RTLD_NOW | RTLD_NODELETE, returns="long")
    if handle == 0:
        raise CannotLoadError(prefix + "dlopen failed: %s" % _dlerror(target))
    target.cache.clear("objfile")     # a library came in: every answer may change
    target.cache.clear("stop")
    if not runtime_loaded(target):
        raise CannotLoadError(prefix + "dlopen returned, but the debugger sees no memsnap_root")


def _dynamic_loader_mapped(target):
    """A static binary may hold a dlopen, which would bring in a second
    libc: only a process with the dynamic loader mapped can load us."""
    return any(_LOADER.match(os.path.basename(region.name)) for region in target.regions())


_LOADER = re.compile(r"^ld-linux.*\.so")


def _dlerror(target):
    address = target.backend.call_function("dlerror", returns="long") & (2**64 - 1)
    if not address:
        return "no reason given"
    try:
        text = target.read(address, DLERROR_MAX)
    except MemsnapError:
        return "unreadable reason"
    return text.split(b"\0", 1)[0].decode("utf-8", "replace")
