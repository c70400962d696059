"""The debugger commands, defined once for every debugger, and how an adapter runs them.

memsnap, memstat, memdiff, memwhere, memtrace, memleaks and memgrowth, each declared
in its cmd_*.py as a CommandSpec (parser.py) and listed here in COMMANDS.
Adapters use only: NAMES, help_text(name), complete(name, text) and
run(name, argstring, backend), which returns the whole output text (no
trailing newline, control characters escaped: printable.py) or raises a
MemsnapError whose message is the one line to print. See docs/commands.md
for every option and example.
"""

import gc
from types import SimpleNamespace

from .. import session
from ..errors import UsageError
from ..printable import printable
from .settings import apply_settings
from . import (cmd_memdiff, cmd_memgrowth, cmd_memleaks, cmd_memsnap, cmd_memstat, cmd_memtrace,
               cmd_memwhere)
from .parser import complete as _complete
from .parser import help_text as _help_text
from .parser import parse

COMMANDS = {module.SPEC.name: module.SPEC
            for module in (cmd_memsnap, cmd_memstat, cmd_memdiff, cmd_memwhere, cmd_memtrace,
                           cmd_memleaks, cmd_memgrowth)}
NAMES = tuple(COMMANDS)


def _spec(name):
    spec = COMMANDS.get(name)
    if spec is None:
        raise UsageError("unknown memsnap command '%s' (known: %s)" % (name, ", ".join(NAMES)))
    return spec


def help_text(name):
    """One-line summary, then usage and options."""
    return _help_text(_spec(name))


def complete(name, text):
    """Completions of the last word of `text` (the arguments typed so far)."""
    return _complete(_spec(name), text, session.current)


def run(name, argstring, backend):
    """Run a command; return its output text (no trailing newline)."""
    spec = _spec(name)
    options = parse(spec, argstring)
    apply_settings(options)
    current = session.current
    if backend is not None and current.backend is not backend:
        current.set_backend(backend)
    if current.backend is None and name != "memsnap":
        current.require_backend()
    with _collector_paused():
        return printable(spec.handler(SimpleNamespace(session=current), options).rstrip("\n"))


class _collector_paused:
    """Python's cyclic garbage collector off while a command runs: a
    snapshot of ten thousand sites makes some ten objects per site, nearly
    all acyclic (freed by reference counts anyway), and the full
    collections their number triggers took a seventh of a first memsnap;
    the collector catches up once the command is done."""

    def __enter__(self):
        self._was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self._was_enabled:
            gc.enable()
