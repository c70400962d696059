"""find_leaks(): a leak check of a stopped process or a core dump, as named phases.

Like LeakSanitizer's ClassifyAllChunks: read the trace table, gather the
live blocks (blocks.py), list the regions and threads, plan the roots
(roots.py), mark (mark.py: feed roots and block contents to the C scanner,
which follows valgrind memcheck's rules), and summarize into a LeakReport
(report.py). Each block ends up definitely lost (nothing points to it),
indirectly lost (only lost blocks point to it), possibly lost (reached only
through an interior pointer somewhere on the way) or still reachable. The
symbolizer (a frame source over the target, model/sources.py) is passed
in; without one the check makes its own over the same target cache.
"""

import time

from ..errors import MemsnapError, UsageError
from ..model.format import sampling_mode, skipped_note
from ..model.info import SnapshotInfo
from ..model.sources import PcFrames
from ..table.reader import read_table
from ..target.target import Target
from . import scanlib
from .blocks import LiveBlocks
from .mark import mark
from .report import LeakReport, summarize
from .retention import RetentionGraph
from .roots import coalesce, plan_roots

# memcheck's leak heuristics (see docs/leaks.md), as the C library's options.
HEURISTICS = {"stdstring": scanlib.HEUR_STDSTRING, "length64": scanlib.HEUR_LENGTH64,
              "newarray": scanlib.HEUR_NEWARRAY,
              "multipleinheritance": scanlib.HEUR_MULTIPLE_INHERITANCE}
DEFAULT_HEURISTICS = ("stdstring", "length64", "newarray", "multipleinheritance")


def heuristic_options(heuristics):
    """The C library's option bits for a list of heuristic names."""
    bits = 0
    for name in heuristics:
        if name not in HEURISTICS:
            raise UsageError("unknown leak heuristic '%s' (known: %s)"
                             % (name, ", ".join(sorted(HEURISTICS))))
        bits |= HEURISTICS[name]
    return bits


def find_leaks(target, table=None, symbolizer=None, heuristics=DEFAULT_HEURISTICS, paths=False):
    """Leak check of a target (a Target or a backend): a LeakReport.

    table: the trace table if already read; symbolizer: the frame source
    for the report's tracebacks; heuristics: memcheck's leak heuristics to
    apply (names of HEURISTICS; default all, like memcheck; () for none);
    paths: also keep the retention graph (report.graph, retention.py)."""
    options = scanlib.GLIBC_CHUNK_HEADERS | heuristic_options(heuristics)
    if paths:
        options |= scanlib.RECORD_PATHS
    target = Target.of(target)
    began, began_cpu = time.monotonic(), time.process_time()
    timings = {}
    if table is None:
        table = read_table(target)
    timings["table"] = time.monotonic() - began
    phase = time.monotonic()
    blocks = LiveBlocks(table)
    regions = target.regions()
    threads = target.threads()
    if not regions:
        raise MemsnapError("the debugger lists no memory regions: cannot find the roots")
    handle = blocks.new_scan()
    timings["blocks"] = time.monotonic() - phase
    missing = []
    lib = scanlib.load()
    try:
        if lib.memsnap_scan_set_options(handle, options):
            raise MemsnapError("out of memory starting the leak scan of %d blocks" % blocks.n)
        roots = plan_roots(target, table, blocks, regions, threads)
        marking = mark(target, blocks, handle, roots, regions, threads, missing,
                       second_bases=bool(options & scanlib.HEUR_MULTIPLE_INHERITANCE),
                       paths=paths)
    finally:
        lib.memsnap_scan_free(handle)
    timings.update(marking.timings)
    phase = time.monotonic()
    warnings = _warnings(table, blocks)
    frames = symbolizer or PcFrames(target)
    summary = summarize(blocks, marking, frames, table.traceback_limit,
                        SnapshotInfo(warnings=tuple(warnings), skipped=table.skipped))
    timings["summary"] = time.monotonic() - phase
    timings["cpu"] = time.process_time() - began_cpu
    return LeakReport(totals=summary.totals, snapshots=summary.snapshots,
                      clique_bytes=summary.clique_bytes, lead_snapshot=summary.lead_snapshot,
                      roots=marking.roots, missing=coalesce(missing),
                      unscanned_count=summary.unscanned_count,
                      unscanned_size=summary.unscanned_size, nblocks=blocks.n,
                      root_bytes=marking.stats.root_bytes, block_bytes=marking.stats.block_bytes,
                      registers=marking.registers, threads=len(threads),
                      seconds=time.monotonic() - began, warnings=warnings, timings=timings,
                      _blocks=blocks, _category=marking.category,
                      graph=RetentionGraph(target, blocks, marking.category, marking.parent,
                                           marking.where, marking.roots, threads)
                      if paths else None)


def _warnings(table, blocks):
    """What the report must say about the table it checked."""
    warnings = list(table.warnings)
    if blocks.dropped:
        warnings.append("%d blocks overlapping others were left out" % blocks.dropped)
    if blocks.forged_sites:
        warnings.append("%d sites with ids far beyond the %d sites read were left out "
                        "(a corrupt depot)" % (blocks.forged_sites, len(table.sites)))
    if table.skipped:
        warnings.append(skipped_note(table.skipped))
    if table.sampled:
        warnings.append("the trace table is sampled (%s): only sampled blocks are checked, "
                        "with their own sizes (not estimates), and the others cannot keep "
                        "blocks alive" % sampling_mode(table.sample_bytes))
    if table.truncated:
        warnings.append("the trace table is truncated (the runtime ran out of memory): "
                        "untraced blocks are not checked and cannot keep others alive")
    return warnings
