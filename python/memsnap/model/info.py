"""SnapshotInfo: what is known about the moment a snapshot was taken, as one small typed record.

Filled from the trace table by model/from_table.py (and kept in snapshot
files): which target (a live process or a core dump, its pid), when, what
the runtime said (tracing, truncated, totals, unwinder, layout version,
sampling interval), the allocation epoch it was taken in, whether it is
the snapshot of the peak, and what the reader could not show (warnings,
in-flight blocks skipped).
Fields are None where a snapshot does not know them (one built from
tracemalloc-style traces, or loaded from an older file).
"""

from dataclasses import asdict, dataclass, fields, replace
from typing import Optional, Tuple


@dataclass(frozen=True)
class SnapshotInfo:
    live: Optional[bool] = None          # True: a live process; False: a core dump
    pid: Optional[int] = None
    time: Optional[float] = None         # when it was taken (time.time())
    tracing: Optional[bool] = None
    truncated: Optional[bool] = None     # the runtime ran out of memory: traces incomplete
    current_bytes: Optional[int] = None
    peak_bytes: Optional[int] = None
    runtime_bytes: Optional[int] = None
    untraced: Optional[int] = None
    unwinder: Optional[str] = None
    layout: Optional[str] = None         # "major.minor" of the trace table
    epoch: Optional[int] = None          # the allocation epoch it was taken in (table/epochs.py)
    sample_bytes: Optional[int] = None   # the table's mean sampling interval (0: every block)
    peak: Optional[bool] = None          # True: the heap at the peak of traced memory, not now
    peak_bound: Optional[int] = None     # bytes a peak snapshot may miss of the peak (0: exact)
    warnings: Tuple[str, ...] = ()       # what the reader could not read
    skipped: int = 0                     # in-flight blocks left out

    def with_notes(self, warnings, skipped):
        """The same info with other reader notes."""
        return replace(self, warnings=tuple(warnings), skipped=skipped)

    def to_data(self):
        """The scalar fields as a dict (warnings and skipped are kept apart)."""
        data = asdict(self)
        del data["warnings"], data["skipped"]
        return data

    @classmethod
    def from_data(cls, data, warnings=(), skipped=0):
        known = {f.name for f in fields(cls)} - {"warnings", "skipped"}
        values = {k: v for k, v in (data or {}).items()
                  if k in known and isinstance(v, (int, float, str, bool, type(None)))}
        return cls(warnings=tuple(warnings), skipped=int(skipped), **values)
