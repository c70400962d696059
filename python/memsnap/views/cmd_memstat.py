"""`memstat`: the top statistics of a kept snapshot, or of the heap now (or the whole snapshot exported)."""

from . import data, text
from .cmd_memsnap import kept_names
from .export import export
from .options import STAT_OPTIONS, check_key, filtered, key_rule, top
from .output import OUTPUT_OPTIONS, deliver, is_export, output_format, profile_summary
from .parser import CommandSpec
from .profiles import snapshot_profile


def run(ctx, options):
    check_key("memstat", options)
    fmt = output_format("memstat", options)
    name = options.args[0] if options.args else None
    # statistics need no per-block data: "now" skips reading the slot arrays
    snapshot = ctx.session.get(name) if name else ctx.session.take(read_slots=False)
    view = filtered(snapshot, options)
    if is_export(fmt):
        profile = snapshot_profile(view, "memstat %s" % (name or "(now)"),
                                   ctx.session.target_of(snapshot))
        return deliver("memstat", options, fmt, export(fmt, profile), profile_summary(profile))
    stats = view.statistics(options.key, cumulative=options.cumulative, raw=key_rule(options))
    shown = top(stats, options.limit)
    if fmt == "json":
        content = data.dumps({
            "snapshot": name,
            "key": options.key,
            "cumulative": options.cumulative,
            "total": {"size": view.total_size, "count": view.total_count},
            "statistics": [data.stat_data(s, options.key, key_rule(options)) for s in shown],
            "warnings": text.snapshot_notes(snapshot),
            "skipped": snapshot.skipped,
        })
    else:
        content = text.statistics_text(shown, options.key, key_rule(options),
                                       text.snapshot_notes(snapshot))
    return deliver("memstat", options, fmt, content, "%d statistics" % len(shown))


SPEC = CommandSpec(
    "memstat", "Show the top statistics of a kept snapshot, or of the heap now.",
    "memstat [NAME] [options]", run, STAT_OPTIONS + OUTPUT_OPTIONS, max_args=1,
    arg_completer=kept_names,
    description="Exports (pprof, folded, flamegraph, speedscope) hold every stack of the\n"
                "snapshot after --include/--exclude/--domain; --key, --limit and --cumulative\n"
                "apply to text and json only.")
