"""`memtrace`: the tracer's status; start, stop, clear or reset-peak in a live process.

`memtrace start` in a process started without the runtime (the debugger
attached to it) loads libmemsnap.so first (target/attach.py) and has
memsnap_attach() redirect its allocation calls (docs/production.md).
"""

import errno

from ..errors import MemsnapError, NotLiveError, UsageError
from ..model.format import format_size, sampling_mode
from ..target import attach
from ..target.runtime_calls import call_runtime
from . import data
from .options import JSON
from .parser import CommandSpec, Option

ACTIONS = ("start", "stop", "clear", "reset-peak")
_CALLS = {"stop": ("memsnap_stop", "tracing stopped"),
          "clear": ("memsnap_clear_traces", "traces cleared"),
          "reset-peak": ("memsnap_reset_peak", "peak reset")}


def run(ctx, options):
    args = options.args
    if not args:
        return _status(ctx.session, options)
    action = args[0]
    if action not in ACTIONS:
        raise UsageError("memtrace: unknown action '%s' (use %s)" % (action, ", ".join(ACTIONS)))
    if action == "start":
        return _start(ctx.session, args, options.sample)
    if options.sample is not None:
        raise UsageError("memtrace: --sample goes with start")
    root = ctx.session.root()      # a clear error when there is no target or no runtime
    target = ctx.session.target()
    if not target.is_live():
        raise NotLiveError("memtrace %s needs a live process: this is a core dump" % action)
    if len(args) > 1:
        raise UsageError("memtrace: %s takes no argument" % action)
    function, done = _CALLS[action]
    call_runtime(target, function)
    return done


def _start(session, args, sample):
    if len(args) > 2:
        raise UsageError("memtrace: usage: memtrace start [N] [--sample BYTES]")
    target = session.target()
    loaded = ""
    if target.is_live() and not attach.runtime_loaded(target):
        attach.load_runtime(target)
        loaded = "libmemsnap.so loaded into process %d; " % target.pid()
    root = session.root()          # a clear error when there is no target or no runtime
    if not target.is_live():
        raise NotLiveError("memtrace start needs a live process: this is a core dump")
    nframe = _frames(args, root)
    was_tracing = root.tracing
    if was_tracing or target.lookup_symbol("memsnap_attach") is None:
        if sample is not None and sample != root.sample_bytes:
            raise UsageError("memtrace: --sample needs tracing off (memtrace stop first)"
                             if was_tracing else "memtrace: this runtime cannot change sampling")
        call_runtime(target, "memsnap_start", nframe)
    else:
        _attach(target, nframe, root.sample_bytes if sample is None else sample)
    now = session.root()                # what the runtime really does now
    if was_tracing:
        text = "tracing was already on: %d frames per stack" % now.traceback_limit
        if now.traceback_limit != nframe:
            text += " (to trace %d, memtrace stop, then memtrace start %d)" % (nframe, nframe)
        return text
    text = loaded + "tracing started, %d frames per stack" % now.traceback_limit
    if now.sampled:
        text += ", sampled: one block per %d bytes allocated on average" % now.sample_bytes
    return text


def _frames(args, root):
    nframe = root.traceback_limit or 16
    if len(args) == 2:
        try:
            nframe = int(args[1], 0)
        except ValueError:
            raise UsageError("memtrace: start needs a number of frames, not '%s'" % args[1])
    if not 1 <= nframe <= root.max_frames:
        raise UsageError("memtrace: the number of frames must be in range [1; %d]" % root.max_frames)
    return nframe


def _attach(target, nframe, sample):
    """memsnap_attach: redirect the process's allocation calls if the
    runtime was not preloaded, set the sampling, start tracing."""
    try:
        call_runtime(target, "memsnap_attach", nframe, sample)
    except MemsnapError as e:
        if getattr(e, "errno", None) == errno.ENOTSUP:
            raise MemsnapError("memtrace: another allocator than libc's is interposed in this "
                               "process: the runtime cannot trace it") from None
        raise


def _status(session, options):
    root = session.root()
    live = session.target().is_live()
    if options.json:
        return data.dumps({
            "tracing": root.tracing, "traceback_limit": root.traceback_limit,
            "max_frames": root.max_frames, "current": root.current_bytes,
            "peak": root.peak_bytes, "runtime_memory": root.runtime_bytes,
            "truncated": root.truncated, "unwinder": root.unwinder_name,
            "untraced": root.untraced, "live": live, "sample_bytes": root.sample_bytes,
            "layout": "%d.%d" % (root.major, root.minor),
        })
    lines = [
        "tracing: %s" % ("yes" if root.tracing else "no"),
        "traceback limit: %d frames (max %d)" % (root.traceback_limit, root.max_frames),
        "sampling: %s" % sampling_mode(root.sample_bytes),
        "traced memory: current=%s, peak=%s" % (format_size(root.current_bytes),
                                                format_size(root.peak_bytes)),
        "runtime memory: %s" % format_size(root.runtime_bytes),
        "truncated: %s" % ("yes: the runtime ran out of memory, traces are incomplete"
                           if root.truncated else "no"),
        "unwinder: %s" % root.unwinder_name,
        "untraced allocations: %d" % root.untraced,
        "target: %s, layout %d.%d" % ("live process" if live else "core dump",
                                       root.major, root.minor),
    ]
    return "\n".join(lines + ["warning: " + w for w in root.warnings])


SPEC = CommandSpec(
    "memtrace", "Show the tracer's status; start, stop, clear or reset-peak in a live process.",
    "memtrace [start [N] [--sample BYTES] | stop | clear | reset-peak] [--json]", run,
    (Option("--sample", None, "int", minimum=0, metavar="BYTES",
            help="with start: record one block per BYTES allocated on average (0 = every "
                 "block)"), JSON),
    max_args=2, arg_completer=lambda session: list(ACTIONS))
