"""who_points_at(): every word of the target that points into one live block (`memwhere --who`).

The same roots as the leak check (roots.py) and the regions holding live
blocks are read in pieces and searched by the C scanner for words whose
value lies in the block; each hit is a Reference: a register, a root word
(named after the global variable holding it when it is module data), or a
word inside another live block (named after that block's key frame through
the symbolizer passed in), then the memory that could not be searched.
"""

import ctypes
import struct

from ..errors import BadAddressError, MemsnapError
from ..model.format import format_size
from ..model.keyframe import pick_key_frame
from ..model.sources import PcFrames
from ..table.blocks import contains
from ..table.reader import read_table
from ..target.target import Target
from . import scanlib
from .blocks import LiveBlocks
from .roots import MemoryRange, coalesce, heap_ranges, plan_roots, readable_pieces

_WORD = 8


class Reference(dict):
    """One word of the target holding a pointer into the block asked about.

    A dict (so JSON views take it as is) with attribute access; str() is the
    line memwhere --who prints. kind: "register", "root", "block", or
    "missing" for memory that could not be scanned (where..end, what)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def __str__(self):
        if self["kind"] == "register":
            return "  register %s = 0x%x" % (self["what"], self["value"])
        if self["kind"] == "missing":
            return "  warning: not scanned: 0x%x-0x%x (%s)" % (self["where"], self["end"], self["what"])
        text = "  0x%x = 0x%x in %s" % (self["where"], self["value"], self["what"])
        if self["kind"] == "block" and self.get("holder_site_frame"):
            text += " allocated at " + self["holder_site_frame"]
        return text


def who_points_at(target, address, size=None, table=None, symbolizer=None):
    """Every root word and live block word pointing into the block that
    holds `address` (or, with `size`, into [address, address + size)), as a
    list of Reference: registers first, then roots, then blocks in address
    order, then any memory that could not be scanned.
    BadAddressError if no live block holds the address."""
    target = Target.of(target)
    if table is None:
        table = read_table(target)
    blocks = LiveBlocks(table)
    if size is None:
        held = blocks.holding(address)
        if held is None:
            raise BadAddressError("0x%x is not inside any live traced block" % address)
        address, size = held[0], held[1]
    lo, hi = address, address + max(size, 1)
    regions, threads = target.regions(), target.threads()
    missing = []
    refs = _registers(threads, lo, hi)
    refs += _in_roots(target, plan_roots(target, table, blocks, regions, threads), regions,
                      lo, hi, missing)
    frames = symbolizer or PcFrames(target)
    refs += _in_blocks(target, blocks, regions, frames, lo, hi, missing)
    refs += [Reference(kind="missing", where=gap.start, end=gap.end, value=0, what=gap.what)
             for gap in coalesce(missing)]
    return refs


def _registers(threads, lo, hi):
    return [Reference(kind="register", where=0, value=value,
                      what="%s of thread %d" % (name, thread.tid))
            for thread in threads for name, value in thread.registers.items() if lo <= value < hi]


def _in_roots(target, roots, regions, lo, hi, missing):
    refs = []
    for ref in words_into(target, roots, regions, lo, hi, "root", missing):
        if ref["what"].startswith("data of "):
            symbol = data_symbol(target, ref["where"])
            if symbol:
                ref["symbol"] = symbol
                ref["what"] += " (%s)" % symbol
        refs.append(ref)
    return refs


def _in_blocks(target, blocks, regions, frames, lo, hi, missing):
    refs = []
    for ref in words_into(target, heap_ranges(blocks, regions), regions, lo, hi, "block", missing):
        holder = blocks.holding(ref["where"])
        if holder is None or not contains(holder[0], holder[1], ref["where"] + _WORD - 1):
            continue  # a stale word between blocks
        start, size, site = holder
        ref["what"] = "block 0x%x (%s)" % (start, format_size(size))
        ref["block"] = {"start": start, "size": size, "site": site}
        frame = key_frame_text(blocks.sites.get(site), frames)
        if frame:
            ref["holder_site_frame"] = frame
        refs.append(ref)
    return refs


def words_into(target, ranges, regions, lo, hi, kind, missing):
    """References of `kind` for each word of `ranges` whose value is in [lo, hi)."""
    lib = scanlib.load()
    for piece in readable_pieces(ranges, regions, missing):
        def unreadable(start, end, what=piece.what):
            missing.append(MemoryRange(start, end, what + ": unreadable"))
        for base, data in target.memory.pieces(piece.start, piece.end, unreadable):
            raw = scanlib.as_bytes(data)
            for where in _matches(lib, lo, hi, base, raw):
                value = struct.unpack_from("<Q", raw, where - base)[0]
                yield Reference(kind=kind, where=where, value=value, what=piece.what)


def _matches(lib, lo, hi, base, raw):
    cap = 64
    while True:
        out = (ctypes.c_uint64 * cap)()
        found = lib.memsnap_scan_find_refs(lo, hi, base, raw, len(raw), out, cap)
        if found <= cap:
            return out[:found]
        cap = found


def data_symbol(target, address):
    """"name" or "name+offset" of the global variable holding `address`."""
    try:
        locations = target.backend.symbolize(address)
    except MemsnapError:
        return None
    name = locations[0].function if locations else None
    if not name:
        return None
    try:
        start = target.lookup_symbol(name)
    except MemsnapError:
        start = None
    if start is not None and 0 < address - start < (1 << 20):
        return "%s+%d" % (name, address - start)
    return name


def key_frame_text(record, frames):
    """"file:line" (or label) of a depot record's key frame, for one-line mentions."""
    if record is None:
        return None
    frame = pick_key_frame(f for pc in record.pcs for f in frames.frames(pc))
    return str(frame) if frame is not None else None
