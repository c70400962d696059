"""Retention chains: which pointers, from a root, keep a block alive; the leak scan's graph kept per stop.

A leak check run with paths (find_leaks(paths=True), check.py) has the C
scanner record every block's first reaching edge while it marks breadth
first from the roots (scan/reach_paths.c): following those parents from a
block back to a root gives a shortest chain of pointers. RetentionGraph
keeps the parents with the live blocks (blocks.py), their categories, the
root memory scanned (roots.py) and the threads, so that after the first
scan each chain is a walk of a few array entries.
Chains are raw here (addresses and blocks); retention_names.py names them
and keeps the graph of each stop.
"""

from dataclasses import dataclass
from typing import List, Optional

from ..errors import BadAddressError, MemsnapError
from ..table import blocks as block_rule
from . import scanlib
from .report import CODES

_WORD = 8
_UNKNOWN_WORD = 2**64 - 1
_NAMES = {code: name for name, code in CODES.items()}


@dataclass(frozen=True)
class Hop:
    """One pointer of a chain: a word (in root memory, in a block, or a
    register) whose value points into `reaches` (start, size, site)."""
    kind: str                       # "root" (a root word), "register", "block" (a word in `holder`)
    where: Optional[int]            # the word's address; None for a register or when unknown
    value: Optional[int]            # the pointer (None when its word is unknown)
    reaches: tuple                  # (start, size, site) of the block pointed into
    holder: Optional[tuple] = None  # "block": (start, size, site) of the block holding the word
    root: object = None             # "root": the roots.MemoryRange holding the word
    register: str = ""              # "register": its name
    thread: object = None           # "register": the backend.ThreadState


@dataclass(frozen=True)
class Chain:
    """The shortest chain of pointers from a root to one block."""
    block: tuple                    # (start, size, site)
    category: str                   # report.CATEGORIES
    hops: List[Hop]                 # root first; empty when nothing reachable leads to the block


class RetentionGraph:
    """Every live block's first reaching edge, from one scan (see module doc)."""

    def __init__(self, target, blocks, category, parent, where, roots, threads):
        self.target = target
        self.blocks = blocks
        self._category = category
        self._parent = parent
        self._where = where
        self.roots = roots
        self.threads = threads

    def index_of(self, address):
        """Index of the live block holding `address`; BadAddressError if none."""
        index = block_rule.holder(self.blocks.addrs, self.blocks.block, address)
        if index is None:
            raise BadAddressError("0x%x is not inside any live traced block" % address)
        return index

    def category(self, index):
        return _NAMES[self._category[index] & scanlib.CATEGORY_MASK]

    def parent(self, index):
        """The index of the block that reached block `index` first, or
        scanlib.FROM_ROOT / FROM_REGISTER; None when nothing reachable did."""
        parent = self._parent[index]
        return None if parent == scanlib.FROM_NONE else parent

    def where(self, index):
        """The address of the word that reached block `index` first (None: unknown)."""
        where = self._where[index]
        return None if where == _UNKNOWN_WORD else where

    def chain(self, address):
        """The Chain to the block holding `address`."""
        index = first = self.index_of(address)
        hops = []
        seen = set()
        while index not in seen and len(hops) <= self.blocks.n:
            seen.add(index)
            parent = self._parent[index]
            if parent == scanlib.FROM_NONE:
                hops = []        # lost: no chain from a root
                break
            hops.append(self._hop(index, parent, self._where[index]))
            if parent in (scanlib.FROM_ROOT, scanlib.FROM_REGISTER):
                break
            index = parent
        hops.reverse()
        return Chain(self.blocks.block(first), self.category(first), hops)

    def _hop(self, index, parent, where):
        reaches = self.blocks.block(index)
        if parent == scanlib.FROM_REGISTER:
            return self._register_hop(reaches)
        known = where != _UNKNOWN_WORD
        value = self._word(where) if known else None
        if parent == scanlib.FROM_ROOT:
            root = next((r for r in self.roots if r.start <= where < r.end), None)
            return Hop("root", where, value, reaches, root=root)
        return Hop("block", where if known else None, value, reaches,
                   holder=self.blocks.block(parent))

    def _register_hop(self, reaches):
        start, size = reaches[0], reaches[1]
        for thread in self.threads:
            for name, value in thread.registers.items():
                if block_rule.contains(start, size, value):
                    return Hop("register", None, value, reaches, register=name, thread=thread)
        return Hop("register", None, None, reaches)

    def _word(self, where):
        try:
            return int.from_bytes(self.target.read(where, _WORD), "little")
        except MemsnapError:     # an unreadable word: the chain still stands
            return None
