"""Reads the trace table out of a target into plain data: the Table.

Finds `memsnap_root`, checks the fixed header (magic, major version), parses
the field table and then finds every other field by name. It walks the
mapping list, reads each depot mapping in one bulk read and decodes its
records (DepotRecord: one interned (domain, stack) and its counters), and
reads each shard's slot array in one bulk read (decoded lazily, only when
per-block data is wanted). Every pointer, count and size is validated: a
corrupt table raises CorruptTableError saying what is wrong; memory that
cannot be read (a hole in a core) becomes a warning and the rest is kept.
A shard locked by a writer has its in-flight slot skipped and counted.
Nothing here knows about frames, symbols or statistics.

What the model uses of a Table (its whole interface to the model, see
model/from_table.py): the root's values (traceback_limit, tracing,
truncated, current/peak/runtime bytes, untraced, unwinder_name, major and
minor), records() (the DepotRecords), iter_blocks(), find_block(),
warnings and skipped. The leak engine also reads the shards' raw slot
arrays and the runtime's mappings.
"""

import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from . import layout
from .blocks import contains
from ..errors import (CorruptTableError, LayoutVersionError, NoTargetError,
                      RuntimeNotLoadedError, UnreadableMemory)
from ..target import corefile
from ..target.memory import spans
from ..target.target import Target

RUNTIME_NOT_LOADED = ("libmemsnap.so is not loaded in this process: it is loaded when the "
                      "program starts (LD_PRELOAD=/path/libmemsnap.so, which memsnap-gdb and "
                      "memsnap-lldb set for the programs they start)")
RUNTIME_NOT_YET = ("libmemsnap.so is not loaded yet: the process stopped before its libraries "
                   "were loaded (as at starti); continue past start-up (e.g. break main, "
                   "continue) and try again")

ROOT_FIELDS = ("state", "traceback_limit", "max_frames", "unwinder", "current_bytes",
               "peak_bytes", "runtime_bytes", "mappings", "shards", "nshards",
               "site_id_bits", "nsites", "untraced")
MAPPING_FIELDS = ("next", "size", "kind", "used")
SITE_FIELDS = ("live_count", "live_bytes", "total_count", "total_bytes", "id",
               "domain", "nframes", "total_nframes")
SHARD_FIELDS = ("lock", "pending_op", "pending_addr", "slots", "count", "tombstones")


@dataclass
class DepotRecord:
    """One record of the stack depot (struct memsnap_site): a (domain, call
    stack) interned once, with its live and total counters."""
    id: int
    domain: int
    pcs: Tuple[int, ...]        # return addresses, innermost first
    total_nframes: int
    live_count: int
    live_bytes: int
    total_count: int
    total_bytes: int


@dataclass
class Mapping:
    address: int
    size: int
    kind: int
    used: int


@dataclass
class ShardSlots:
    """One shard's slot array as raw bytes, plus what its lock said."""
    index: int
    address: int                # of the slot array's first slot
    capacity: int
    count: int
    raw: bytes
    skip_addr: Optional[int]    # in-flight block to leave out, or None


@dataclass
class Table:
    """Everything read from the trace table at one moment."""
    root_address: int
    major: int
    minor: int
    state: int
    traceback_limit: int
    max_frames: int
    unwinder: int
    current_bytes: int
    peak_bytes: int
    runtime_bytes: int
    nshards: int
    site_id_bits: int
    nsites: int
    untraced: int
    mappings: List[Mapping] = field(default_factory=list)
    sites: Dict[int, DepotRecord] = field(default_factory=dict)
    shards: List[ShardSlots] = field(default_factory=list)
    slot_size: int = 16
    slot_addr_offset: int = 0
    slot_meta_offset: int = 8
    skipped: int = 0
    warnings: List[str] = field(default_factory=list)

    @property
    def tracing(self):
        return bool(self.state & layout.STATE_TRACING)

    @property
    def truncated(self):
        return bool(self.state & layout.STATE_TRUNCATED)

    @property
    def unwinder_name(self):
        return layout.unwinder_name(self.unwinder)

    def records(self):
        """The depot records, by site id."""
        return [self.sites[site_id] for site_id in sorted(self.sites)]

    def iter_blocks(self):
        """Yield (address, size, site_id) for every live block, shard by shard."""
        bits = self.site_id_bits
        mask = (1 << bits) - 1
        tomb = layout.SLOT_TOMBSTONE
        for shard in self.shards:
            skip = shard.skip_addr
            for addr, meta in _slot_pairs(self, shard):
                if addr == 0 or addr == tomb or addr == skip:
                    continue
                yield addr, meta >> bits, meta & mask

    def find_block(self, address):
        """(start, size, site_id) of the live block with the highest start
        <= address, if it contains address; else None. Scans the slot arrays
        at C speed (no Python loop per slot)."""
        if not (self.slot_size == 16 and self.slot_addr_offset == 0 and self.slot_meta_offset == 8):
            return self._find_block_slowly(address)
        best = None
        for shard in self.shards:
            words = memoryview(shard.raw).cast("Q")
            # tombstones (all ones) are above any address; empty slots are 0
            start = max(filter(address.__ge__, words[0::2]), default=0)
            if start and start != shard.skip_addr and (best is None or start > best[0]):
                best = (start, shard)
        if best is None:
            return None   # (the caller falls back to a full scan)
        start, shard = best
        words = memoryview(shard.raw).cast("Q")
        index = words[0::2].tolist().index(start)
        meta = words[2 * index + 1]
        size = meta >> self.site_id_bits
        if contains(start, size, address):
            return start, size, meta & ((1 << self.site_id_bits) - 1)
        return None

    def _find_block_slowly(self, address):
        for start, size, site_id in self.iter_blocks():
            if contains(start, size, address):
                return start, size, site_id
        return None


