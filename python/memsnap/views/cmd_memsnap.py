"""`memsnap`: take a snapshot (of now, or of the peak) and keep it by name; list, delete, save and load kept snapshots."""

import os

from ..errors import UsageError
from ..model.snapshot import Snapshot
from . import data, text
from .options import JSON, PEAK
from .parser import CommandSpec, Option

_MODES = ("list", "delete", "save", "load")


def run(ctx, options):
    modes = [m for m in _MODES if getattr(options, m)]
    if len(modes) > 1:
        raise UsageError("memsnap: use one of --list, --delete, --save, --load at a time")
    mode = modes[0] if modes else "take"
    if options.force and mode != "save":
        raise UsageError("memsnap: --force only applies with --save")
    if options.peak and mode != "take":
        raise UsageError("memsnap: --peak only applies when taking a snapshot")
    return _ACTIONS[mode](ctx.session, options, options.args)


def _list(session, options, args):
    if args:
        raise UsageError("memsnap: --list takes no argument")
    if options.json:
        return data.dumps([data.snapshot_data(n, s) for n, s in session.kept.items()])
    if not session.kept:
        return "no snapshots kept (take one with 'memsnap NAME')"
    return "\n".join(text.snapshot_summary(n, s) for n, s in session.kept.items())


def _delete(session, options, args):
    if not args:
        raise UsageError("memsnap: --delete needs the NAME of a kept snapshot")
    for name in args:
        session.get(name)
    for name in args:
        session.delete(name)
    return "deleted " + ", ".join(args)


def _save(session, options, args):
    if len(args) != 2:
        raise UsageError("memsnap: usage: memsnap --save NAME FILE")
    name, path = args
    session.get(name).dump(path, replace=options.force)
    return "saved '%s' to %s" % (name, path)


def _load(session, options, args):
    if len(args) not in (1, 2):
        raise UsageError("memsnap: usage: memsnap --load FILE [NAME]")
    path = args[0]
    name = args[1] if len(args) > 1 else os.path.splitext(os.path.basename(path))[0]
    check_name(name)
    snapshot = Snapshot.load(path)
    session.keep(name, snapshot)
    return "loaded '%s' from %s: %s" % (name, path, text.snapshot_summary(name, snapshot))


def _take(session, options, args):
    if len(args) > 1:
        raise UsageError("memsnap: too many arguments (usage: memsnap [NAME])")
    name = args[0] if args else session.next_name()
    check_name(name)
    snapshot = session.take(resolve=True, peak=options.peak)
    session.keep(name, snapshot)
    if options.json:
        return data.dumps(data.snapshot_data(name, snapshot))
    return "\n".join(["snapshot " + text.snapshot_summary(name, snapshot)]
                     + text.snapshot_notes(snapshot))


def check_name(name):
    """Refuse a snapshot name that could not be typed back as one argument."""
    if not name or name.startswith("-") or any(c.isspace() or not c.isprintable() for c in name):
        raise UsageError("memsnap: %r is not a snapshot name (use letters, digits, '_', '.', "
                         "not starting with '-')" % name)


_ACTIONS = {"list": _list, "delete": _delete, "save": _save, "load": _load, "take": _take}


def kept_names(session):
    """Names of the kept snapshots (completion of NAME arguments)."""
    return list(session.kept)


SPEC = CommandSpec(
    "memsnap", "Take a snapshot of the traced heap and keep it by name; list, delete, save, load.",
    "memsnap [NAME] [--peak] | memsnap --list | memsnap --delete NAME... | "
    "memsnap --save NAME FILE | memsnap --load FILE [NAME]",
    run,
    options=(Option("--list", "-l", help="list kept snapshots"),
             Option("--delete", "-D", help="forget the named snapshots"),
             Option("--save", help="write snapshot NAME to FILE (mode 0600; compact binary)"),
             Option("--force", help="with --save: replace FILE if it exists"),
             Option("--load", help="read FILE (written by --save) and keep it as NAME"),
             PEAK, JSON),
    max_args=None,
    description="Without NAME the snapshot is kept as snap1, snap2, ...; "
                "an existing NAME is replaced.",
    arg_completer=kept_names)
