"""`memdiff`: compare two snapshots, what grew, shrank, appeared and vanished (NEW defaults to now)."""

from . import data, text
from .cmd_memsnap import kept_names
from .options import STAT_OPTIONS, check_key, filtered, top
from .parser import CommandSpec


def run(ctx, options):
    check_key("memdiff", options)
    old = ctx.session.get(options.args[0])
    new_name = options.args[1] if len(options.args) > 1 else None
    new = ctx.session.get(new_name) if new_name else ctx.session.take(read_slots=False)
    old_view, new_view = filtered(old, options), filtered(new, options)
    stats = new_view.compare_to(old_view, options.key, cumulative=options.cumulative,
                                raw=options.raw)
    shown = top(stats, options.limit)
    if options.json:
        return data.dumps({
            "old": options.args[0],
            "new": new_name,
            "key": options.key,
            "cumulative": options.cumulative,
            "total": {"size": new_view.total_size, "count": new_view.total_count,
                      "size_diff": new_view.total_size - old_view.total_size,
                      "count_diff": new_view.total_count - old_view.total_count},
            "statistics": [data.stat_data(s, options.key, options.raw) for s in shown],
            "warnings": text.snapshot_notes(old, new),
        })
    return text.statistics_text(shown, options.key, options.raw, text.snapshot_notes(old, new))


SPEC = CommandSpec(
    "memdiff", "Compare two snapshots: what grew, shrank, appeared, vanished (NEW defaults to now).",
    "memdiff OLD [NEW] [options]", run, STAT_OPTIONS, min_args=1, max_args=2,
    arg_completer=kept_names)
