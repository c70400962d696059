"""What each live block is: its type, inferred from a C++ vtable or from the pointers that reach it.

BlockTypes types every block of a retention graph (retention.py) once:
1. a block whose first word points into a `vtable for X` symbol (in a
   read-only file mapping, where vtables live) is an X, the most derived
   class of a C++ object;
2. else the type the pointer on its path declares for it: the first
   reaching edge of the scan is followed from a typed parent (a root
   variable, or a block whose own type is known) and named as in
   retention_names.py (target/types.py), the pointee type of that member
   being the block's type (the first typed path wins); a block the scan
   reached first from a root word no variable names (a stale copy on a
   stack) takes the type of a typed block's member pointing at it;
3. else it has none, and statistics show it as `?` with its allocation
   line. Blocks reached only through interior pointers take no declared
   type (the pointer declares a member's type, not the block's).
Blocks of one allocation site typed differently are `conflicts`, which
memstat shows. The first words are read region by region like the scan
reads them; vtable symbols are looked up once per distinct word.
"""

import bisect
from collections import Counter, defaultdict

from ..target import types
from ..target.backend import TYPE_POINTER
from . import scanlib
from .report import REACHABLE
from .retention_names import PathNamer, retention_report
from .roots import heap_ranges, readable_pieces
from .who import words_into

_WORD = 8
_VTABLE = "vtable for "
MAX_SYMBOL_LOOKUPS = 4096      # distinct first words looked up as possible vtables


