"""The debugger commands, defined once for every debugger.

memsnap, memstat, memdiff, memwhere and memtrace (plus memleaks when
cmd_memleaks.py is present: it registers itself). Adapters use only:
NAMES, help_text(name), complete(name, text) and run(name, argstring,
backend), which returns the whole output text (no trailing newline) or
raises a MemsnapError whose message is the one line to print.
See docs/commands.md for every option and example.
"""

import importlib
import importlib.util
import json
import os
from types import SimpleNamespace

from . import api, registry, session, views
from .errors import BadAddressError, MemsnapError, NotLiveError, UsageError
from .filters import DomainFilter, Filter
from .format import format_size
from .options import CommandSpec, Option, complete as _complete, help_text as _help_text, parse
from .snapshot import KEY_TYPES

# ---- shared options ----
KEY = Option("--key", "-k", "str", default="lineno", metavar="KEY", choices=KEY_TYPES,
             help="group by source line, file, function or whole traceback")
CUMULATIVE = Option("--cumulative", "-c", help="count a block in every frame of its traceback")
LIMIT = Option("--limit", "-n", "int", default=10, minimum=0,
               help="show the top N statistics (0 = all; default 10)")
INCLUDE = Option("--include", "-i", "list", metavar="PATTERN",
                 help="keep blocks whose key frame's file matches (fnmatch; repeatable)")
EXCLUDE = Option("--exclude", "-x", "list", metavar="PATTERN",
                 help="drop blocks whose key frame's file matches (fnmatch; repeatable)")
DOMAIN = Option("--domain", "-d", "int", default=None, minimum=0,
                help="only blocks of this domain (0 = heap)")
RAW = Option("--raw", help="key frame = innermost frame, even in libc/libstdc++")
JSON = Option("--json", help="machine-readable output (JSON)")
STAT_OPTIONS = (KEY, CUMULATIVE, LIMIT, INCLUDE, EXCLUDE, DOMAIN, RAW, JSON)


def _kept_names():
    return list(session.current.kept)


def _json(data):
    return json.dumps(data, indent=2)


def _filters(options):
    filters = [Filter(True, p) for p in options.include]
    filters += [Filter(False, p) for p in options.exclude]
    if options.domain is not None:
        filters.append(DomainFilter(True, options.domain))
    return filters


def _check_key(name, options):
    if options.cumulative and options.key == "traceback":
        raise UsageError("%s: --cumulative cannot be used with --key traceback" % name)


def _prepare(snapshot, options):
    filters = _filters(options)
    return snapshot.filter_traces(filters, raw=options.raw) if filters else snapshot


def _top(stats, limit):
    return stats[:limit] if limit else stats


# ---- memsnap ----
def _cmd_memsnap(ctx, options):
    kept = ctx.session.kept
    args = options.args
    modes = [m for m in ("list", "delete", "save", "load") if getattr(options, m)]
    if len(modes) > 1:
        raise UsageError("memsnap: use one of --list, --delete, --save, --load at a time")
    mode = modes[0] if modes else "take"
    if mode == "list":
        if args:
            raise UsageError("memsnap: --list takes no argument")
        if options.json:
            return _json([views.snapshot_data(n, s) for n, s in kept.items()])
        if not kept:
            return "no snapshots kept (take one with 'memsnap NAME')"
        return "\n".join(views.snapshot_summary(n, s) for n, s in kept.items())
    if mode == "delete":
        if not args:
            raise UsageError("memsnap: --delete needs the NAME of a kept snapshot")
        for name in args:
            ctx.session.get(name)
        for name in args:
            ctx.session.delete(name)
        return "deleted " + ", ".join(args)
    if mode == "save":
        if len(args) != 2:
            raise UsageError("memsnap: usage: memsnap --save NAME FILE")
        name, path = args
        snapshot = ctx.session.get(name)
        snapshot.dump(path)
        return "saved '%s' to %s" % (name, path)
    if mode == "load":
        if len(args) not in (1, 2):
            raise UsageError("memsnap: usage: memsnap --load FILE [NAME]")
        path = args[0]
        name = args[1] if len(args) > 1 else os.path.splitext(os.path.basename(path))[0]
        from .snapshot import Snapshot
        snapshot = Snapshot.load(path)
        ctx.session.keep(name, snapshot)
        return "loaded '%s' from %s: %s" % (name, path, views.snapshot_summary(name, snapshot))
    if len(args) > 1:
        raise UsageError("memsnap: too many arguments (usage: memsnap [NAME])")
    name = args[0] if args else ctx.session.next_name()
    snapshot = ctx.session.take(resolve=True)
    ctx.session.keep(name, snapshot)
    if options.json:
        return _json(views.snapshot_data(name, snapshot))
    lines = ["snapshot " + views.snapshot_summary(name, snapshot)]
    lines += views.snapshot_notes(snapshot)
    return "\n".join(lines)


