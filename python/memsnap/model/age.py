"""Age: which blocks of a snapshot were allocated after an earlier snapshot was taken.

Runtime 2.0 stamps every block with the allocation epoch it was born in,
and each snapshot of a live process starts a new epoch (table/epochs.py);
a snapshot records the epoch it was taken in (SnapshotInfo.epoch). So the
blocks of B allocated after A was taken, and still live at B, are B's
blocks born in a later epoch than A's. Snapshot.filter_since() is that
filter: start_epoch() checks that the two snapshots can be compared,
younger_blocks() keeps the blocks and sums each site again from them,
with each block's sampling weights when the table is sampled
(table/sampling.py), since the site counters cover all of a site's blocks.
"""

from ..errors import MemsnapError, UsageError
from ..table.sampling import block_weights

NO_EPOCH = ("%s has no allocation epoch (a snapshot of the peak, taken from a trace table "
            "before layout 2.0, loaded from a file saved without one, built from traces, or "
            "taken from a process memsnap could not write to)")


def start_epoch(new, old):
    """The epoch of `old` whose later births count in `new`; raises
    UsageError or MemsnapError when the two cannot be compared."""
    for snapshot, which in ((old, "the older snapshot"), (new, "the newer snapshot")):
        if snapshot.info.epoch is None:
            raise MemsnapError(NO_EPOCH % which)
    if old.info.pid is not None and new.info.pid is not None and old.info.pid != new.info.pid:
        raise UsageError("the snapshots come from different processes (pid %d, then pid %d)"
                         % (old.info.pid, new.info.pid))
    if old.info.epoch > new.info.epoch:
        raise UsageError("the older snapshot was taken after the newer snapshot (epoch %d, then %d)"
                         % (old.info.epoch, new.info.epoch))
    return old.info.epoch


def younger_blocks(blocks, epoch, sample_bytes):
    """From (address, size, Site, birth) rows: the (address, size, site id,
    birth) of those born after `epoch`, and per Site their (bytes, count)
    sums. MemsnapError when a birth is unknown."""
    kept = []
    sums = {}
    for address, size, site, birth in blocks:
        if birth is None:
            raise MemsnapError("the newer snapshot does not know when its blocks were "
                               "allocated (no block births were read or saved)")
        if birth <= epoch:
            continue
        kept.append((address, size, site.id, birth))
        count, weight = block_weights(address or 0, size, site.domain, sample_bytes)
        total = sums.setdefault(site, [0, 0])
        total[0] += weight
        total[1] += count
    return kept, sums
