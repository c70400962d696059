"""How a failing command reaches the user: one line, and a Python traceback only in debug mode.

Both debugger adapters turn whatever a command raised into the one line
they print (a MemsnapError's own message; anything else as
"NAME: internal error: Type: message") and add a traceback only in debug
mode (MEMSNAP_DEBUG=1 in the environment, or a debugger setting of the
adapter's own). Pure Python: no debugger.
"""

import os

from .errors import MemsnapError
from .printable import printable


def debug_mode_from_environment():
    """True when MEMSNAP_DEBUG is set to anything but "" or "0"."""
    return os.environ.get("MEMSNAP_DEBUG", "") not in ("", "0")


def one_line(text):
    """The first non-blank line of `text` (an exception or a str), stripped,
    its control characters escaped (printable.py)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return printable(lines[0]) if lines else "unknown error"


def failure_message(command, exception, internal_hint=""):
    """The one line to print when `command` raised `exception`.

    `internal_hint` is appended to unexpected (non-memsnap) errors, e.g. how
    to turn debug mode on in this debugger."""
    if isinstance(exception, MemsnapError):
        return one_line(exception)
    if isinstance(exception, KeyboardInterrupt):
        return "%s: interrupted" % command
    return "%s: internal error: %s: %s%s" % (command, type(exception).__name__,
                                            one_line(exception), internal_hint)


def wants_traceback(exception):
    """True when debug mode should show this exception's traceback (not for Ctrl-C)."""
    return not isinstance(exception, KeyboardInterrupt)
