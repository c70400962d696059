"""The leak check's report: memcheck's categories, the LeakReport type, and how a marking becomes one.

The category names are defined here, at the bottom of the leak package, so
every phase and every view takes them from one place; each is the C
scanner's code (scanlib.py). summarize() has the scanner total each site's
blocks per category, and makes of every category a Snapshot (through
Snapshot.from_sites, like every snapshot) whose statistics are memstat's:
the verdicts are shown as tracemalloc's text.
"""

import ctypes
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..model.format import format_size
from ..model.from_table import site_of
from ..model.snapshot import Snapshot
from . import scanlib
from .roots import MemoryRange

# memcheck's categories, in its order of gravity, and their C codes.
DEFINITE = "definitely lost"
INDIRECT = "indirectly lost"
POSSIBLE = "possibly lost"
REACHABLE = "still reachable"
CATEGORIES = (DEFINITE, INDIRECT, POSSIBLE, REACHABLE)
CODES = {REACHABLE: scanlib.REACHABLE, POSSIBLE: scanlib.POSSIBLE,
         INDIRECT: scanlib.INDIRECT, DEFINITE: scanlib.DEFINITE}


@dataclass
class CategoryTotal:
    count: int = 0
    size: int = 0


@dataclass
class LeakReport:
    """The result of find_leaks(): totals, per-category snapshots, coverage."""
    totals: Dict[str, CategoryTotal]
    snapshots: Dict[str, Snapshot]
    clique_bytes: Dict[int, int]            # site id -> bytes its lost blocks lead indirectly
    roots: List[MemoryRange]                # root memory scanned
    missing: List[MemoryRange]              # memory that should have been scanned but could not
    unscanned_count: int                    # live blocks whose contents could not be read
    unscanned_size: int
    nblocks: int
    root_bytes: int
    block_bytes: int
    registers: int
    threads: int
    seconds: float
    warnings: List[str] = field(default_factory=list)
    timings: Dict[str, float] = field(default_factory=dict)   # seconds per phase
    # Definitely lost sites, each with size = the bytes of the indirectly
    # lost blocks its blocks lead (valgrind's "(N direct, M indirect)").
    lead_snapshot: Optional[Snapshot] = None
    graph: object = None                    # retention.RetentionGraph when checked with paths
    _blocks: object = None
    _category: object = None

    def statistics(self, category, key_type="lineno", cumulative=False, raw=False):
        """tracemalloc Statistics of one category's blocks."""
        return self.snapshots[category].statistics(key_type, cumulative, raw)

    def indirect_sizes(self, key_type="lineno", cumulative=False, raw=False, filters=()):
        """{statistic key (Traceback): indirectly lost bytes led by the
        definitely lost blocks of that key}, for the same grouping as
        statistics(DEFINITE, ...)."""
        snapshot = self.lead_snapshot
        if snapshot is None:
            return {}
        if filters:
            snapshot = snapshot.filter_traces(filters, raw=raw)
        return {stat.traceback: stat.size
                for stat in snapshot.statistics(key_type, cumulative, raw)}

    def blocks(self, category):
        """(address, size, site id) of every block of a category."""
        return _category_blocks(self._blocks, self._category, CODES[category])

    @property
    def scan_bytes(self):
        return self.root_bytes + self.block_bytes

    def summary_lines(self):
        lines = []
        width = max(len(c) for c in CATEGORIES)
        for category in CATEGORIES:
            total = self.totals[category]
            lines.append("%*s: %s in %d blocks" % (width, category, format_size(total.size), total.count))
        return lines


@dataclass
class Summary:
    """Per-category totals and snapshots of a marking (see summarize)."""
    totals: Dict[str, CategoryTotal]
    snapshots: Dict[str, Snapshot]
    lead_snapshot: Snapshot
    clique_bytes: Dict[int, int]
    unscanned_count: int
    unscanned_size: int


def summarize(blocks, marking, frames, traceback_limit, info):
    """The Summary of a marking of `blocks` (LiveBlocks), whose stacks the
    frame source `frames` resolves; every snapshot gets `info`."""
    counts, sizes = _site_tables(blocks, marking)
    totals = {c: CategoryTotal() for c in CATEGORIES}
    sites = {c: [] for c in CATEGORIES}
    clique_bytes = {}
    unscanned_count = unscanned_size = 0
    for sid, record in blocks.sites.items():
        row = sid * scanlib.COLUMNS
        for c in CATEGORIES:
            count, size = counts[row + CODES[c]], sizes[row + CODES[c]]
            if count:
                totals[c].count += count
                totals[c].size += size
                sites[c].append(site_of(record, size, count))
        unscanned_count += counts[row + scanlib.COL_UNSCANNED]
        unscanned_size += sizes[row + scanlib.COL_UNSCANNED]
        if sizes[row + scanlib.COL_CLIQUE]:
            clique_bytes[sid] = sizes[row + scanlib.COL_CLIQUE]
    lead = [site_of(blocks.sites[sid], size, counts[sid * scanlib.COLUMNS + scanlib.DEFINITE])
            for sid, size in clique_bytes.items()]
    snapshots = {c: Snapshot.from_sites(sites[c], frames, traceback_limit, info,
                                        _blocks_of(blocks, marking.category, CODES[c]))
                 for c in CATEGORIES}
    return Summary(totals, snapshots, Snapshot.from_sites(lead, frames, traceback_limit),
                   clique_bytes, unscanned_count, unscanned_size)


def _site_tables(blocks, marking):
    """(counts, bytes) per site and column, from the C scanner."""
    entries = (blocks.nsites + 1) * scanlib.COLUMNS
    counts = (ctypes.c_uint64 * entries)()
    sizes = (ctypes.c_uint64 * entries)()
    scanlib.load().memsnap_scan_summarize(blocks.array, blocks.n, marking.category,
                                          marking.leader, blocks.nsites, counts, sizes)
    return counts, sizes


def _blocks_of(blocks, category, code):
    """A snapshot's block rows: births are not gathered for leak checks."""
    return lambda: (block + (None,) for block in _category_blocks(blocks, category, code))


def _category_blocks(blocks, category, code):
    for i in range(blocks.n):
        if category[i] & scanlib.CATEGORY_MASK == code:
            yield blocks.block(i)
