"""The `memleaks` command: memsnap.leaks' verdicts in memstat's text.

Registered into the command registry when commands.py finds this module, so
it exists in every debugger with the same syntax and output. It prints a
valgrind-like summary (definitely, indirectly, possibly lost, still
reachable: size and count), then for each category asked for (--show; lost
ones by default) its top statistics grouped by key exactly as memstat
prints them, then what could not be scanned. Filters (--include and
--exclude filename patterns on the key frame) narrow both the summary and
the statistics. `memwhere --who` is in commands.py and calls
leaks.who_points_at().
"""

import json

from . import leaks, registry, views
from .commands import CUMULATIVE, EXCLUDE, INCLUDE, JSON, KEY, LIMIT, RAW
from .errors import UsageError
from .filters import Filter
from .format import format_size
from .options import CommandSpec, Option

_KINDS = {
    "definite": leaks.DEFINITE,
    "indirect": leaks.INDIRECT,
    "possible": leaks.POSSIBLE,
    "reachable": leaks.REACHABLE,
}
DEFAULT_SHOW = "definite,indirect,possible"

SHOW = Option("--show", "-s", "str", default=DEFAULT_SHOW, metavar="KINDS",
              help="categories to list: comma-separated definite, indirect, possible, "
                   "reachable, or all (default %s)" % DEFAULT_SHOW)


HEURISTICS = Option("--heuristics", "-H", "str", default="all", metavar="LIST",
                    help="memcheck's leak heuristics to apply: comma-separated %s, all (default) "
                         "or none" % ", ".join(leaks.DEFAULT_HEURISTICS))


def _heuristics(text):
    words = [w.strip() for w in text.split(",") if w.strip()]
    if words == ["all"]:
        return leaks.DEFAULT_HEURISTICS
    if words == ["none"]:
        return ()
    for word in words:
        if word not in leaks.HEURISTICS:
            raise UsageError("memleaks: unknown heuristic '%s' in --heuristics (use %s, all or none)"
                             % (word, ", ".join(leaks.DEFAULT_HEURISTICS)))
    return tuple(words)


def _shown_categories(text):
    words = [w.strip() for w in text.split(",") if w.strip()]
    if words == ["all"]:
        return list(leaks.CATEGORIES)
    if words == ["none"]:
        return []
    shown = []
    for word in words:
        if word not in _KINDS:
            raise UsageError("memleaks: unknown kind '%s' in --show (use %s, all or none)"
                             % (word, ", ".join(_KINDS)))
        if _KINDS[word] not in shown:
            shown.append(_KINDS[word])
    return [c for c in leaks.CATEGORIES if c in shown]


def _notes(report):
    notes = []
    for gap in report.missing:
        notes.append("warning: not scanned: 0x%x-0x%x, %s (%s)"
                     % (gap.start, gap.end, format_size(gap.end - gap.start), gap.what))
    if report.unscanned_count:
        notes.append("warning: the contents of %s (%s) could not be read: pointers in them were "
                     "not followed, so blocks they point to may show as lost"
                     % (views.counted(report.unscanned_count, "block"), format_size(report.unscanned_size)))
    for warning in report.warnings:
        notes.append("warning: " + warning)
    return views.without_repeats(notes)


def _cmd_memleaks(ctx, options):
    if options.args:
        raise UsageError("memleaks: takes no argument (usage: memleaks [options])")
    if options.cumulative and options.key == "traceback":
        raise UsageError("--cumulative cannot be used with --key traceback")
    shown = _shown_categories(options.show)
    heuristics = _heuristics(options.heuristics)
    table = leaks.read_table(ctx.backend)
    report = leaks.find_leaks(ctx.backend, table=table,
                              symbolizer=ctx.session.symbolizer_for(table.root_address),
                              heuristics=heuristics)
    filters = [Filter(True, p) for p in options.include] + \
              [Filter(False, p) for p in options.exclude]
    snapshots = {}
    for category in leaks.CATEGORIES:
        snapshot = report.snapshots[category]
        snapshots[category] = snapshot.filter_traces(filters, raw=options.raw) if filters else snapshot
    statistics = {}
    for category in shown:
        stats = snapshots[category].statistics(options.key, cumulative=options.cumulative,
                                               raw=options.raw)
        statistics[category] = stats[:options.limit] if options.limit else stats
    if options.json:
        led = report.indirect_sizes(options.key, options.cumulative, options.raw, filters)

        def stat_json(category, stat):
            data = views.stat_data(stat, options.key, options.raw)
            if category == leaks.DEFINITE:
                data["indirect_size"] = led.get(stat.traceback, 0)
            return data
        return json.dumps({
            "totals": {c: {"size": snapshots[c].total_size, "count": snapshots[c].total_count}
                       for c in leaks.CATEGORIES},
            "key": options.key,
            "cumulative": options.cumulative,
            "statistics": {c: [stat_json(c, s) for s in stats]
                           for c, stats in statistics.items()},
            "scanned": {"blocks": report.nblocks, "root_bytes": report.root_bytes,
                        "block_bytes": report.block_bytes, "threads": report.threads,
                        "seconds": report.seconds},
            "not_scanned": [{"start": g.start, "end": g.end, "what": g.what} for g in report.missing],
            "unscanned_blocks": {"count": report.unscanned_count, "size": report.unscanned_size},
            "warnings": report.warnings,
        }, indent=2)
    lines = ["leak check of %s: scanned %s of roots (%s) and %s of block contents"
             % (views.counted(report.nblocks, "live block"), format_size(report.root_bytes),
                views.counted(report.threads, "thread"), format_size(report.block_bytes))]
    width = max(len(c) for c in leaks.CATEGORIES)
    for category in leaks.CATEGORIES:
        snapshot = snapshots[category]
        lines.append("%*s: %s in %s" % (width, category, format_size(snapshot.total_size),
                                        views.counted(snapshot.total_count, "block")))
    for category in shown:
        stats = statistics[category]
        if not stats:
            continue
        lines.append("")
        lines.append("%s:" % category)
        lines += views.stat_lines(stats, options.key, options.raw)
    notes = _notes(report)
    if notes:
        lines.append("")
        lines += notes
    return "\n".join(lines)


registry.register(CommandSpec(
    "memleaks", "Find leaked blocks: what no pointer in the program reaches (like valgrind's leak check).",
    "memleaks [options]", _cmd_memleaks,
    (SHOW, HEURISTICS, KEY, CUMULATIVE, LIMIT, INCLUDE, EXCLUDE, RAW, JSON),
    description="Scans every thread's registers and stack, the modules' .data/.bss and other "
                "non-heap memory for pointers into live blocks, then the blocks themselves. "
                "Works on live processes and core dumps; memory missing from a core is listed."))