def _slot_pairs(table, shard):
    raw = shard.raw
    if table.slot_size == 16 and table.slot_addr_offset == 0 and table.slot_meta_offset == 8:
        words = memoryview(raw).cast("Q")
        return zip(words[0::2], words[1::2])
    addr_at, meta_at, size = table.slot_addr_offset, table.slot_meta_offset, table.slot_size
    return ((struct.unpack_from("<Q", raw, i + addr_at)[0],
             struct.unpack_from("<Q", raw, i + meta_at)[0])
            for i in range(0, len(raw) - size + 1, size))


def find_root(target):
    """Address of memsnap_root, or raise NoTargetError / RuntimeNotLoadedError."""
    if target is None or not target.has_target():
        raise NoTargetError()
    address = target.lookup_symbol(layout.ROOT_SYMBOL)
    if not address:
        if not target.is_live():
            # A truncated core also loses the list of libraries, and with it
            # the runtime's symbol: say so rather than "not loaded".
            corefile.check_complete(target, layout.ROOT_SYMBOL)
        raise RuntimeNotLoadedError(RUNTIME_NOT_LOADED if _libraries_loaded(target)
                                    else RUNTIME_NOT_YET)
    return address


def _libraries_loaded(target):
    """False while the dynamic loader has not loaded the C library yet."""
    return any("/libc.so" in region.name or "/libc-" in region.name
               for region in target.regions())


