"""The key-frame rule (docs/architecture.md): which frame a statistic is charged to.

Frames inside the runtime (libmemsnap) never appear in tracebacks. Frames in
the C and C++ system libraries (libc, libstdc++, libgcc, ld.so) and in
system headers (/usr/include, /usr/lib/gcc) stay in tracebacks, but the key
frame of a statistic (keys lineno, filename, function; filters) is the
innermost frame outside them, so `strdup` or `std::vector` growth is charged
to the user's line. With raw=True the key frame is the innermost frame.
(Runtime frames are dropped by the symbolizer, target/symbolize.py.)
"""

import fnmatch

from ..target.modules import RUNTIME_MODULE_PATTERN, module_basename
from .frames import UNKNOWN_FRAME

SYSTEM_MODULE_PATTERNS = (
    "libc.so*", "libc-*.so", "libstdc++.so*", "libgcc_s.so*", "ld-linux*.so*",
    "ld-*.so*", "ld.so*", "libpthread.so*", "libdl.so*", "librt.so*",
    RUNTIME_MODULE_PATTERN,
)
SYSTEM_SOURCE_PREFIXES = ("/usr/include/", "/usr/lib/gcc/")

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


def key_frame_of(traceback, raw=False):
    """The key frame of a Traceback (oldest frame first), UNKNOWN_FRAME if empty."""
    return pick_key_frame(reversed(traceback), raw) or UNKNOWN_FRAME
