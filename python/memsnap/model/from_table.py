"""The trace table as the model sees it: depot records as snapshot sites, the root as SnapshotInfo.

The only place the model reads a Table (table/reader.py lists what it
uses), for the session's snapshots and the leak engine's per-category
ones, which go into Snapshot.from_sites like every other. The sites of
the peak snapshot are each record's live pair at the last peak, or the
live sites now when the heap now holds more (docs/layout.md, "the peak
snapshot": with several threads the recorded peak may trail the exact
one, and the highest current seen so far includes now).
"""

import time

from ..errors import MemsnapError
from .info import SnapshotInfo
from .snapshot import Site

NO_PEAK = ("this trace table (layout %s) keeps no peak snapshot: the runtime (libmemsnap.so) "
           "is older than layout 2.1")


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


def peak_sites(table):
    """The sites of the peak snapshot, by site id: their live bytes and
    count at the last peak (totals unknown there), or the live sites now
    when they add up to more. MemsnapError for a table without one."""
    if not table.peak_known:
        raise MemsnapError(NO_PEAK % ("%d.%d" % (table.major, table.minor)))
    records = table.records()
    if sum(r.live_bytes for r in records) > sum(r.peak_bytes for r in records):
        return [Site(r.id, r.domain, r.pcs, r.total_nframes, r.live_bytes, r.live_count)
                for r in records if r.live_count]
    return [Site(r.id, r.domain, r.pcs, r.total_nframes, r.peak_bytes, r.peak_count)
            for r in records if r.peak_count]


def snapshot_info(table, target, epoch=None, peak=False):
    """The SnapshotInfo of a table just read from `target`, taken in `epoch`
    (`peak`: the snapshot is of the peak)."""
    return SnapshotInfo(
        live=target.is_live(), pid=target.pid(), time=time.time(),
        tracing=table.tracing, truncated=table.truncated,
        current_bytes=table.current_bytes, peak_bytes=table.peak_bytes,
        runtime_bytes=table.runtime_bytes, untraced=table.untraced,
        unwinder=table.unwinder_name, layout="%d.%d" % (table.major, table.minor),
        epoch=epoch, sample_bytes=table.sample_bytes,
        warnings=tuple(table.warnings), skipped=table.skipped, peak=peak or None,
        peak_bound=table.peak_bound if peak else None)
