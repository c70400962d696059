"""The debugger's half of allocation epochs: each snapshot of a live process starts a new epoch.

Runtime 2.0 stamps every block with root.epoch as it is allocated
(docs/layout.md). After reading a live process's table, the debugger
writes root.epoch + 1 into it, so every block allocated from then on is
younger than the snapshot just taken: "allocated after snapshot A" is
"born in an epoch after A's" (model/age.py). A core is never written: a
snapshot of it is in the epoch the core holds. When the write fails, the
snapshot has no epoch (None) and cannot serve as the start of an age query.
"""

import struct

from ..errors import UnwritableMemory

EPOCH = struct.Struct("<I")


def start_new_epoch(target, table):
    """The epoch a snapshot of `table`, just read from `target`, was taken
    in; for a live process, root.epoch is advanced past it. None when it
    could not be."""
    if not target.is_live():
        return table.epoch
    if not table.epoch_address or table.epoch >= 0xFFFFFFFF:
        return None
    try:
        target.write(table.epoch_address, EPOCH.pack(table.epoch + 1))
    except UnwritableMemory:
        return None
    return table.epoch
