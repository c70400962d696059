"""`memstat`: the top statistics of a kept snapshot, or of the heap now or at its peak (or the whole snapshot exported).

With --since A, only the blocks allocated after kept snapshot A was taken
and still live (Snapshot.filter_since, model/age.py). With --peak, the
heap at the peak of traced memory (Session.take(peak=True)). With --key
type, the blocks grouped by their inferred type (leaks/block_types.py),
and the allocation sites whose blocks were typed differently noted.
"""

from ..errors import MemsnapError, UsageError
from ..model.snapshot import TYPE_KEY
from . import data, text
from .cmd_memsnap import kept_names
from .export import export
from .options import PEAK, STAT_OPTIONS, check_key, filtered, key_rule, top
from .output import OUTPUT_OPTIONS, deliver, is_export, output_format, profile_summary
from .parser import CommandSpec, Option

SINCE = Option("--since", None, "str", metavar="NAME",
               help="only blocks allocated after kept snapshot NAME was taken (still live)")
from .profiles import snapshot_profile


def run(ctx, options):
    check_key("memstat", options)
    fmt = output_format("memstat", options)
    name = options.args[0] if options.args else None
    _check_peak(options, name)
    older = ctx.session.get(options.since) if options.since else None
    # statistics need no per-block data (but by type): "now" skips reading the slot arrays
    by_type = options.key == TYPE_KEY
    snapshot = ctx.session.get(name) if name else \
        ctx.session.take(read_slots=bool(older) or by_type, peak=options.peak)
    if older is not None:
        snapshot = _since(snapshot, older, options.since, name)
    view = filtered(snapshot, options)
    if is_export(fmt):
        title = "memstat %s%s" % (name or ("--peak" if options.peak else "(now)"),
                                  " --since " + options.since if older else "")
        profile = snapshot_profile(view, title, ctx.session.target_of(snapshot),
                                   options.alloc_fn)
        return deliver("memstat", options, fmt, export(fmt, profile), profile_summary(profile))
    try:
        stats = view.statistics(options.key, cumulative=options.cumulative, raw=key_rule(options))
    except MemsnapError as err:
        raise type(err)("memstat: %s" % err) from None
    shown = top(stats, options.limit)
    if fmt == "json":
        content = data.dumps({
            "snapshot": name,
            "since": options.since,
            "key": options.key,
            "cumulative": options.cumulative,
            "total": {"size": view.total_size, "count": view.total_count},
            "statistics": [data.stat_data(s, options.key, key_rule(options)) for s in shown],
            "warnings": text.snapshot_notes(snapshot),
            "skipped": snapshot.skipped,
        })
    else:
        notes = text.type_conflict_notes(view) if by_type else []
        content = text.statistics_text(shown, options.key, key_rule(options),
                                       notes + text.snapshot_notes(snapshot))
    return deliver("memstat", options, fmt, content, "%d statistics" % len(shown))


def _check_peak(options, name):
    if options.peak and name:
        raise UsageError("memstat: --peak is the peak now; a kept snapshot is shown by NAME alone "
                         "(keep the peak with memsnap NAME --peak)")
    if options.peak and options.key == TYPE_KEY:
        raise UsageError("memstat: --peak cannot be combined with -k type: the peak snapshot "
                         "keeps each site's counts, not its blocks")
    if options.peak and options.since:
        raise UsageError("memstat: --peak cannot be combined with --since: the peak snapshot "
                         "keeps each site's counts, not its blocks and their births")


def _since(snapshot, older, older_name, name):
    """`snapshot`'s blocks born after `older` was taken; errors name both."""
    try:
        return snapshot.filter_since(older)
    except MemsnapError as err:
        message = str(err).replace("the older snapshot", "'%s'" % older_name)
        message = message.replace("the newer snapshot", "'%s'" % name if name else "the heap now")
        raise type(err)("memstat: --since %s: %s" % (older_name, message)) from None


SPEC = CommandSpec(
    "memstat", "Show the top statistics of a kept snapshot, or of the heap now (or at its peak).",
    "memstat [NAME | --peak] [options]", run, STAT_OPTIONS + (SINCE, PEAK) + OUTPUT_OPTIONS,
    max_args=1,
    arg_completer=kept_names,
    description="Exports (pprof, folded, flamegraph, speedscope) hold every stack of the\n"
                "snapshot after --include/--exclude/--domain; --key, --limit and --cumulative\n"
                "apply to text and json only.")
