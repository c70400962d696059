"""The debugger session's state: the backend and its Target, the frame source, kept snapshots.

One Session per debugger (module-level `current`): the adapter hands it its
backend once (memsnap.set_backend), and it keeps a Target over it (its one
cache of lookups lives as long as the backend, cleared on the debugger's
events: target/cache.py) and the frame source every snapshot of this
target shares. It builds Snapshots from the trace table (table/reader.py ->
model/from_table.py -> Snapshot.from_sites), each snapshot of a live
process starting a new allocation epoch (table/epochs.py), and the
snapshot of the peak (per-site counts only: no blocks, no epoch). Named snapshots kept by the
`memsnap` command live here, in the order they were kept.
"""

from collections import OrderedDict

from .errors import MemsnapError, NoTargetError, UnknownSnapshotError
from .leaks.block_types import BlockTypes
from .model.from_table import live_sites, peak_sites, snapshot_info
from .model.snapshot import Snapshot
from .model.sources import PcFrames
from .table import epochs, reader
from .target import sourcelines
from .target.target import Target

NO_BACKEND = "no debugger backend: load memsnap through memsnap-gdb, memsnap-lldb or their source line"


class Session:
    def __init__(self):
        self.backend = None
        self._target = None
        self.frames = None      # the frame source of this target's snapshots
        self.kept = OrderedDict()
        self._auto = 0

    def set_backend(self, backend):
        if backend is self.backend:
            return          # keep the target's cache: adapters may call this per command
        self.backend = backend
        self._target = Target(backend) if backend is not None else None
        self.frames = PcFrames(self._target) if backend is not None else None
        sourcelines.set_backend(backend)

    def require_backend(self):
        if self.backend is None:
            raise NoTargetError(NO_BACKEND)
        return self.backend

    def target(self):
        """The Target, with what the debugger's events changed forgotten."""
        self.require_backend()
        return self._target.refresh()

    def take(self, read_slots=True, resolve=False, peak=False):
        """A Snapshot of the target now (not kept). resolve=True symbolizes
        the key frames at once (for snapshots kept past this stop).
        peak=True: of the heap at the peak of traced memory instead, each
        site's live bytes and count then (no per-block data)."""
        target = self.target()
        table = reader.read_table(target, read_slots=read_slots and not peak)
        if peak:
            snapshot = Snapshot.from_sites(peak_sites(table), self.frames, table.traceback_limit,
                                           snapshot_info(table, target, peak=True))
        else:
            epoch = epochs.start_new_epoch(target, table)
            snapshot = Snapshot.from_sites(live_sites(table), self.frames, table.traceback_limit,
                                           snapshot_info(table, target, epoch),
                                           table.iter_blocks, table.find_block)
        if resolve:
            snapshot.resolve_key_frames()
        if not peak:
            snapshot.set_block_types(self._block_types_at(target))
        return snapshot

    def _block_types_at(self, target):
        """A provider of the BlockTypes of `target` as it is now (for
        Snapshot.statistics("type")), refusing once the program has run."""
        backend, generation = self.backend, self.backend.generation()

        def provider():
            if self.backend is not backend or backend.generation() != generation:
                raise MemsnapError("statistics by type need the target as it was when the "
                                       "snapshot was taken: take a new snapshot")
            return BlockTypes.of(target, self.frames)
        return provider

    def root(self):
        return reader.read_root(self.target())

    def target_of(self, snapshot):
        """The Target `snapshot` was taken from, if the debugger has it now
        (same frame source, same process or core); else None."""
        if self.backend is None or snapshot.frame_source is not self.frames:
            return None
        target = self.target()
        if not target.has_target() or (snapshot.info.pid, snapshot.info.live) != \
                (target.pid(), target.is_live()):
            return None
        return target

    # ---- kept snapshots ----
    def next_name(self):
        while True:
            self._auto += 1
            name = "snap%d" % self._auto
            if name not in self.kept:
                return name

    def keep(self, name, snapshot):
        self.kept.pop(name, None)
        self.kept[name] = snapshot

    def get(self, name):
        try:
            return self.kept[name]
        except KeyError:
            if self.kept:
                kept = "kept are " + ", ".join(self.kept)
            else:
                kept = "none are kept (take one with 'memsnap NAME')"
            raise UnknownSnapshotError("no snapshot named '%s': %s" % (name, kept))

    def delete(self, name):
        self.get(name)
        del self.kept[name]


current = Session()
