"""Linux /proc/PID/maps: its lines parsed into mappings, and a live local process's mappings read.

Shared by every piece that looks at a live local process beside the
debugger: the core's regions of a live local process (regions.py), the GDB
backend (`info proc mappings` has the same lines), LLDB's gcore (one core
segment per mapping) and the tests' procfs backend. A Mapping keeps the
permission string a Region leaves out. Pure Python: no debugger.
"""

from typing import NamedTuple, Optional

from .backend import Region


class Mapping(NamedTuple):
    """One line of /proc/PID/maps."""
    start: int
    end: int                 # exclusive
    perms: str               # e.g. "r-xp"
    offset: int              # file offset mapped at start
    name: str                # backing file path, "[stack]", "[heap]", or ""

    def region(self, in_core=True):
        """The backend.Region of this mapping."""
        return Region(self.start, self.end, self.perms[0] == "r", self.perms[1] == "w",
                      self.perms[2] == "x", self.name, in_core, self.offset)


def parse_line(line) -> Optional[Mapping]:
    """The Mapping of one maps line, or None for a line that is not one."""
    fields = line.split(None, 5)
    if len(fields) < 5 or len(fields[1]) < 3:
        return None
    try:
        start, end = (int(x, 16) for x in fields[0].split("-"))
        offset = int(fields[2], 16)
    except ValueError:
        return None
    return Mapping(start, end, fields[1], offset, fields[5].strip() if len(fields) > 5 else "")


def read_mappings(pid):
    """The mappings of live process `pid`, in address order; raises OSError."""
    with open("/proc/%d/maps" % pid) as maps:
        return [m for m in map(parse_line, maps) if m is not None]