# ---- memstat ----
def _cmd_memstat(ctx, options):
    _check_key("memstat", options)
    name = options.args[0] if options.args else None
    # statistics need no per-block data: "now" skips reading the slot arrays
    snapshot = ctx.session.get(name) if name else ctx.session.take(read_slots=False)
    view = _prepare(snapshot, options)
    stats = view.statistics(options.key, cumulative=options.cumulative, raw=options.raw)
    shown = _top(stats, options.limit)
    if options.json:
        return _json({
            "snapshot": name,
            "key": options.key,
            "cumulative": options.cumulative,
            "total": {"size": view.total_size, "count": view.total_count},
            "statistics": [views.stat_data(s, options.key, options.raw) for s in shown],
            "warnings": views.snapshot_notes(snapshot),
            "skipped": snapshot.skipped,
        })
    lines = views.stat_lines(shown, options.key, options.raw)
    if not stats:
        lines.append("no traced blocks")
    lines += views.snapshot_notes(snapshot)
    return "\n".join(lines)


# ---- memdiff ----
def _cmd_memdiff(ctx, options):
    _check_key("memdiff", options)
    old = ctx.session.get(options.args[0])
    new_name = options.args[1] if len(options.args) > 1 else None
    new = ctx.session.get(new_name) if new_name else ctx.session.take(read_slots=False)
    old_view, new_view = _prepare(old, options), _prepare(new, options)
    stats = new_view.compare_to(old_view, options.key, cumulative=options.cumulative, raw=options.raw)
    shown = _top(stats, options.limit)
    if options.json:
        return _json({
            "old": options.args[0],
            "new": new_name,
            "key": options.key,
            "cumulative": options.cumulative,
            "total": {"size": new_view.total_size, "count": new_view.total_count,
                      "size_diff": new_view.total_size - old_view.total_size,
                      "count_diff": new_view.total_count - old_view.total_count},
            "statistics": [views.stat_data(s, options.key, options.raw) for s in shown],
            "warnings": views.snapshot_notes(old, new),
        })
    lines = views.stat_lines(shown, options.key, options.raw)
    if not stats:
        lines.append("no traced blocks")
    lines += views.snapshot_notes(old, new)
    return "\n".join(lines)


# ---- memwhere ----
def parse_address(text):
    """An address typed by the user: 0x-hex, decimal, or bare hex with a-f."""
    word = text.strip()
    try:
        value = int(word, 0)
    except ValueError:
        try:
            value = int(word, 16)
        except ValueError:
            raise BadAddressError("'%s' is not an address (use hex like 0x55d0c0a0 or decimal)" % text)
    if not 0 <= value < (1 << 64):
        raise BadAddressError("'%s' is not a 64-bit address" % text)
    return value


def _cmd_memwhere(ctx, options):
    address = parse_address(options.args[0])
    snapshot = ctx.session.take()
    found = snapshot.find_block(address)
    if found is None:
        raise BadAddressError("0x%x is not inside any live traced block" % address)
    start, size, domain, traceback = found
    offset = address - start
    who = None
    if options.who:
        try:
            from . import leaks
        except ImportError:
            raise MemsnapError("memwhere --who needs memsnap.leaks (not installed)")
        who = list(leaks.who_points_at(ctx.backend, start, size))
    if options.json:
        data = {"address": address, "start": start, "size": size, "offset": offset,
                "domain": domain, "traceback": [views.frame_data(f) for f in traceback]}
        if who is not None:
            data["who"] = who
        return _json(data)
    lines = ["0x%x is %d bytes inside a block of %s (%d bytes) at 0x%x, domain %d, allocated at:"
             % (address, offset, format_size(size), size, start, domain)]
    lines += traceback.format()
    if who is not None:
        if who:
            lines.append("pointed at by:")
            lines += [str(item) for item in who]
        else:
            lines.append("no pointer to this block was found")
    lines += views.snapshot_notes(snapshot)
    return "\n".join(lines)


# ---- memtrace ----
_ACTIONS = ("start", "stop", "clear", "reset-peak")


def _status(ctx, options):
    root = ctx.session.root()
    live = ctx.backend.is_live()
    from .layout import UNWINDER_NAMES
    unwinder = UNWINDER_NAMES.get(root.unwinder, "unknown (%d)" % root.unwinder)
    if options.json:
        return _json({
            "tracing": root.tracing, "traceback_limit": root.traceback_limit,
            "max_frames": root.max_frames, "current": root.current_bytes,
            "peak": root.peak_bytes, "runtime_memory": root.runtime_bytes,
            "truncated": root.truncated, "unwinder": unwinder, "untraced": root.untraced,
            "live": live, "layout": "%d.%d" % (root.major, root.minor),
        })
    lines = [
        "tracing: %s" % ("yes" if root.tracing else "no"),
        "traceback limit: %d frames (max %d)" % (root.traceback_limit, root.max_frames),
        "traced memory: current=%s, peak=%s" % (format_size(root.current_bytes),
                                                format_size(root.peak_bytes)),
        "runtime memory: %s" % format_size(root.runtime_bytes),
        "truncated: %s" % ("yes: the runtime ran out of memory, traces are incomplete"
                           if root.truncated else "no"),
        "unwinder: %s" % unwinder,
        "untraced allocations: %d" % root.untraced,
        "target: %s, layout %d.%d" % ("live process" if live else "core dump",
                                       root.major, root.minor),
    ]
    return "\n".join(lines + ["warning: " + w for w in root.warnings])