class BlockTypes:
    """Every live block's inferred DataType (or class name), by block start."""

    def __init__(self, target, report, symbolizer=None):
        self.target = target
        self.backend = target.backend
        self.graph = graph = report.graph
        self.blocks = graph.blocks
        self._namer = PathNamer(target, graph, symbolizer)
        self._classes = self._vtable_classes()
        self._declared = {}
        self._steps = {}
        self._starts_held = None
        self._starts = None
        self._type_unnamed_roots()
        self.names = [self._name(i) for i in range(self.blocks.n)]
        self.conflicts = self._site_conflicts()

    @classmethod
    def of(cls, target, symbolizer=None):
        """The BlockTypes of the target now, kept until the program runs."""
        return target.cache.memo("stop", "block types", "all",
                                 lambda: cls(target, retention_report(target, symbolizer),
                                             symbolizer))

    def name_at(self, address):
        """The type name of the live block starting at `address`, or None."""
        if self._starts is None:
            self._starts = [self.blocks.array[i].addr for i in range(self.blocks.n)]
        index = bisect.bisect_left(self._starts, address)
        if index < self.blocks.n and self._starts[index] == address:
            return self.names[index]
        return None

    def type_at(self, address):
        """(DataType or None, its name or None) of the block holding `address`."""
        index = self.graph.index_of(address)
        found = self._classes.get(index)
        if found is not None:
            return found[1], found[0]
        declared = self._declared_type(index)
        return declared, declared.name if declared is not None else None

    def _name(self, index):
        found = self._classes.get(index)
        if found is not None:
            return found[0]
        declared = self._declared_type(index)
        return declared.name if declared is not None else None

    # ---- 1. vtables ----
    def _vtable_classes(self):
        """{block index: (class name, DataType or None)} from the blocks' first words."""
        regions = self.target.regions()
        where_vtables = [r for r in regions if r.name.startswith("/") and not r.writable
                         and not r.executable]
        starts = [r.start for r in where_vtables]
        ends = [r.end for r in where_vtables]
        symbols = {}
        classes = {}
        for index, word in self._first_words(regions):
            region = bisect.bisect_right(starts, word) - 1
            if region < 0 or word >= ends[region] or word % _WORD:
                continue
            if word not in symbols:
                symbols[word] = self._vtable_class(word) \
                    if len(symbols) < MAX_SYMBOL_LOOKUPS else None
            if symbols[word] is not None:
                classes[index] = symbols[word]
        return classes

    def _vtable_class(self, word):
        found = self.backend.symbol_at(word)
        if found is None or not found[0].startswith(_VTABLE) or word <= found[1]:
            return None
        name = found[0][len(_VTABLE):]
        return name, self.backend.lookup_type(name)

    def _first_words(self, regions):
        """(block index, first word) of every block whose first word was read."""
        blocks = self.blocks
        for piece in readable_pieces(heap_ranges(blocks, regions), regions, []):
            for base, data in self.target.memory.pieces(piece.start, piece.end, lambda s, e: None):
                end = base + len(data) - _WORD
                index = bisect.bisect_left(blocks.addrs, base)
                while index < blocks.n:
                    start, size, _site = blocks.block(index)
                    if start > end:
                        break
                    if size >= _WORD:
                        yield index, int.from_bytes(data[start - base:start - base + _WORD],
                                                    "little")
                    index += 1

    # ---- 2. declared by the path ----
    def _declared_type(self, index):
        """The DataType the first reaching pointer declares for block `index`."""
        chain = []
        while index not in self._declared:
            parent = self.graph.parent(index)
            if parent is None or parent >= scanlib.FROM_REGISTER or len(chain) > self.blocks.n:
                self._declared[index] = self._root_type(index, parent)
                break
            chain.append(index)
            index = parent
        datatype = self._declared[index]
        for child in reversed(chain):
            datatype = self._declared[child] = self._child_type(self.graph.parent(child), child)
        return datatype

    def _block_type(self, index):
        """A block's own type for naming its members: its class, else declared."""
        found = self._classes.get(index)
        if found is not None and found[1] is not None:
            return found[1]
        return self._declared.get(index)

    def _child_type(self, parent, child):
        holder = self._block_type(parent)
        if holder is None or self.graph.category(child) != REACHABLE:
            return None             # untyped parent; or maybe an interior pointer
        where = self.graph.where(child)
        if where is None:
            return None
        return self._member_pointee(holder, where - self.blocks.block(parent)[0])

    def _member_pointee(self, holder, offset):
        """The pointee type of the member at `offset` of a block of type `holder`."""
        key = (holder, offset)
        if key not in self._steps:
            found = types.step_into(self.backend, holder, offset)
            self._steps[key] = types.pointee(self.backend, found[1]) if found else None
        return self._steps[key]

    def _root_type(self, index, parent):
        """The pointee type of the first named root word pointing at the
        block's start: the scan's own root word, else any other."""
        if parent != scanlib.FROM_ROOT or self.graph.category(index) != REACHABLE:
            return None
        start = self.blocks.block(index)[0]
        for where in [self.graph.where(index)] + self._root_words().get(start, []):
            root = next((r for r in self.graph.roots if r.start <= where < r.end), None)
            fields, leaf = self._namer.root_word(where, root)
            if fields["kind"] != "root":
                return types.pointee(self.backend, leaf) if leaf is not None and \
                    leaf.kind == TYPE_POINTER else None
        return None

    def _root_words(self):
        """{block start: [addresses of root words holding it]}, read once."""
        if self._starts_held is None:
            blocks, held = self.blocks, defaultdict(list)
            if blocks.n:
                low = blocks.block(0)[0]
                high = blocks.block(blocks.n - 1)[0] + 1
                for ref in words_into(self.target, self.graph.roots, self.target.regions(),
                                      low, high, "root", []):
                    held[ref["value"]].append(ref["where"])
            self._starts_held = held
        return self._starts_held

    def _type_unnamed_roots(self):
        """Type the blocks reached first from unnamed root words through a
        typed block's member pointing at their start (one more read of the
        heap, for at most MAX_SYMBOL_LOOKUPS such blocks); then forget the
        unknown types that may have depended on them."""
        untyped = {}
        for index in range(self.blocks.n):
            if self.graph.parent(index) == scanlib.FROM_ROOT and index not in self._classes \
                    and self._declared_type(index) is None \
                    and self.graph.category(index) == REACHABLE:
                untyped[self.blocks.block(index)[0]] = index
        if not untyped or len(untyped) > MAX_SYMBOL_LOOKUPS:
            return
        regions = self.target.regions()
        found = 0
        for ref in words_into(self.target, heap_ranges(self.blocks, regions), regions,
                              min(untyped), max(untyped) + 1, "block", []):
            index = untyped.get(ref["value"])
            holder = bisect.bisect_right(self.blocks.addrs, ref["where"]) - 1
            if index is None or holder < 0 or self._declared.get(index) is not None:
                continue
            start, size, _site = self.blocks.block(holder)
            holder_type = self._block_type(holder) if ref["where"] < start + size else None
            if holder_type is not None:
                datatype = self._member_pointee(holder_type, ref["where"] - start)
                if datatype is not None:
                    self._declared[index] = datatype
                    found += 1
        if found:
            self._declared = {i: t for i, t in self._declared.items() if t is not None}

    # ---- conflicts ----
    def _site_conflicts(self):
        """{site id: Counter(type name: blocks)} for sites whose blocks were
        typed differently."""
        by_site = defaultdict(Counter)
        for index, name in enumerate(self.names):
            if name is not None:
                by_site[self.blocks.block(index)[2]][name] += 1
        return {site: names for site, names in by_site.items() if len(names) > 1}
