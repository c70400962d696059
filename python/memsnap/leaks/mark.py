"""The leak check's marking: feed the roots and the blocks' contents to the C scanner, then classify.

Every thread's register values, then the root ranges (roots.py), then the
regions holding live blocks in address order, are read from the target in
pieces (target/memory.py: an unreadable part is reported, never taken as
empty) and fed to libmemsnap_scan.so, which records each word pointing into
a live block; with memcheck's multipleinheritance heuristic on,
second_bases.py then says which interior pointers count as start pointers;
memsnap_scan_mark() gives every block memcheck's category and its clique
leader (and, when asked, its first reaching edge: retention.py). A Clock separates the time spent reading
target memory from the time spent scanning it in C.
"""

import contextlib
import ctypes
import time
from dataclasses import dataclass, field
from typing import Dict, List

from ..errors import MemsnapError
from . import scanlib
from .roots import MemoryRange, heap_ranges, readable_pieces
from .second_bases import accept_second_bases

_EINVAL = -22


@dataclass
class Marking:
    """What mark() found: per block (index into LiveBlocks) a category and
    a clique leader, and what was scanned."""
    category: object            # ctypes uint8 array: scanlib category | UNSCANNED
    leader: object              # ctypes uint64 array: index of the clique's leader
    stats: scanlib.Stats
    registers: int
    roots: List[MemoryRange]    # root memory scanned
    timings: Dict[str, float] = field(default_factory=dict)
    # With paths: each block's first reaching edge (scanlib.FROM_* or a
    # block index; the reaching word's address), ctypes uint64 arrays.
    parent: object = None
    where: object = None


def mark(target, blocks, handle, roots, regions, threads, missing, second_bases=False,
         paths=False):
    """Scan with the C `handle` over `blocks`; unreadable memory goes to `missing`.
    second_bases: the handle has memcheck's multipleinheritance heuristic on;
    paths: it records paths (scanlib.RECORD_PATHS): fetch the first edges."""
    lib = scanlib.load()
    registers = 0
    for thread in threads:
        for value in thread.registers.values():
            _check(lib.memsnap_scan_root_value(handle, value & 0xFFFFFFFFFFFFFFFF), 0)
            registers += 1
    clock = _Clock()
    scanned = []
    for piece in readable_pieces(roots, regions, missing):
        scanned.append(piece)
        for address, data in clock.reading(_read(target, piece, missing)):
            with clock.scanning():
                rc = lib.memsnap_scan_roots(handle, address, scanlib.as_bytes(data), len(data))
            _check(rc, address)
    for piece in readable_pieces(heap_ranges(blocks, regions), regions, missing):
        for address, data in clock.reading(_read(target, piece, missing)):
            with clock.scanning():
                rc = lib.memsnap_scan_blocks(handle, address, scanlib.as_bytes(data), len(data))
            _check(rc, address)
    if second_bases:
        accept_second_bases(target, handle, blocks, regions)
    began, began_cpu = time.monotonic(), time.thread_time()
    category = (ctypes.c_uint8 * max(blocks.n, 1))()
    leader = (ctypes.c_uint64 * max(blocks.n, 1))()
    if lib.memsnap_scan_mark(handle, category, leader):
        raise MemsnapError("out of memory marking %d blocks" % blocks.n)
    stats = scanlib.Stats()
    lib.memsnap_scan_get_stats(handle, ctypes.byref(stats))
    parent = where = None
    if paths:
        parent = (ctypes.c_uint64 * max(blocks.n, 1))()
        where = (ctypes.c_uint64 * max(blocks.n, 1))()
        if lib.memsnap_scan_first_edges(handle, parent, where):
            raise MemsnapError("the leak scan kept no retention paths")
    timings = {"read": clock.read, "scan": clock.scan, "read_cpu": clock.read_cpu,
               "scan_cpu": clock.scan_cpu, "mark": time.monotonic() - began,
               "mark_cpu": time.thread_time() - began_cpu}
    return Marking(category, leader, stats, registers, scanned, timings, parent, where)


def _check(rc, address):
    """Raise MemsnapError for a feeding call's error code."""
    if rc == _EINVAL:
        raise MemsnapError("the leak scan was fed memory out of order at 0x%x" % address)
    if rc:
        raise MemsnapError("out of memory in the leak scan at 0x%x" % address)


def _read(target, piece, missing):
    """(address, bytes) covering a MemoryRange; unreadable parts go to `missing`."""
    def unreadable(start, end):
        missing.append(MemoryRange(start, end, piece.what + ": unreadable"))
    return target.memory.pieces(piece.start, piece.end, unreadable)


class _Clock:
    """Seconds spent reading target memory vs scanning it in C: wall time
    (read, scan) and this thread's CPU time (read_cpu, scan_cpu)."""

    def __init__(self):
        self.read = self.scan = self.read_cpu = self.scan_cpu = 0.0

    def reading(self, chunks):
        while True:
            began, began_cpu = time.monotonic(), time.thread_time()
            chunk = next(chunks, None)
            self.read += time.monotonic() - began
            self.read_cpu += time.thread_time() - began_cpu
            if chunk is None:
                return
            yield chunk

    @contextlib.contextmanager
    def scanning(self):
        began, began_cpu = time.monotonic(), time.thread_time()
        try:
            yield
        finally:
            self.scan += time.monotonic() - began
            self.scan_cpu += time.thread_time() - began_cpu
