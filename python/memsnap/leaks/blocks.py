"""The leak check's live blocks: the heap domain's blocks of the trace table, sorted, in a C array.

Gathered from the block chunks' raw slot arrays by the C scanner (the
reader blanks in-flight slots; other domains are left out), sorted by address, and handed to a scan
(new_scan); blocks overlapping an earlier one (a corrupt or racing table)
are dropped and counted. holding() finds the block that contains an
address with the one containment rule of table/blocks.py. The runtime
numbers sites 1, 2, 3, ... and the scanner's per-site arrays are indexed by
id, so ids far beyond the number of sites read (a corrupt depot) are left
out and counted (forged_sites) instead of sizing those arrays.
"""

import bisect
import ctypes

from ..errors import MemsnapError
from ..table import blocks as block_rule
from ..table import layout
from . import scanlib

_EINVAL = -22
SPARE_SITE_IDS = 65536          # ids allowed beyond 4x the sites read (unreadable depot parts)


class LiveBlocks:
    """The heap domain's live blocks, sorted by address, in a C array."""

    def __init__(self, table):
        self.table = table
        limit = 4 * len(table.sites) + SPARE_SITE_IDS
        self.sites = {sid: s for sid, s in table.sites.items()
                      if s.domain == layout.DOMAIN_HEAP and sid <= limit}
        self.forged_sites = sum(1 for sid in table.sites if sid > limit)
        # bounded by the site ids read, never by a count the table claims
        self.nsites = max(self.sites, default=0)
        self.array, self.n = _gather(table, self.sites, self.nsites)
        self.dropped = 0
        self.addrs = _AddressColumn(self)

    def new_scan(self):
        """A C scan handle over these blocks (free it with memsnap_scan_free).
        Blocks overlapping an earlier one are dropped first, and counted in
        self.dropped."""
        lib = scanlib.load()
        bad = ctypes.c_uint64(0)
        handle = ctypes.c_void_p()
        rc = lib.memsnap_scan_new(self.array, self.n, ctypes.byref(handle), ctypes.byref(bad))
        if rc == _EINVAL:  # overlapping blocks
            self.dropped += self._drop_overlaps()
            rc = lib.memsnap_scan_new(self.array, self.n, ctypes.byref(handle), ctypes.byref(bad))
        if rc:
            raise MemsnapError("cannot start the leak scan over %d blocks (error %d)" % (self.n, -rc))
        return handle

    def _drop_overlaps(self):
        """Remove blocks that overlap an earlier one; how many were removed."""
        kept = []
        end = 0
        for i in range(self.n):
            b = self.array[i]
            if b.addr >= end:
                kept.append((b.addr, b.size, b.site))
                end = b.addr + max(b.size, 1)
        dropped = self.n - len(kept)
        array = (scanlib.Block * max(len(kept), 1))()
        for i, (a, s, site) in enumerate(kept):
            array[i].addr, array[i].size, array[i].site = a, s, site
        self.array, self.n = array, len(kept)
        return dropped

    def any_in(self, start, end):
        """True when a block starts in [start, end)."""
        i = bisect.bisect_left(self.addrs, start)
        return i < self.n and self.array[i].addr < end

    def any_overlapping(self, start, end):
        """True when a block has a byte in [start, end) (or starts there)."""
        i = bisect.bisect_left(self.addrs, start)
        if i < self.n and self.array[i].addr < end:
            return True
        return i > 0 and self.array[i - 1].addr + self.array[i - 1].size > start

    def block(self, index):
        b = self.array[index]
        return b.addr, b.size, b.site

    def holding(self, address):
        """(start, size, site) of the block containing address, or None."""
        index = block_rule.holder(self.addrs, self.block, address)
        return None if index is None else self.block(index)


def _gather(table, sites, nsites):
    """(C array of Blocks, count) of the table's blocks of `sites`, sorted."""
    lib = scanlib.load()
    site_ok = (ctypes.c_uint8 * (nsites + 1))()
    for sid in sites:
        site_ok[sid] = 1
    cap = sum(chunk.high for chunk in table.chunks) + 64
    while True:
        array = (scanlib.Block * max(cap, 1))()
        n = 0
        for chunk in table.chunks:
            nslots = len(chunk.raw) // table.slot_size
            n += lib.memsnap_scan_gather_slots(
                _char_array(chunk.raw), nslots, table.slot_size, table.slot_addr_offset,
                table.slot_meta_offset, table.site_id_bits, site_ok, nsites + 1,
                ctypes.cast(ctypes.byref(array, n * ctypes.sizeof(scanlib.Block)),
                            ctypes.POINTER(scanlib.Block)),
                max(cap - n, 0))
        if n <= cap:
            break
        cap = n + 64
    if lib.memsnap_scan_sort_blocks(array, n):
        raise MemsnapError("out of memory sorting %d blocks" % n)
    return array, n


class _AddressColumn:
    """A read-only sequence view of the blocks' addresses (for bisect)."""

    def __init__(self, blocks):
        self._blocks = blocks

    def __len__(self):
        return self._blocks.n

    def __getitem__(self, index):
        return self._blocks.array[index].addr


def _char_array(raw):
    """The bytes of a chunk's slots as the C scanner takes them (a char
    array over the table's writable buffer, or the bytes themselves)."""
    if isinstance(raw, bytes):
        return raw
    return (ctypes.c_char * len(raw)).from_buffer(raw)
