"""memsnap: tracemalloc's analysis API for C and C++ programs, in GDB and LLDB.

`import memsnap` inside a debugger whose adapter called set_backend() gives
tracemalloc's API over the stopped target: take_snapshot(), Snapshot,
Statistic, StatisticDiff, Trace, Traceback, Frame, Filter, DomainFilter,
get_traced_memory(), get_traceback_limit(), is_tracing(),
get_object_traceback(address), get_tracemalloc_memory(), find_leaks() (the
memleaks check, docs/leaks.md), and start(),
stop(), clear_traces(), reset_peak() for a live process. This package never
imports gdb or lldb; see docs/python-api.md.
"""

from .api import (clear_traces, get_backend, get_object_traceback, get_traceback_limit,
                  get_traced_memory, get_tracemalloc_memory, is_tracing, reset_peak,
                  set_backend, start, stop, take_snapshot)
from .errors import MemsnapError
from .filters import BaseFilter, DomainFilter, Filter
from .format import format_size
from .frames import Frame
from .model import Statistic, StatisticDiff, Trace, Traceback
from .leaks import find_leaks
from .snapshot import Snapshot

__all__ = [
    "take_snapshot", "get_traced_memory", "get_traceback_limit", "is_tracing",
    "get_object_traceback", "get_tracemalloc_memory", "start", "stop",
    "clear_traces", "reset_peak", "set_backend", "get_backend", "find_leaks",
    "Snapshot", "Statistic", "StatisticDiff", "Trace", "Traceback", "Frame",
    "BaseFilter", "Filter", "DomainFilter", "MemsnapError", "format_size",
]
