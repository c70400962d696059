"""tracemalloc's module functions, for the target the debugger is stopped in.

take_snapshot(), get_traced_memory(), get_traceback_limit(), is_tracing(),
get_tracemalloc_memory() and get_object_traceback(address) read the trace
table through the backend given to set_backend(); start(), stop(),
clear_traces() and reset_peak() call the runtime's C API in a live process
(target/runtime_calls.py); find_leaks() is the memleaks check
(leaks/check.py) with the session's backend and frame source;
retention_path(address) is `memwhere ADDR --path` (leaks/retention_names.py).
"""

from . import leaks, session
from .leaks import retention_names
from .errors import InvalidArgumentError
from .target.runtime_calls import call_runtime


def set_backend(backend):
    """Called once by a debugger adapter: the backend every function uses."""
    session.current.set_backend(backend)


def get_backend():
    return session.current.backend


def take_snapshot(peak=False):
    """A Snapshot of every live traced block of the target, now; peak=True
    (memsnap extra): of the heap at the peak of traced memory, per site
    (its traces are empty: the peak keeps counts, not blocks)."""
    return session.current.take(resolve=True, peak=peak)


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


def start(nframe=1):
    """Start tracing with `nframe` frames per stack (live process only)."""
    if not isinstance(nframe, int) or nframe < 1:
        raise InvalidArgumentError("the number of frames must be in range [1; %d]" % 256)
    call_runtime(session.current.target(), "memsnap_start", nframe)


def stop():
    call_runtime(session.current.target(), "memsnap_stop")


def clear_traces():
    call_runtime(session.current.target(), "memsnap_clear_traces")


def reset_peak():
    call_runtime(session.current.target(), "memsnap_reset_peak")


def find_leaks(backend=None, heuristics=leaks.DEFAULT_HEURISTICS):
    """The leak check (a leaks.LeakReport) of `backend`'s target, by default
    the session's, with the session's frame source when it is the session's."""
    current = session.current
    if backend is None or backend is current.backend:
        return leaks.find_leaks(current.target(), symbolizer=current.frames,
                                heuristics=heuristics)
    return leaks.find_leaks(backend, heuristics=heuristics)


def retention_path(address):
    """The shortest chain of pointers from a root to the live block holding
    `address` (an int), named from debug information: a RetentionPath whose
    `steps` are PathSteps (kind, text, address, value, type, block, ...),
    empty for a lost block; `expression` joins them ("g_cache->buckets[17]").
    The scan behind it is kept until the program runs again."""
    if not isinstance(address, int):
        raise InvalidArgumentError("retention_path takes a block address (int)")
    current = session.current
    return retention_names.retention_path(current.target(), address, current.frames)