class TableReader:
    """Reads one consistent-as-possible Table from a target."""

    def __init__(self, target, read_slots=True):
        self.target = target
        self.read_slots = read_slots
        self.warnings = []

    # -- memory helpers --
    def _read(self, address, size, what):
        try:
            return self.target.read(address, size)
        except UnreadableMemory as err:
            raise UnreadableMemory(address, size, "cannot read %s: %s" % (what, err))

    def _try_read(self, address, size, what):
        """The bytes, or None with a warning. Large reads go in chunks, so a
        corrupt size never makes the reader ask for more than is mapped."""
        if size <= layout.READ_CHUNK:
            try:
                return self._read(address, size, what)
            except UnreadableMemory as err:
                self.warnings.append(str(err))
                return None
        parts = []
        for piece_address, piece in spans(address, address + size, layout.READ_CHUNK):
            try:
                parts.append(self._read(piece_address, piece, what))
            except UnreadableMemory:
                self.warnings.append("cannot read %s: %d of %d bytes at 0x%x are readable"
                                     % (what, piece_address - address, size, address))
                return None
        return b"".join(parts)

    # -- the steps --
    def read(self, root_only=False):
        root = find_root(self.target)
        header = self._read(root, layout.FIXED_HEADER_SIZE, "the trace table root (memsnap_root at 0x%x)" % root)
        magic, major, minor, root_size, fields_addr, fields_count, field_size = \
            layout.FIXED_HEADER.unpack_from(header)
        if magic != layout.MAGIC:
            # In a core, a zero header most often means the debugger loaded a
            # libmemsnap.so rebuilt since the core was written: its root symbol
            # no longer lies where the dumped library's root was.
            hint = ("; is libmemsnap.so the same build that wrote this core?"
                    if magic == 0 and not self.target.is_live() else "")
            raise CorruptTableError("memsnap_root at 0x%x has bad magic 0x%016x (expected 0x%016x)%s"
                                    % (root, magic, layout.MAGIC, hint))
        if major != layout.KNOWN_MAJOR:
            raise LayoutVersionError("trace table layout %d.%d is not supported by this memsnap (knows %d.x)"
                                     % (major, minor, layout.KNOWN_MAJOR))
        if not layout.FIXED_HEADER_SIZE <= root_size <= layout.MAX_ROOT_SIZE:
            raise CorruptTableError("root size %d is impossible" % root_size)
        if not 0 < fields_count <= layout.MAX_FIELDS:
            raise CorruptTableError("field table count %d is impossible" % fields_count)
        if not layout.FIELD_RECORD.size <= field_size <= layout.MAX_FIELD_SIZE:
            raise CorruptTableError("field record size %d is impossible (at least %d)"
                                    % (field_size, layout.FIELD_RECORD.size))
        raw_fields = self._read(fields_addr, fields_count * field_size,
                                "the field table (%d entries at 0x%x)" % (fields_count, fields_addr))
        fields = layout.FieldTable.parse(raw_fields, fields_count, field_size)
        if fields.record_size("root") > root_size:
            raise CorruptTableError("the field table's root record (%d bytes) is larger than root_size %d"
                                    % (fields.record_size("root"), root_size))
        root_raw = self._read(root, root_size, "the trace table root")
        values = dict(zip(ROOT_FIELDS, fields.compile("root", ROOT_FIELDS).unpack_from(root_raw)))
        table = Table(root_address=root, major=major, minor=minor,
                      state=values["state"], traceback_limit=values["traceback_limit"],
                      max_frames=values["max_frames"], unwinder=values["unwinder"],
                      current_bytes=values["current_bytes"], peak_bytes=values["peak_bytes"],
                      runtime_bytes=values["runtime_bytes"], nshards=values["nshards"],
                      site_id_bits=values["site_id_bits"], nsites=values["nsites"],
                      untraced=values["untraced"])
        self._check_root(table)
        if root_only:
            table.warnings = self.warnings
            return table
        table.mappings = self._read_mappings(fields, values["mappings"])
        table.sites = self._read_sites(fields, table)
        self._read_shards(fields, table, values["shards"])
        table.warnings = self.warnings
        return table

    def _check_root(self, table):
        if not 0 < table.max_frames <= layout.MAX_FRAMES_LIMIT:
            raise CorruptTableError("root.max_frames %d is impossible" % table.max_frames)
        if table.traceback_limit > table.max_frames:
            raise CorruptTableError("root.traceback_limit %d exceeds max_frames %d"
                                    % (table.traceback_limit, table.max_frames))
        if not 0 < table.site_id_bits < 64:
            raise CorruptTableError("root.site_id_bits %d is impossible" % table.site_id_bits)
        n = table.nshards
        if n and (n & (n - 1) or n > layout.MAX_SHARDS):
            raise CorruptTableError("root.nshards %d is not a power of two <= %d" % (n, layout.MAX_SHARDS))
        if table.nsites > (1 << table.site_id_bits) - 1:
            raise CorruptTableError("root.nsites %d exceeds the %d-bit site id space"
                                    % (table.nsites, table.site_id_bits))

    def _read_mappings(self, fields, head):
        header_size = fields.record_size("mapping")
        unpack = fields.compile("mapping", MAPPING_FIELDS)
        mappings = []
        seen = set()
        address = head
        while address:
            if address in seen:
                raise CorruptTableError("the mapping list has a cycle at 0x%x (after %d mappings)"
                                        % (address, len(mappings)))
            if len(mappings) >= layout.MAX_MAPPINGS:
                raise CorruptTableError("the mapping list has more than %d entries" % layout.MAX_MAPPINGS)
            seen.add(address)
            raw = self._try_read(address, header_size, "mapping header %d at 0x%x" % (len(mappings), address))
            if raw is None:
                self.warnings.append("the mapping list is cut at 0x%x: later depot mappings are missing" % address)
                break
            next_addr, size, kind, used = unpack.unpack_from(raw)
            if not header_size <= size <= layout.MAX_MAPPING_SIZE:
                raise CorruptTableError("mapping at 0x%x has impossible size %d" % (address, size))
            if kind == layout.MAP_DEPOT and not header_size <= used <= size:
                raise CorruptTableError("depot mapping at 0x%x has used=%d outside [%d, %d]"
                                        % (address, used, header_size, size))
            mappings.append(Mapping(address, size, kind, used))
            address = next_addr
        return mappings

    def _read_sites(self, fields, table):
        header_size = fields.record_size("mapping")
        site_size = fields.record_size("site")
        pcs_offset = fields.offset("site", "pcs")
        unpack = fields.compile("site", SITE_FIELDS)
        id_max = (1 << table.site_id_bits) - 1
        pcs_structs = {}
        sites = {}
        for mapping in table.mappings:
            if mapping.kind != layout.MAP_DEPOT or mapping.used <= header_size:
                continue
            raw = self._try_read(mapping.address, mapping.used,
                                 "depot mapping at 0x%x (%d bytes)" % (mapping.address, mapping.used))
            if raw is None:
                self.warnings.append("sites in the depot mapping at 0x%x are missing" % mapping.address)
                continue
            offset = header_size
            end = mapping.used
            while offset < end:
                where = mapping.address + offset
                if offset + site_size > end:
                    raise CorruptTableError("site record at 0x%x runs past the depot mapping's used end" % where)
                (live_count, live_bytes, total_count, total_bytes, site_id, domain,
                 nframes, total_nframes) = unpack.unpack_from(raw, offset)
                if nframes > table.max_frames:
                    raise CorruptTableError("site at 0x%x has %d frames, more than max_frames %d"
                                            % (where, nframes, table.max_frames))
                record_size = layout.round_up(pcs_offset + 8 * nframes, 16)
                if record_size < site_size:
                    record_size = layout.round_up(site_size, 16)
                if offset + record_size > end:
                    raise CorruptTableError("site at 0x%x (%d frames) runs past the depot mapping's used end"
                                            % (where, nframes))
                if not 0 < site_id <= id_max:
                    raise CorruptTableError("site at 0x%x has impossible id %d" % (where, site_id))
                if site_id in sites:
                    raise CorruptTableError("site id %d appears twice (at 0x%x)" % (site_id, where))
                pcs_struct = pcs_structs.get(nframes)
                if pcs_struct is None:
                    pcs_struct = pcs_structs[nframes] = struct.Struct("<%dQ" % nframes)
                pcs = pcs_struct.unpack_from(raw, offset + pcs_offset)
                sites[site_id] = DepotRecord(site_id, domain, pcs, max(total_nframes, nframes),
                                      live_count, live_bytes, total_count, total_bytes)
                offset += record_size
        return sites

    def _read_shards(self, fields, table, shards_addr):
        n = table.nshards
        if not n:
            return
        shard_size = fields.record_size("shard")
        unpack = fields.compile("shard", SHARD_FIELDS)
        slots_header = fields.record_size("slots")
        capacity_unpack = fields.compile("slots", ("capacity",))
        slot_array_offset = fields.offset("slots", "slot")
        map_size_unpack = fields.compile("mapping", ("size",))
        slot_size = fields.record_size("slot")
        table.slot_size = slot_size
        table.slot_addr_offset = fields.offset("slot", "addr")
        table.slot_meta_offset = fields.offset("slot", "meta")
        raw = self._try_read(shards_addr, n * shard_size, "the %d shards at 0x%x" % (n, shards_addr))
        if raw is None:
            self.warnings.append("per-block data (traces, memwhere) is missing: the shard array is unreadable")
            return
        locked = 0
        for index in range(n):
            lock, op, pending, slots, count, tombstones = unpack.unpack_from(raw, index * shard_size)
            skip_addr = None
            if lock:
                locked += 1
                if op in (layout.OP_INSERT, layout.OP_REMOVE):
                    skip_addr = pending
                    table.skipped += 1
                elif op == layout.OP_CLEAR:
                    table.skipped += count
                    continue
            if not slots:
                if count:
                    raise CorruptTableError("shard %d counts %d blocks but has no slot array" % (index, count))
                continue
            if not self.read_slots:
                continue
            head = self._try_read(slots, slots_header, "shard %d's slot array header at 0x%x" % (index, slots))
            if head is None:
                self.warnings.append("%d blocks of shard %d are missing" % (count, index))
                continue
            (capacity,) = capacity_unpack.unpack_from(head)
            (map_size,) = map_size_unpack.unpack_from(head)
            if capacity == 0 or capacity & (capacity - 1) or capacity > layout.MAX_CAPACITY:
                raise CorruptTableError("shard %d's slot array at 0x%x has impossible capacity %d"
                                        % (index, slots, capacity))
            if slot_array_offset + capacity * slot_size > map_size:
                raise CorruptTableError("shard %d's %d slots do not fit its %d-byte mapping at 0x%x"
                                        % (index, capacity, map_size, slots))
            if count + tombstones > capacity:
                raise CorruptTableError("shard %d counts %d blocks and %d tombstones in %d slots"
                                        % (index, count, tombstones, capacity))
            array = self._try_read(slots + slot_array_offset, capacity * slot_size,
                                   "shard %d's %d slots at 0x%x" % (index, capacity, slots + slot_array_offset))
            if array is None:
                self.warnings.append("%d blocks of shard %d are missing" % (count, index))
                continue
            table.shards.append(ShardSlots(index, slots + slot_array_offset, capacity, count, array, skip_addr))
        if n > 1 and locked == n:
            self.warnings.append("every shard was locked (a thread was clearing the table or forking): "
                                 "statistics may be partial")


def read_table(target, read_slots=True):
    """Read the whole trace table of a target (a Target or a backend)."""
    return TableReader(_target(target), read_slots=read_slots).read()


def read_root(target):
    """Read only the root (state, depth, totals): no sites, no blocks."""
    return TableReader(_target(target), read_slots=False).read(root_only=True)


def _target(target):
    if target is None:
        raise NoTargetError()
    return Target.of(target)
