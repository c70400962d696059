"""tracemalloc's module functions, for the target the debugger is stopped in.

take_snapshot(), get_traced_memory(), get_traceback_limit(), is_tracing(),
get_tracemalloc_memory() and get_object_traceback(address) read the trace
table through the backend given to set_backend(); start(), stop(),
clear_traces() and reset_peak() call the runtime's C API in a live process.
"""

import os

from . import session
from .errors import InvalidArgumentError, MemsnapError, NotLiveError


def set_backend(backend):
    """Called once by a debugger adapter: the backend every function uses."""
    session.current.set_backend(backend)


def get_backend():
    return session.current.backend


def take_snapshot():
    """A Snapshot of every live traced block of the target, now."""
    return session.current.take(resolve=True)


def get_traced_memory():
    """(current, peak) traced bytes, all domains."""
    root = session.current.root()
    return root.current_bytes, root.peak_bytes


def get_traceback_limit():
    """Frames kept per stack now (the runtime's depth)."""
    return session.current.root().traceback_limit


def is_tracing():
    return session.current.root().tracing


def get_tracemalloc_memory():
    """Bytes the runtime has mapped for its own tables."""
    return session.current.root().runtime_bytes


def get_object_traceback(address):
    """Traceback of the live block containing `address` (an int), or None."""
    if not isinstance(address, int):
        raise InvalidArgumentError("get_object_traceback takes a block address (int) in a C program")
    found = session.current.take().find_block(address)
    return found[3] if found else None


def _call(function, *args):
    backend = session.current.require_backend()
    if not backend.is_live():
        raise NotLiveError("%s needs a live process: the target is a core dump" % function)
    result = backend.call_function(function, *args)
    if result:
        if result < 0:
            text = os.strerror(-result)
        else:
            text = "returned %d" % result
        raise MemsnapError("%s(%s) failed: %s" % (function, ", ".join(map(str, args)), text))
    return result


def start(nframe=1):
    """Start tracing with `nframe` frames per stack (live process only)."""
    if not isinstance(nframe, int) or nframe < 1:
        raise InvalidArgumentError("the number of frames must be in range [1; %d]" % 256)
    _call("memsnap_start", nframe)


def stop():
    _call("memsnap_stop")


def clear_traces():
    _call("memsnap_clear_traces")


def reset_peak():
    _call("memsnap_reset_peak")
