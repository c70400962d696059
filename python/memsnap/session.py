"""The debugger session's state: the backend, the PC cache, kept snapshots.

One Session per debugger (module-level `current`): the adapter hands it its
backend once (memsnap.set_backend). It builds Snapshots from the trace table
(reader.py -> snapshot.py), reusing one symbolizer cache while the target
stays the same (same pid and same root address) and starting a fresh one
when it changes. Named snapshots kept by the `memsnap` command live here,
in the order they were kept.
"""

import time
from collections import OrderedDict

from . import reader, sourcelines
from .errors import NoTargetError, UnknownSnapshotError
from .layout import UNWINDER_NAMES
from .snapshot import Site, Snapshot
from .symbolize import PcSymbolizer

NO_BACKEND = "no debugger backend: load memsnap through memsnap-gdb, memsnap-lldb or their source line"


def snapshot_from_table(table, source):
    """A Snapshot of every site with live blocks in a Table."""
    sites = [Site(s.id, s.domain, s.pcs, s.total_nframes, s.live_bytes, s.live_count)
             for s in sorted(table.sites.values(), key=lambda s: s.id) if s.live_count]
    info = {
        "warnings": table.warnings,
        "skipped": table.skipped,
        "tracing": table.tracing,
        "truncated": table.truncated,
        "current_bytes": table.current_bytes,
        "peak_bytes": table.peak_bytes,
        "runtime_bytes": table.runtime_bytes,
        "untraced": table.untraced,
        "unwinder": UNWINDER_NAMES.get(table.unwinder, "unknown (%d)" % table.unwinder),
        "layout": "%d.%d" % (table.major, table.minor),
        "time": time.time(),
    }
    return Snapshot._create(sites, source, table.iter_blocks, table.traceback_limit, info,
                            table.find_block)


class Session:
    def __init__(self):
        self.backend = None
        self._symbolizer = None
        self._target = None
        self.kept = OrderedDict()
        self._auto = 0

    def set_backend(self, backend):
        if backend is self.backend:
            return          # keep the address cache: adapters may call this per command
        self.backend = backend
        self._symbolizer = None
        self._target = None
        sourcelines.set_backend(backend)

    def require_backend(self):
        if self.backend is None:
            raise NoTargetError(NO_BACKEND)
        return self.backend

    def symbolizer_for(self, root_address):
        backend = self.require_backend()
        try:
            pid = backend.pid()
        except Exception:   # a backend without a pid: key on the root alone
            pid = None
        target = (pid, root_address)
        if self._symbolizer is None or self._target != target:
            self._symbolizer = PcSymbolizer(backend)
            self._target = target
        return self._symbolizer

    def take(self, read_slots=True, resolve=False):
        """A Snapshot of the target now (not kept). resolve=True symbolizes
        the key frames at once (for snapshots kept past this stop)."""
        backend = self.require_backend()
        table = reader.read_table(backend, read_slots=read_slots)
        snapshot = snapshot_from_table(table, self.symbolizer_for(table.root_address))
        if resolve:
            snapshot.resolve_key_frames()
        return snapshot

    def root(self):
        return reader.read_root(self.require_backend())

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
