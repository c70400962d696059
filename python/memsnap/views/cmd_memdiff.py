"""`memdiff`: compare two snapshots, what grew, shrank, appeared and vanished (NEW defaults to now)."""

from . import data, text
from .cmd_memsnap import kept_names
from .export import export
from .options import STAT_OPTIONS, check_key, filtered, key_rule, top
from .output import OUTPUT_OPTIONS, deliver, is_export, output_format, profile_summary
from .parser import CommandSpec
from .profiles import snapshot_profile


def run(ctx, options):
    check_key("memdiff", options)
    fmt = output_format("memdiff", options)
    old = ctx.session.get(options.args[0])
    new_name = options.args[1] if len(options.args) > 1 else None
    new = ctx.session.get(new_name) if new_name else ctx.session.take(read_slots=False)
    old_view, new_view = filtered(old, options), filtered(new, options)
    if is_export(fmt):
        base = snapshot_profile(old_view, options.args[0], ctx.session.target_of(old),
                                options.alloc_fn)
        profile = snapshot_profile(new_view, new_name or "(now)", ctx.session.target_of(new),
                                   options.alloc_fn)
        return deliver("memdiff", options, fmt, export(fmt, profile, base),
                       "the difference, now %s" % profile_summary(profile))
    stats = new_view.compare_to(old_view, options.key, cumulative=options.cumulative,
                                raw=key_rule(options))
    shown = top(stats, options.limit)
    if fmt == "json":
        content = data.dumps({
            "old": options.args[0],
            "new": new_name,
            "key": options.key,
            "cumulative": options.cumulative,
            "total": {"size": new_view.total_size, "count": new_view.total_count,
                      "size_diff": new_view.total_size - old_view.total_size,
                      "count_diff": new_view.total_count - old_view.total_count},
            "statistics": [data.stat_data(s, options.key, key_rule(options)) for s in shown],
            "warnings": text.snapshot_notes(old, new),
        })
    else:
        content = text.statistics_text(shown, options.key, key_rule(options),
                                       text.snapshot_notes(old, new))
    return deliver("memdiff", options, fmt, content, "%d statistics" % len(shown))


SPEC = CommandSpec(
    "memdiff", "Compare two snapshots: what grew, shrank, appeared, vanished (NEW defaults to now).",
    "memdiff OLD [NEW] [options]", run, STAT_OPTIONS + OUTPUT_OPTIONS, min_args=1, max_args=2,
    arg_completer=kept_names,
    description="Exports hold the difference NEW minus OLD per stack (pprof: negative values\n"
                "are memory freed in between; flamegraph: a differential flame graph). For\n"
                "pprof's own -diff_base, export each snapshot with memstat NAME -o FILE.")
