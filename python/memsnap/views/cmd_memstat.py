"""`memstat`: the top statistics of a kept snapshot, or of the heap now."""

from . import data, text
from .cmd_memsnap import kept_names
from .options import STAT_OPTIONS, check_key, filtered, top
from .parser import CommandSpec


def run(ctx, options):
    check_key("memstat", options)
    name = options.args[0] if options.args else None
    # statistics need no per-block data: "now" skips reading the slot arrays
    snapshot = ctx.session.get(name) if name else ctx.session.take(read_slots=False)
    view = filtered(snapshot, options)
    stats = view.statistics(options.key, cumulative=options.cumulative, raw=options.raw)
    shown = top(stats, options.limit)
    if options.json:
        return data.dumps({
            "snapshot": name,
            "key": options.key,
            "cumulative": options.cumulative,
            "total": {"size": view.total_size, "count": view.total_count},
            "statistics": [data.stat_data(s, options.key, options.raw) for s in shown],
            "warnings": text.snapshot_notes(snapshot),
            "skipped": snapshot.skipped,
        })
    return text.statistics_text(shown, options.key, options.raw, text.snapshot_notes(snapshot))


SPEC = CommandSpec(
    "memstat", "Show the top statistics of a kept snapshot, or of the heap now.",
    "memstat [NAME] [options]", run, STAT_OPTIONS, max_args=1, arg_completer=kept_names)
