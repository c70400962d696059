"""Calling a runtime function of a live process: the checks, the C expression and the errors, for every adapter.

call_runtime(target, name, *args) is how the core calls the runtime's C API
(memtrace start/stop/clear/reset-peak, memsnap.start() and friends): it
checks that the call can be made (a live process, a C identifier, integer
arguments, the function present: libmemsnap.so loaded), has the backend
call it (Backend.call_function) and turns a non-zero result into an error.
A backend evaluates call_expression()'s C expression, which both debuggers
take, `((int(*)(long, long))name)(1L, (-2L))`, and reports a failed
evaluation with call_failed(). Pure Python: no debugger.
"""

import os
import re

from ..errors import MemsnapError, NotLiveError, RuntimeNotLoadedError, UsageError
from ..failures import one_line

_C_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def call_runtime(target, name, *args):
    """Call runtime function `name` in the live process; its 0 result, or
    raise NotLiveError, UsageError, RuntimeNotLoadedError or MemsnapError."""
    if not target.is_live():
        raise NotLiveError("%s needs a live process: the target is a core dump" % name)
    if not _C_IDENTIFIER.match(name):
        raise UsageError("not a function name: %r" % name)
    if not all(isinstance(arg, int) for arg in args):
        raise UsageError("%s takes integer arguments" % name)
    if target.lookup_symbol(name) is None:
        raise RuntimeNotLoadedError("%s not found in the process: is libmemsnap.so loaded?" % name)
    result = target.backend.call_function(name, *args)
    if result:
        text = os.strerror(-result) if result < 0 else "returned %d" % result
        raise MemsnapError("%s(%s) failed: %s" % (name, ", ".join(map(str, args)), text))
    return result


def call_expression(name, args):
    """The C expression calling `name` with integer `args`."""
    values = ["%dL" % arg if arg >= 0 else "(%dL)" % arg for arg in args]
    return "((int(*)(%s))%s)(%s)" % (", ".join(["long"] * len(args)) or "void",
                                     name, ", ".join(values))


def call_failed(name, debugger_message):
    """The error for a call of `name` the debugger failed to evaluate."""
    return MemsnapError("calling %s in the process failed: %s" % (name, one_line(debugger_message)))
