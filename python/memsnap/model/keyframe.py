"""The key-frame rule (docs/architecture.md): which frame a statistic is charged to.

Frames inside the runtime (libmemsnap) never appear in tracebacks. Frames in
the C and C++ system libraries (libc, libstdc++, libgcc, ld.so), in system
headers (/usr/include, /usr/lib/gcc) and in allocator wrappers (a built-in
list of common ones, ALLOCATOR_FUNCTIONS, plus the user's --alloc-fn globs)
stay in tracebacks, but the key frame of a statistic (keys lineno,
filename, function; filters) is the innermost frame outside them, so
`strdup`, `std::vector` growth or `xmalloc` is charged to the user's line.
A KeyRule says which rule applies: raw (the innermost frame, whatever it
is) or the default one with extra allocator globs. (Runtime frames are
dropped by the symbolizer, target/symbolize.py.)
"""

import fnmatch
import re

from ..target.modules import RUNTIME_MODULE_PATTERN, module_basename
from .frames import UNKNOWN_FRAME

SYSTEM_MODULE_PATTERNS = (
    "libc.so*", "libc-*.so", "libstdc++.so*", "libgcc_s.so*", "ld-linux*.so*",
    "ld-*.so*", "ld.so*", "libpthread.so*", "libdl.so*", "librt.so*",
    RUNTIME_MODULE_PATTERN,
)
SYSTEM_SOURCE_PREFIXES = ("/usr/include/", "/usr/lib/gcc/")

# Function-name globs (fnmatch, case-sensitive) of the allocator wrappers of
# common C libraries and programs: GNU's xmalloc family, GLib, SQLite,
# CPython, jq, OpenSSL, FFmpeg, nginx, APR, talloc, jemalloc and tcmalloc.
ALLOCATOR_FUNCTIONS = (
    "xmalloc", "xcalloc", "xrealloc", "xreallocarray", "xstrdup", "xstrndup", "xmemdup*",
    "xzalloc", "xnmalloc", "xnrealloc", "x2realloc", "x2nrealloc", "xcharalloc", "ximalloc",
    "xicalloc", "xirealloc", "xmallocz", "xmallocz_gently", "xstrdup_or_null", "xmemdupz",
    "do_xmalloc", "do_xmallocz",
    "g_malloc*", "g_try_malloc*", "g_realloc*", "g_try_realloc*", "g_new*", "g_renew*",
    "g_strdup*", "g_strndup", "g_memdup*", "g_slice_alloc*", "g_slice_copy",
    "sqlite3Malloc*", "sqlite3MemMalloc", "sqlite3MemRealloc", "sqlite3Realloc",
    "sqlite3_malloc*", "sqlite3_realloc*", "sqlite3DbMalloc*", "sqlite3DbRealloc*",
    "sqlite3DbStrDup", "sqlite3DbStrNDup", "dbMallocRawFinish", "sqlite3DbReallocOrFree",
    "PyMem_*", "PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc", "_PyMem_*",
    "_PyObject_Malloc", "_PyObject_Calloc", "_PyObject_Realloc", "_PyObject_GC_Alloc",
    "_PyObject_GC_Malloc", "gc_alloc", "_PyObject_GC_New*", "PyObject_GC_*", "_PyObject_New*",
    "PyType_GenericAlloc", "_PyType_AllocNoTrack",
    "jv_mem_alloc*", "jv_mem_calloc*", "jv_mem_realloc", "jv_mem_strdup*",
    "CRYPTO_malloc", "CRYPTO_zalloc", "CRYPTO_realloc", "CRYPTO_clear_realloc",
    "CRYPTO_strdup", "CRYPTO_strndup", "CRYPTO_memdup", "OPENSSL_malloc", "OPENSSL_zalloc",
    "av_malloc*", "av_mallocz*", "av_calloc", "av_realloc*", "av_strdup", "av_memdup",
    "ngx_alloc", "ngx_calloc", "ngx_palloc*", "ngx_pnalloc", "ngx_pcalloc", "ngx_pmemalign",
    "apr_palloc", "apr_pcalloc", "apr_pstrdup", "apr_pstrndup", "apr_pmemdup",
    "talloc*", "_talloc*", "__talloc*",
    "je_*", "tc_*",
)

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


def _function_matcher(globs):
    """One compiled regular expression matching any of `globs` (None: none)."""
    if not globs:
        return None
    return re.compile("|".join("(?:%s)" % fnmatch.translate(g) for g in globs)).match


class KeyRule:
    """Which frame is a site's key frame: the innermost one (raw), or the
    innermost outside the system libraries and the allocator functions (the
    built-in list plus `alloc_fns`, function-name globs). Hashable: sites
    cache their key frame per rule."""

    __slots__ = ("raw", "alloc_fns", "_is_allocator", "_answers", "_hash")

    def __init__(self, raw=False, alloc_fns=()):
        self.raw = bool(raw)
        self.alloc_fns = tuple(alloc_fns)
        self._is_allocator = _function_matcher(ALLOCATOR_FUNCTIONS + self.alloc_fns)
        self._answers = {}
        self._hash = hash(self._key())   # sites look their key frame up by rule

    def is_allocator_frame(self, frame):
        """True when the frame's function is an allocator wrapper."""
        function = frame.function
        if not function:
            return False
        answer = self._answers.get(function)
        if answer is None:
            answer = self._answers[function] = self._is_allocator(function) is not None
        return answer

    def skips(self, frame):
        """True when the key frame is not this frame (it is someone's allocator)."""
        return is_system_frame(frame) or self.is_allocator_frame(frame)

    def _key(self):
        return (self.raw, self.alloc_fns)

    def __eq__(self, other):
        return isinstance(other, KeyRule) and self._key() == other._key()

    def __hash__(self):
        return self._hash

    def __repr__(self):
        return "KeyRule(raw=%r, alloc_fns=%r)" % (self.raw, self.alloc_fns)


DEFAULT_RULE = KeyRule()
RAW_RULE = KeyRule(raw=True)


def key_rule(raw=False):
    """The KeyRule of an API argument: a KeyRule itself, or raw True/False."""
    if isinstance(raw, KeyRule):
        return raw
    return RAW_RULE if raw else DEFAULT_RULE


# How many frames without a function name (static functions of a stripped
# library) may lie between a key-frame candidate and an allocator frame
# that claims them: sqlite3MemMalloc under sqlite3Malloc in Debian's
# libsqlite3 is one.
UNNAMED_INSIDE_ALLOCATOR = 3


def pick_key_frame(frames, raw=False):
    """The key frame of an iterable of frames, innermost first; None if empty.
    `raw` is True/False or a KeyRule. Frames without a function name just
    inside an allocator frame of the same module are the allocator's own.

    Consumes the iterable only as far as needed (symbolization is lazy)."""
    rule = key_rule(raw)
    first = candidate = None
    unnamed = 0
    for frame in frames:
        if rule.raw:
            return frame
        if first is None:
            first = frame
        if rule.is_allocator_frame(frame):
            candidate = None
            continue
        if is_system_frame(frame):
            continue
        if candidate is None:
            candidate, unnamed = frame, 0
        if frame.function or frame.module != candidate.module:
            return candidate
        unnamed += 1
        if unnamed > UNNAMED_INSIDE_ALLOCATOR:
            return candidate
    return candidate or first


def key_frame_of(traceback, raw=False):
    """The key frame of a Traceback (oldest frame first), UNKNOWN_FRAME if empty."""
    return pick_key_frame(reversed(traceback), raw) or UNKNOWN_FRAME