def _cmd_memtrace(ctx, options):
    args = options.args
    if not args:
        return _status(ctx, options)
    action = args[0]
    if action not in _ACTIONS:
        raise UsageError("memtrace: unknown action '%s' (use %s)" % (action, ", ".join(_ACTIONS)))
    ctx.session.root()      # a clear error when there is no target or no runtime
    if not ctx.backend.is_live():
        raise NotLiveError("memtrace %s needs a live process: this is a core dump" % action)
    if action == "start":
        if len(args) > 2:
            raise UsageError("memtrace: usage: memtrace start [N]")
        nframe = ctx.session.root().traceback_limit or 16
        if len(args) == 2:
            try:
                nframe = int(args[1], 0)
            except ValueError:
                raise UsageError("memtrace: start needs a number of frames, not '%s'" % args[1])
        max_frames = ctx.session.root().max_frames
        if not 1 <= nframe <= max_frames:
            raise UsageError("memtrace: the number of frames must be in range [1; %d]" % max_frames)
        api.start(nframe)
        return "tracing started, %d frames per stack" % nframe
    if len(args) > 1:
        raise UsageError("memtrace: %s takes no argument" % action)
    if action == "stop":
        api.stop()
        return "tracing stopped"
    if action == "clear":
        api.clear_traces()
        return "traces cleared"
    api.reset_peak()
    return "peak reset"


registry.register(CommandSpec(
    "memsnap", "Take a snapshot of the traced heap and keep it by name; list, delete, save, load.",
    "memsnap [NAME] | memsnap --list | memsnap --delete NAME... | "
    "memsnap --save NAME FILE | memsnap --load FILE [NAME]",
    _cmd_memsnap,
    options=(Option("--list", "-l", help="list kept snapshots"),
             Option("--delete", "-D", help="forget the named snapshots"),
             Option("--save", help="write snapshot NAME to FILE (JSON)"),
             Option("--load", help="read FILE (written by --save) and keep it as NAME"),
             JSON),
    max_args=None,
    description="Without NAME the snapshot is kept as snap1, snap2, ...; "
                "an existing NAME is replaced.",
    arg_completer=_kept_names))

registry.register(CommandSpec(
    "memstat", "Show the top statistics of a kept snapshot, or of the heap now.",
    "memstat [NAME] [options]", _cmd_memstat, STAT_OPTIONS, max_args=1,
    arg_completer=_kept_names))

registry.register(CommandSpec(
    "memdiff", "Compare two snapshots: what grew, shrank, appeared, vanished (NEW defaults to now).",
    "memdiff OLD [NEW] [options]", _cmd_memdiff, STAT_OPTIONS, min_args=1, max_args=2,
    arg_completer=_kept_names))

registry.register(CommandSpec(
    "memwhere", "Show the live block containing ADDR: start, size, domain, allocation traceback.",
    "memwhere ADDR [--who] [--json]", _cmd_memwhere,
    (Option("--who", help="also list what points at the block (memleaks scanner)"), JSON),
    min_args=1, max_args=1))

registry.register(CommandSpec(
    "memtrace", "Show the tracer's status; start, stop, clear or reset-peak in a live process.",
    "memtrace [start [N] | stop | clear | reset-peak] [--json]", _cmd_memtrace, (JSON,),
    max_args=2, arg_completer=lambda: list(_ACTIONS)))

# Optional commands register themselves when their module is present.
if importlib.util.find_spec(__package__ + ".cmd_memleaks") is not None:
    importlib.import_module(__package__ + ".cmd_memleaks")

NAMES = registry.names()


def _spec(name):
    spec = registry.get(name)
    if spec is None:
        raise UsageError("unknown memsnap command '%s' (known: %s)" % (name, ", ".join(NAMES)))
    return spec


def help_text(name):
    """One-line summary, then usage and options."""
    return _help_text(_spec(name))


def complete(name, text):
    """Completions of the last word of `text` (the arguments typed so far)."""
    return _complete(_spec(name), text)


def run(name, argstring, backend):
    """Run a command; return its output text (no trailing newline)."""
    spec = _spec(name)
    options = parse(spec, argstring)
    current = session.current
    if backend is not None and current.backend is not backend:
        current.set_backend(backend)
    context = SimpleNamespace(backend=current.backend, session=current)
    if context.backend is None and name != "memsnap":
        current.require_backend()
    return spec.handler(context, options).rstrip("\n")
