"""`memleaks`: the leak engine's verdicts (python/memsnap/leaks/) in memstat's text.

It prints a valgrind-like summary (definitely, indirectly, possibly lost,
still reachable: size and count), then for each category asked for
(--show; lost ones by default) its top statistics grouped by key exactly as
memstat prints them (with --paths, for the still reachable and possibly
lost groups, the retention path of each group's largest block:
leaks/retention_names.py), then what could not be scanned. Filters (--include
and --exclude filename patterns on the key frame) narrow both the summary
and the statistics.
"""

from ..leaks import CATEGORIES, DEFAULT_HEURISTICS, DEFINITE, INDIRECT, POSSIBLE, REACHABLE
from ..leaks import find_leaks
from ..leaks.retention_names import group_paths, retention_report
from ..leaks.suppressions import read_suppressions, split
from ..model.format import format_size
from . import data, text
from .options import (ALLOC_FN, CUMULATIVE, EXCLUDE, INCLUDE, JSON, KEY, LIMIT, RAW, check_key,
                      comma_choices, filters, key_rule, top)
from ..errors import UsageError
from .parser import CommandSpec, Option

_KINDS = {"definite": DEFINITE, "indirect": INDIRECT, "possible": POSSIBLE, "reachable": REACHABLE}
DEFAULT_SHOW = "definite,indirect,possible"

SHOW = Option("--show", "-s", "str", default=DEFAULT_SHOW, metavar="KINDS",
              help="categories to list: comma-separated definite, indirect, possible, "
                   "reachable, or all (default %s)" % DEFAULT_SHOW)
SUPPRESS = Option("--suppress", None, "list", metavar="FILE",
                  help="leave out blocks a rule of FILE matches, and count them (repeatable)")
PATHS = Option("--paths", help="for the still reachable and possibly lost groups shown, the "
                                "retention path of each group's largest block")
HEURISTICS = Option("--heuristics", "-H", "str", default="all", metavar="LIST",
                    help="memcheck's leak heuristics to apply: comma-separated %s, all (default) "
                         "or none" % ", ".join(DEFAULT_HEURISTICS))


def run(ctx, options):
    check_key("memleaks", options)
    shown = [_KINDS[kind] for kind in comma_choices("memleaks", "--show", "kind", options.show,
                                                    tuple(_KINDS))]
    heuristics = comma_choices("memleaks", "--heuristics", "heuristic", options.heuristics,
                               DEFAULT_HEURISTICS)
    rules = [rule for path in options.suppress for rule in read_suppressions(path)]
    if options.paths and options.cumulative:
        raise UsageError("memleaks: --paths cannot be used with --cumulative")
    check = retention_report if options.paths else find_leaks
    report = check(ctx.session.target(), symbolizer=ctx.session.frames, heuristics=heuristics)
    chosen = filters(options)
    snapshots = {c: report.snapshots[c].filter_traces(chosen, raw=key_rule(options)) if chosen
                 else report.snapshots[c] for c in CATEGORIES}
    suppressed = _suppress(snapshots, rules) if options.suppress else None
    statistics = {c: top(snapshots[c].statistics(options.key, cumulative=options.cumulative,
                                                 raw=key_rule(options)), options.limit)
                  for c in shown}
    paths = {c: group_paths(ctx.session.target(), report, snapshots[c], stats, options.key,
                            key_rule(options), ctx.session.frames)
             for c, stats in statistics.items() if options.paths and c in (REACHABLE, POSSIBLE)}
    if options.json:
        return _json(report, snapshots, statistics, chosen, options, suppressed, paths)
    return "\n".join(_text(report, snapshots, statistics, options, suppressed, paths))


def _suppress(snapshots, rules):
    """Leave the blocks the suppression `rules` match out of the lost
    categories (in place); their (count, size, number of rules)."""
    count = size = 0
    for category in (DEFINITE, INDIRECT, POSSIBLE):
        if rules:
            snapshots[category], dropped = split(snapshots[category], rules)
            count += dropped.total_count
            size += dropped.total_size
    return count, size, len(rules)


