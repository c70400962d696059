"""The key-frame rule (DESIGN §2): which frame a statistic is charged to.

Frames inside the runtime (libmemsnap) never appear in tracebacks. Frames in
the C and C++ system libraries (libc, libstdc++, libgcc, ld.so) and in
system headers (/usr/include, /usr/lib/gcc) stay in tracebacks, but the key
frame of a statistic (keys lineno, filename, function; filters) is the
innermost frame outside them, so `strdup` or `std::vector` growth is charged
to the user's line. With raw=True the key frame is the innermost frame.
"""

import fnmatch

from .frames import module_basename

SYSTEM_MODULE_PATTERNS = (
    "libc.so*", "libc-*.so", "libstdc++.so*", "libgcc_s.so*", "ld-linux*.so*",
    "ld-*.so*", "ld.so*", "libpthread.so*", "libdl.so*", "librt.so*",
    "libmemsnap*.so*",
)
SYSTEM_SOURCE_PREFIXES = ("/usr/include/", "/usr/lib/gcc/")
RUNTIME_MODULE_PATTERN = "libmemsnap*.so*"


def is_runtime_module(module):
    """True for code of the memsnap runtime itself (never shown)."""
    return bool(module) and fnmatch.fnmatchcase(module_basename(module), RUNTIME_MODULE_PATTERN)


_system_module_cache = {}


def is_system_module(module):
    """True for a system library path (cached: called once per frame)."""
    answer = _system_module_cache.get(module)
    if answer is None:
        base = module_basename(module)
        answer = any(fnmatch.fnmatchcase(base, p) for p in SYSTEM_MODULE_PATTERNS)
        _system_module_cache[module] = answer
    return answer


def is_system_frame(frame):
    """True when a frame is not the user's: system library or system header."""
    module = frame.module
    if module and is_system_module(module):
        return True
    filename = frame.filename
    if filename and filename.startswith(SYSTEM_SOURCE_PREFIXES):
        return True
    return False


def pick_key_frame(frames, raw=False):
    """The key frame of an iterable of frames, innermost first; None if empty.

    Consumes the iterable only as far as needed (symbolization is lazy)."""
    first = None
    for frame in frames:
        if raw:
            return frame
        if first is None:
            first = frame
        if not is_system_frame(frame):
            return frame
    return first
