"""memcheck's multipleinheritance leak heuristic: the half that reads target memory.

A pointer to an object's second (or later) polymorphic base points inside
the object's block, at that base's vtable pointer. memcheck counts such an
interior pointer as a pointer to the block's start when the word it points
at and the block's first word both look like vtable pointers: each lies in
a readable file mapping, and among the words from it up to 20 further (not
past the mapping's last word), the ones that are not zero include two
pointing into file-mapped code before any pointing elsewhere. The C scan
(scan/memsnap_scan.h) records the word-aligned interior pointers while it
is fed and keeps those into blocks whose first word lies in a readable file
mapping; accept_second_bases() runs the test on them with memory the scan
never sees and hands the accepted pointers back before marking (mark.py).
"""

import ctypes
import struct

from ..errors import MemsnapError, UnreadableMemory
from ..target.regions import DATA_FILE_MAPPING
from . import scanlib
from .roots import region_of

WORD = 8
PAGE = 4096
VTABLE_WORDS = 21       # the word looked at and up to 20 after it
FUNCTIONS_NEEDED = 2


def accept_second_bases(target, handle, blocks, regions):
    """Tell the scan `handle` which of its candidate interior pointers the
    heuristic accepts; returns how many."""
    lib = scanlib.load()
    spans = _merged((r.start, r.end) for r in regions if r.readable and _file_mapped(r))
    ranges = (ctypes.c_uint64 * max(2 * len(spans), 1))(*[a for span in spans for a in span])
    count = lib.memsnap_scan_interior_candidates(handle, ranges, len(spans), None, None, 0)
    if count < 0:
        raise MemsnapError("the leak scan has no interior pointers recorded (error %d)" % -count)
    values = (ctypes.c_uint64 * max(count, 1))()
    first_words = (ctypes.c_uint64 * max(count, 1))()
    lib.memsnap_scan_interior_candidates(handle, ranges, len(spans), values, first_words, count)
    memory = _VtableTest(target, regions)
    accepted = [values[k] for k in range(count)
                if memory.is_second_base(values[k], first_words[k], blocks)]
    array = (ctypes.c_uint64 * max(len(accepted), 1))(*accepted)
    if lib.memsnap_scan_accept_interior(handle, array, len(accepted)):
        raise MemsnapError("the leak scan refused the accepted interior pointers")
    return len(accepted)


class _VtableTest:
    """memcheck's vtable test over the target's regions, remembered per address."""

    def __init__(self, target, regions):
        self.target = target
        self.regions = regions
        self._vtable = {}

    def is_second_base(self, value, first_word, blocks):
        """Whether the interior pointer `value`, into a block whose first word
        is `first_word`, points at a second base's vtable pointer."""
        if not self.looks_like_vtable(first_word):
            return False
        holder = blocks.holding(value)
        if holder is None or not self._readable(holder[0]):
            return False
        inner = self._word(value)
        return inner is not None and self.looks_like_vtable(inner)

    def looks_like_vtable(self, address):
        if address not in self._vtable:
            self._vtable[address] = self._vtable_at(address)
        return self._vtable[address]

    def _vtable_at(self, address):
        if address < PAGE or address % WORD:
            return False
        region = region_of(self.regions, address)
        if region is None or not region.readable or not _file_mapped(region):
            return False
        last = min(address + (VTABLE_WORDS - 1) * WORD, region.end - WORD)
        if last < address:
            return False
        try:
            data = self.target.read(address, last - address + WORD)
        except UnreadableMemory:
            return False
        functions = 0
        for (word,) in struct.iter_unpack("<Q", data):
            if word == 0:
                continue
            code = region_of(self.regions, word)
            if code is None or not code.executable or not _file_mapped(code):
                return False
            functions += 1
            if functions == FUNCTIONS_NEEDED:
                return True
        return False

    def _readable(self, address):
        region = region_of(self.regions, address)
        return region is not None and region.readable

    def _word(self, address):
        """The word at `address` if its page is readable, else None."""
        if not self._readable(address):
            return None
        try:
            return struct.unpack("<Q", self.target.read(address, WORD))[0]
        except UnreadableMemory:
            return None


def _merged(spans):
    """Sorted (start, end) spans with touching or overlapping ones joined."""
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _file_mapped(region):
    return region.name.startswith("/") or region.name == DATA_FILE_MAPPING
