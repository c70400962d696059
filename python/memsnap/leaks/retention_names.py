"""Retention paths by name: a chain of pointers (retention.py) named from debug information, step by step.

retention_path() answers `memwhere ADDR --path` and memsnap.retention_path():
the leak check with paths is run once per stop (retention_report(), kept in
the target's cache until the program runs), then the block's chain is
walked and each pointer named. The root: a global or static variable
(`g_cache`, or `g_table.buckets[3]` for a word inside one), a local or
argument of a thread's frame (`thread 3, frame #2 worker(): conn`), a
thread's thread-local variable (`thread 2, thread-local t_cache`,
target/thread_locals.py), a register, or, without debug information, the
symbol or memory holding the
word. Then each pointer inside a block is named as a member of the type
the previous pointer declared for that block (target/types.py:
`->buckets[17]`, `->next`, `[2].key`), and the type of the next block is
the pointee type of that member. Where nothing is known (void *, char
buffers, no debug information, an interior pointer) the step is the
word's offset into its block (`+0x18`), and the block is shown with its
allocation line. A lost block has no path, and the path says why.
"""

from dataclasses import asdict, dataclass
from typing import List, Optional

from ..model.format import format_size
from ..target import thread_locals, types
from .check import DEFAULT_HEURISTICS, find_leaks
from .report import DEFINITE, INDIRECT
from .who import data_symbol, key_frame_text, words_into

_NO_PATH = {DEFINITE: "nothing reachable points to it",
            INDIRECT: "only lost blocks point to it"}


@dataclass(frozen=True)
class PathBlock:
    """A live block on a path."""
    start: int
    size: int
    type: Optional[str]             # the type the path declares for it; None when unknown
    allocated_at: Optional[str]     # its allocation's key frame ("file.c:12"), if known

    def describe(self):
        return "%s, %s, allocated at %s" % (self.type or "?", format_size(self.size),
                                           self.allocated_at or "?")


@dataclass(frozen=True)
class PathStep:
    """One pointer of a retention path.

    kind: "global", "local", "thread-local" or "register" (a named root),
    "root" (root
    memory without a name), "field" (a typed member of the previous block),
    "offset" (an untyped word of the previous block). text: what the step
    adds to the path's expression. address: the pointer's own address (None
    for a register); value: the pointer; type: its declared type (None if
    unknown); block: the block it points into (the pointer may point
    `block_offset` bytes inside it). thread, frame, function: where a local
    or register is (thread: also a thread-local's)."""
    kind: str
    text: str
    address: Optional[int]
    value: Optional[int]
    type: Optional[str]
    block: PathBlock
    block_offset: int = 0
    thread: Optional[int] = None
    frame: Optional[int] = None
    function: Optional[str] = None
    root: Optional[str] = None      # the first step: what the root is, in words

    def line(self):
        pointee = "0x%x" % self.block.start
        if self.block_offset:
            pointee = "0x%x (+0x%x into the block)" % (self.block.start, self.block_offset)
        head = self.root if self.root else self.text
        if self.type and not self.root:
            head += " (%s)" % self.type
        return "  %s -> %s: %s" % (head, pointee, self.block.describe())


