"""Calling a runtime function of a live process: the checks, the C expression and the errors, for every adapter.

call_runtime(target, name, *args) is how the core calls the runtime's C API
(memtrace start/stop/clear/reset-peak, memsnap.start() and friends): it
checks that the call can be made (a live process, a C identifier, integer
arguments, the function present: libmemsnap.so loaded), has the backend
call it (Backend.call_function) and turns a non-zero result into an error.
A backend evaluates call_expression()'s C expression, which both debuggers
take, `((int(*)(long, long))name)(1L, (-2L))`, and reports a failed
evaluation with call_failed(). Arguments are integers or strings (passed
as C string literals, which the debugger places in the process's memory:
target/attach.py's dlopen); the result is an int or, with returns="long",
a pointer-sized value. Pure Python: no debugger.
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
        error = MemsnapError("%s(%s) failed: %s" % (name, ", ".join(map(str, args)), text))
        error.errno = -result if result < 0 else None
        raise error
    return result


def call_expression(name, args, returns="int"):
    """The C expression calling `name` with integer or str `args`,
    returning `returns` ("int" or "long")."""
    types = ["const char *" if isinstance(arg, str) else "long" for arg in args]
    values = [c_string(arg) if isinstance(arg, str) else "%dL" % arg if arg >= 0 else "(%dL)" % arg
              for arg in args]
    return "((%s(*)(%s))%s)(%s)" % (returns, ", ".join(types) or "void", name, ", ".join(values))


def c_string(text):
    """`text` (UTF-8) as a C string literal: printable ASCII as is, every
    other byte, quote and backslash as an octal escape."""
    return '"%s"' % "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else "\\%03o" % b
                            for b in text.encode("utf-8"))


def call_failed(name, debugger_message):
    """The error for a call of `name` the debugger failed to evaluate."""
    return MemsnapError("calling %s in the process failed: %s" % (name, one_line(debugger_message)))
