"""Calling a runtime function of a live process: the checks and the C expression, for every adapter.

Backend.call_function(name, *args) in each debugger adapter checks here
that the call can be made (a live process, a C identifier, integer
arguments, the function present: libmemsnap.so loaded) and gets the one C
expression both debuggers evaluate, `((int(*)(long, long))name)(1L, (-2L))`.
The adapter then only evaluates it its own way, and reports a
failed evaluation with call_failed(). Pure Python: no debugger.
"""

import re

from .errors import MemsnapError, NotLiveError, RuntimeNotLoadedError, UsageError
from .failures import one_line

_C_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def call_expression(backend, name, args):
    """The C expression calling `name` with integer `args` in the backend's
    live process; raises NotLiveError, UsageError or RuntimeNotLoadedError."""
    if not backend.is_live():
        raise NotLiveError("%s needs a live process, not a core dump" % name)
    if not _C_IDENTIFIER.match(name):
        raise UsageError("not a function name: %r" % name)
    for arg in args:
        if not isinstance(arg, int):
            raise UsageError("%s takes integer arguments" % name)
    if backend.lookup_symbol(name) is None:
        raise RuntimeNotLoadedError("%s not found in the process: is libmemsnap.so loaded?" % name)
    values = ["%dL" % arg if arg >= 0 else "(%dL)" % arg for arg in args]
    return "((int(*)(%s))%s)(%s)" % (", ".join(["long"] * len(args)) or "void",
                                     name, ", ".join(values))


def call_failed(name, debugger_message):
    """The error for a call of `name` the debugger failed to evaluate."""
    return MemsnapError("calling %s in the process failed: %s" % (name, one_line(debugger_message)))