@dataclass(frozen=True)
class RetentionPath:
    """The shortest chain of pointers from a root to a block, named."""
    address: int                    # the address asked about
    block: PathBlock
    category: str                   # memcheck's category of the block
    steps: List[PathStep]           # root first; empty when no path exists

    @property
    def expression(self):
        """The path as one expression: "g_cache->buckets[17]->next"."""
        return "".join(step.text for step in self.steps)

    def lines(self):
        if not self.steps:
            return ["no retention path: the block is %s: %s"
                    % (self.category, _NO_PATH.get(self.category, "no root reaches it"))]
        lines = ["retention path (%s, %d pointer%s from a root): %s"
                 % (self.category, len(self.steps), "" if len(self.steps) == 1 else "s",
                    self.expression)]
        return lines + [step.line() for step in self.steps]

    def __str__(self):
        return "\n".join(self.lines())

    def summary(self):
        """One line: where the root is, then the expression."""
        if not self.steps:
            return "no retention path (%s)" % self.category
        first, last = self.steps[0], self.steps[-1]
        text = self.expression
        if first.kind == "local":
            text = "thread %s, frame #%d %s(): %s" % (first.thread, first.frame, first.function,
                                                     text)
        elif first.kind == "thread-local":
            text = "thread %s, thread-local %s" % (first.thread, text)
        elif first.kind in ("register", "root"):
            rest = "".join(step.text for step in self.steps[1:])
            text = first.root + (", then " + rest if rest else "")
        if last.block_offset:
            text += " (+0x%x into the block)" % last.block_offset
        return text

    def to_data(self):
        """Plain data for JSON."""
        data = asdict(self)
        data["expression"] = self.expression
        return data


def retention_report(target, symbolizer=None, heuristics=None):
    """The LeakReport with a RetentionGraph (`report.graph`) of the target
    now: a leak check with paths, kept until the program runs."""
    heuristics = tuple(DEFAULT_HEURISTICS if heuristics is None else heuristics)
    return target.cache.memo("stop", "retention reports", heuristics,
                             lambda: find_leaks(target, symbolizer=symbolizer,
                                                heuristics=heuristics, paths=True))


def retention_path(target, address, symbolizer):
    """The RetentionPath of the live block holding `address` (BadAddressError
    if none); `symbolizer` names allocation lines."""
    report = retention_report(target, symbolizer)
    return name_chain(target, report.graph, report.graph.chain(address), symbolizer, address)


def group_paths(target, report, snapshot, stats, key_type, raw, symbolizer):
    """[(Statistic, RetentionPath)]: for each statistic of `stats` (grouped by
    `key_type` from `snapshot`, one category of `report`, a LeakReport with
    a graph), the path of the largest block of its group."""
    wanted = {stat.traceback for stat in stats}
    keys = {}
    largest = {}
    for address, size, site in snapshot.iter_blocks():
        key = keys.get(site.id)
        if key is None:
            key = keys[site.id] = snapshot.statistic_key(site, key_type, raw)
        if key in wanted and (key not in largest or size > largest[key][1]):
            largest[key] = (address, size)
    graph = report.graph
    return [(stat, name_chain(target, graph, graph.chain(largest[stat.traceback][0]), symbolizer))
            for stat in stats if stat.traceback in largest]


def name_chain(target, graph, chain, symbolizer, address=None):
    """The RetentionPath of a retention.Chain of `graph`."""
    namer = PathNamer(target, graph, symbolizer)
    steps = []
    pointee = None                  # the DataType the last pointer declares for its block
    for hop in chain.hops:
        step, leaf = namer.step(hop, pointee)
        value = step.pop("value", hop.value)
        offset = value - hop.reaches[0] if value is not None else 0
        pointee = types.pointee(target.backend, leaf) if leaf is not None and not offset else None
        steps.append(PathStep(block=namer.block(hop.reaches, pointee), block_offset=offset,
                              value=value, **step))
    block = namer.block(chain.block, pointee if steps else None)
    return RetentionPath(chain.block[0] if address is None else address, block,
                         chain.category, steps)


