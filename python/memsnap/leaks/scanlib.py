"""The C scanner, libmemsnap_scan.so (scan/memsnap_scan.h), bound with ctypes.

Its structs (Block, Stats), codes (categories, summary columns, options)
and function signatures, mirrored from the header; tests/unit/python/
test_scan_contract.py compiles a program over the header and checks every
size, offset and code here against it. The library is found where the build
put it (memsnap/buildconfig.py, written by meson for the build tree and for
the installed copy), or at $MEMSNAP_SCAN_LIB when set; never by guessing.
"""

import ctypes
import os

from ..errors import MemsnapError

try:
    from .. import buildconfig
except ImportError:     # a source tree used without a build: only $MEMSNAP_SCAN_LIB
    buildconfig = None

ABI = 7
LIBRARY_NAME = "libmemsnap_scan.so"
LIBRARY_ENV = "MEMSNAP_SCAN_LIB"

# Categories memsnap_scan_mark() writes, or-ed with UNSCANNED.
REACHABLE, POSSIBLE, INDIRECT, DEFINITE = 1, 2, 3, 4
UNSCANNED = 0x80
CATEGORY_MASK = 0x7F
# Columns of memsnap_scan_summarize()'s per-site tables (a category's code is its column).
COLUMNS = 8
COL_UNSCANNED = 5
COL_CLIQUE = 6
# memsnap_scan_set_options() bits.
GLIBC_CHUNK_HEADERS = 1
HEUR_STDSTRING, HEUR_LENGTH64, HEUR_NEWARRAY, HEUR_MULTIPLE_INHERITANCE = 2, 4, 8, 16
RECORD_PATHS = 32
# memsnap_scan_first_edges()'s parents that are not block indexes.
FROM_NONE, FROM_ROOT, FROM_REGISTER = 2**64 - 1, 2**64 - 2, 2**64 - 3


class Block(ctypes.Structure):
    """struct memsnap_scan_block."""
    _fields_ = [("addr", ctypes.c_uint64), ("size", ctypes.c_uint64),
                ("site", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


class Stats(ctypes.Structure):
    """struct memsnap_scan_stats."""
    _fields_ = [("root_bytes", ctypes.c_uint64), ("block_bytes", ctypes.c_uint64),
                ("root_hits", ctypes.c_uint64), ("edges", ctypes.c_uint64)]


_lib = None


def library_path():
    """Where the scanner is: $MEMSNAP_SCAN_LIB, else the build's path; or
    raise MemsnapError saying why there is none."""
    path = os.environ.get(LIBRARY_ENV)
    if path:
        return path
    if buildconfig is None:
        raise MemsnapError("the leak scanner %s is not found: run memsnap from a build tree's "
                           "launcher or an installed copy (or set %s to its path)"
                           % (LIBRARY_NAME, LIBRARY_ENV))
    if not buildconfig.SCAN_LIBRARY:
        raise MemsnapError("this memsnap was built without the leak scanner (meson -Dleak_scanner)")
    return buildconfig.SCAN_LIBRARY


def load():
    """The loaded libmemsnap_scan.so (ctypes), or raise MemsnapError."""
    global _lib
    if _lib is not None:
        return _lib
    path = library_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as err:
        raise MemsnapError("the leak scanner %s cannot be loaded: %s" % (path, err)) from None
    _declare(lib)
    if lib.memsnap_scan_abi() != ABI:
        raise MemsnapError("%s has scan ABI %d, this memsnap needs %d: rebuild memsnap"
                           % (path, lib.memsnap_scan_abi(), ABI))
    _lib = lib
    return lib


def _declare(lib):
    u64, u32, vp = ctypes.c_uint64, ctypes.c_uint32, ctypes.c_void_p
    p_block = ctypes.POINTER(Block)
    p_u64 = ctypes.POINTER(ctypes.c_uint64)
    p_u8 = ctypes.POINTER(ctypes.c_uint8)
    signatures = {
        "memsnap_scan_abi": (ctypes.c_int, []),
        "memsnap_scan_gather_slots": (u64, [ctypes.c_char_p, u64, u32, u32, u32, u32,
                                            p_u8, u64, p_block, u64]),
        "memsnap_scan_sort_blocks": (ctypes.c_int, [p_block, u64]),
        "memsnap_scan_new": (ctypes.c_int, [p_block, u64, ctypes.POINTER(vp), p_u64]),
        "memsnap_scan_set_options": (ctypes.c_int, [vp, ctypes.c_uint]),
        "memsnap_scan_free": (None, [vp]),
        "memsnap_scan_roots": (ctypes.c_int, [vp, u64, ctypes.c_char_p, u64]),
        "memsnap_scan_root_value": (ctypes.c_int, [vp, u64]),
        "memsnap_scan_blocks": (ctypes.c_int, [vp, u64, ctypes.c_char_p, u64]),
        "memsnap_scan_interior_candidates": (ctypes.c_int64, [vp, p_u64, u64, p_u64, p_u64, u64]),
        "memsnap_scan_accept_interior": (ctypes.c_int, [vp, p_u64, u64]),
        "memsnap_scan_mark": (ctypes.c_int, [vp, p_u8, p_u64]),
        "memsnap_scan_summarize": (ctypes.c_int, [p_block, u64, p_u8, p_u64, u64, p_u64, p_u64]),
        "memsnap_scan_first_edges": (ctypes.c_int, [vp, p_u64, p_u64]),
        "memsnap_scan_get_stats": (None, [vp, ctypes.POINTER(Stats)]),
        "memsnap_scan_find_block": (ctypes.c_int64, [vp, u64]),
        "memsnap_scan_find_refs": (u64, [u64, u64, u64, ctypes.c_char_p, u64, p_u64, u64]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


def as_bytes(data):
    """bytes for a ctypes c_char_p argument without copying when possible."""
    return data if isinstance(data, bytes) else bytes(data)