def _text(report, snapshots, statistics, options, suppressed, paths):
    lines = ["leak check of %s: scanned %s of roots (%s) and %s of block contents"
             % (text.counted(report.nblocks, "live block"), format_size(report.root_bytes),
                text.counted(report.threads, "thread"), format_size(report.block_bytes))]
    width = max(len(c) for c in CATEGORIES)
    for category in CATEGORIES:
        snapshot = snapshots[category]
        lines.append("%*s: %s in %s" % (width, category, format_size(snapshot.total_size),
                                        text.counted(snapshot.total_count, "block")))
    if suppressed is not None:
        count, size, rules = suppressed
        lines.append("%*s: %s in %s (%s)" % (width, "suppressed", format_size(size),
                                             text.counted(count, "block"),
                                             text.counted(rules, "rule")))
    for category, stats in statistics.items():
        if stats:
            lines += ["", "%s:" % category] + text.stat_lines(stats, options.key, key_rule(options))
        if paths.get(category):
            lines.append("retention paths (the largest block of each group above):")
            lines += ["  %d. 0x%x (%s): %s" % (rank, path.block.start, format_size(path.block.size),
                                              path.summary())
                      for rank, (_stat, path) in enumerate(paths[category], 1)]
    notes = _notes(report)
    return lines + ([""] + notes if notes else [])


def _json(report, snapshots, statistics, chosen, options, suppressed, paths):
    led = report.indirect_sizes(options.key, options.cumulative, key_rule(options), chosen)

    def stat_json(category, stat):
        entry = data.stat_data(stat, options.key, key_rule(options))
        if category == DEFINITE:
            entry["indirect_size"] = led.get(stat.traceback, 0)
        return entry
    return data.dumps({
        "totals": {c: {"size": snapshots[c].total_size, "count": snapshots[c].total_count}
                   for c in CATEGORIES},
        "key": options.key,
        "cumulative": options.cumulative,
        "statistics": {c: [stat_json(c, s) for s in stats] for c, stats in statistics.items()},
        "paths": {c: [path.to_data() for _stat, path in found] for c, found in paths.items()},
        "scanned": {"blocks": report.nblocks, "root_bytes": report.root_bytes,
                    "block_bytes": report.block_bytes, "threads": report.threads,
                    "seconds": report.seconds},
        "not_scanned": [{"start": g.start, "end": g.end, "what": g.what} for g in report.missing],
        "unscanned_blocks": {"count": report.unscanned_count, "size": report.unscanned_size},
        "suppressed": None if suppressed is None else
        {"count": suppressed[0], "size": suppressed[1], "rules": suppressed[2]},
        "warnings": report.warnings,
    })


def _notes(report):
    notes = ["warning: not scanned: 0x%x-0x%x, %s (%s)"
             % (gap.start, gap.end, format_size(gap.end - gap.start), gap.what)
             for gap in report.missing]
    if report.unscanned_count:
        notes.append("warning: the contents of %s (%s) could not be read: pointers in them were "
                     "not followed, so blocks they point to may show as lost"
                     % (text.counted(report.unscanned_count, "block"),
                        format_size(report.unscanned_size)))
    notes += ["warning: " + warning for warning in report.warnings]
    return text.without_repeats(notes)


SPEC = CommandSpec(
    "memleaks", "Find leaked blocks: what no pointer in the program reaches (like valgrind's leak check).",
    "memleaks [options]", run,
    (SHOW, PATHS, HEURISTICS, SUPPRESS, KEY, CUMULATIVE, LIMIT, INCLUDE, EXCLUDE, RAW, ALLOC_FN,
     JSON),
    description="Scans every thread's registers and stack, the modules' .data/.bss and other "
                "non-heap memory for pointers into live blocks, then the blocks themselves. "
                "Works on live processes and core dumps; memory missing from a core is listed.")