class PathNamer:
    """Names the hops of chains of one graph."""

    def __init__(self, target, graph, symbolizer):
        self.target = target
        self.backend = target.backend
        self.graph = graph
        self.symbolizer = symbolizer
        self.numbers = {t.tid: t.number for t in graph.threads}

    def block(self, block, datatype):
        start, size, site = block
        record = self.graph.blocks.sites.get(site)
        allocated = key_frame_text(record, self.symbolizer) if self.symbolizer else None
        return PathBlock(start, size, datatype.name if datatype is not None else None, allocated)

    def step(self, hop, pointee):
        """(PathStep fields but block, value; the pointer's DataType or None)."""
        if hop.kind == "register":
            number = self.numbers.get(hop.thread.tid) if hop.thread else None
            name = hop.register or "a register"
            return dict(kind="register", text=name, address=None, type=None, thread=number,
                        root="register %s of thread %s" % (name, number or "?")), None
        if hop.kind == "root":
            return self._root(hop)
        return self._field(hop, pointee)

    def _field(self, hop, pointee):
        offset = hop.where - hop.holder[0] if hop.where is not None else None
        found = types.step_into(self.backend, pointee, offset) if offset is not None else None
        if found is None:
            text = "+0x%x" % offset if offset is not None else "+?"
            return dict(kind="offset", text=text, address=hop.where, type=None), None
        text, leaf = found
        return dict(kind="field", text=text, address=hop.where, type=leaf.name), leaf

    def _root(self, hop):
        """The root step's fields: its word named, or, when it has no name, the
        first other root word into the same block that has one (a start
        pointer first): every root word is one pointer from the block."""
        first = self.root_word(hop.where, hop.root)
        if first[0]["kind"] != "root":
            return first
        start, size = hop.reaches[0], hop.reaches[1]
        others = [(ref["where"], ref["value"]) for ref in words_into(
            self.target, self.graph.roots, self.target.regions(), start, start + max(size, 1),
            "root", [])]
        others.sort(key=lambda word: word[1] != start)
        for where, value in others:
            root = next((r for r in self.graph.roots if r.start <= where < r.end), None)
            named = self.root_word(where, root)
            if named[0]["kind"] != "root":
                named[0]["value"] = value
                return named
        return first

    def root_word(self, where, root):
        """(the root step's fields, the pointer's DataType or None) of the root
        word at `where` (in the roots.MemoryRange `root`)."""
        local = thread_locals.thread_local_at(self.target, where)
        if local is not None:
            return self._thread_local(local, where)
        if root is not None and root.tid is not None:
            variable = self.target.stack_variable_at(root.tid, where)
            number = self.numbers.get(root.tid)
            if variable is not None:
                text, leaf = self._in_variable(variable, where)
                return dict(kind="local", text=text, address=where, thread=number,
                            frame=variable.frame, function=variable.function,
                            type=leaf.name if leaf else None,
                            root="thread %s, frame #%d %s(): %s%s"
                            % (number, variable.frame, variable.function, text,
                               " (%s)" % leaf.name if leaf else "")), leaf
            return dict(kind="root", text="(0x%x)" % where, address=where, type=None,
                        thread=number,
                        root="0x%x on the stack of thread %s" % (where, number)), None
        variable = self.target.global_variable_at(where)
        if variable is not None:
            text, leaf = self._in_variable(variable, where)
            return dict(kind="global", text=text, address=where, type=leaf.name if leaf else None,
                        root="global %s%s" % (text, " (%s)" % leaf.name if leaf else "")), leaf
        symbol = data_symbol(self.target, where) if root and root.what.startswith("data of") \
            else None
        what = root.what if root else "root memory"
        text = symbol or "(0x%x)" % where
        return dict(kind="root", text=text, address=where, type=None,
                    root="%s at 0x%x in %s" % (text, where, what) if symbol
                    else "0x%x in %s" % (where, what)), None

    def _thread_local(self, local, where):
        """root_word() of a word inside a thread's thread-local variable."""
        number = self.numbers.get(local.tid)
        if local.type is not None:
            text, leaf = self._in_variable(local, where)
        else:
            offset = where - local.address
            text, leaf = local.name + ("+0x%x" % offset if offset else ""), None
        return dict(kind="thread-local", text=text, address=where, thread=number,
                    type=leaf.name if leaf else None,
                    root="thread %s, thread-local %s%s"
                    % (number, text, " (%s)" % leaf.name if leaf else "")), leaf

    def _in_variable(self, variable, where):
        """(text, leaf DataType or None) of the word at `where` inside a variable."""
        found = types.member_path(self.backend, variable.type, where - variable.address)
        if found is None:
            return "%s+0x%x" % (variable.name, where - variable.address), None
        return variable.name + found[0], found[1]
