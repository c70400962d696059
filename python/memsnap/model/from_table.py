"""The trace table as the model sees it: depot records as snapshot sites, the root as SnapshotInfo.

The only place the model reads a Table (table/reader.py lists what it
uses), for the session's snapshots and the leak engine's per-category
ones, which go into Snapshot.from_sites like every other.
"""

import time

from .info import SnapshotInfo
from .snapshot import Site


def site_of(record, size=None, count=None):
    """The snapshot Site of a depot record: its live bytes and count and its
    totals; or, for `size` and `count` of some of its blocks, those alone."""
    if size is None:
        return Site(record.id, record.domain, record.pcs, record.total_nframes,
                    record.live_bytes, record.live_count, record.total_bytes, record.total_count)
    return Site(record.id, record.domain, record.pcs, record.total_nframes, size, count)


def live_sites(table):
    """The sites of every depot record with live blocks, by site id."""
    return [site_of(record) for record in table.records() if record.live_count]


def snapshot_info(table, target, epoch=None):
    """The SnapshotInfo of a table just read from `target`, taken in `epoch`."""
    return SnapshotInfo(
        live=target.is_live(), pid=target.pid(), time=time.time(),
        tracing=table.tracing, truncated=table.truncated,
        current_bytes=table.current_bytes, peak_bytes=table.peak_bytes,
        runtime_bytes=table.runtime_bytes, untraced=table.untraced,
        unwinder=table.unwinder_name, layout="%d.%d" % (table.major, table.minor),
        epoch=epoch, sample_bytes=table.sample_bytes,
        warnings=tuple(table.warnings), skipped=table.skipped)
