"""memsnap: tracemalloc's analysis API for C and C++ programs, in GDB and LLDB.

`import memsnap` inside a debugger whose adapter called set_backend() gives
tracemalloc's API over the stopped target: take_snapshot(), Snapshot,
Statistic, StatisticDiff, Trace, Traceback, Frame, Filter, DomainFilter,
get_traced_memory(), get_traceback_limit(), is_tracing(),
get_object_traceback(address), retention_path(address) (who keeps a block
alive, step by step), get_tracemalloc_memory(), KeyRule (which
frame statistics charge: `raw=KeyRule(alloc_fns=["my_alloc*"])` skips a
program's own allocator wrappers), growth(snapshots, key_type) (the keys
that grew at every step: leak suspects), find_leaks() (the
memleaks check, docs/leaks.md), and start(),
stop(), clear_traces(), reset_peak() for a live process. This package never
imports gdb or lldb; see docs/python-api.md and, for its rooms and their
import order, docs/architecture.md.
"""

# memsnap/buildconfig.py, the paths meson wrote for a build, lives beside
# the installed package, or in <build>/python/memsnap for a build tree
# (whose launchers put <build>/python on sys.path): let this package span both.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)

from .api import (clear_traces, find_leaks, get_backend, get_object_traceback,  # noqa: E402
                  get_traceback_limit, get_traced_memory, get_tracemalloc_memory, is_tracing,
                  reset_peak, retention_path, set_backend, start, stop, take_snapshot)
import linecache  # noqa: E402,F401  (tracemalloc.linecache's twin, for code that patches it)

from .errors import MemsnapError  # noqa: E402
from .leaks.retention_names import PathBlock, PathStep, RetentionPath  # noqa: E402
from .model.filters import BaseFilter, DomainFilter, Filter  # noqa: E402
from .model.format import format_size  # noqa: E402
from .model.frames import Frame  # noqa: E402
from .model.growth import Growth, growth  # noqa: E402
from .model.info import SnapshotInfo  # noqa: E402
from .model.keyframe import ALLOCATOR_FUNCTIONS, KeyRule  # noqa: E402
from .model.snapshot import Site, Snapshot  # noqa: E402
from .model.tracebacks import Statistic, StatisticDiff, Trace, Traceback  # noqa: E402

__all__ = [
    "take_snapshot", "get_traced_memory", "get_traceback_limit", "is_tracing",
    "get_object_traceback", "get_tracemalloc_memory", "start", "stop",
    "clear_traces", "reset_peak", "set_backend", "get_backend", "find_leaks",
    "Snapshot", "Statistic", "StatisticDiff", "Trace", "Traceback", "Frame",
    "BaseFilter", "Filter", "DomainFilter", "MemsnapError", "format_size", "Site", "SnapshotInfo",
    "KeyRule", "ALLOCATOR_FUNCTIONS", "growth", "Growth",
    "retention_path", "RetentionPath", "PathStep", "PathBlock",
]
