"""Reads the trace table out of a target into plain data: the Table.

Finds `memsnap_root`, checks the fixed header (magic, major version 2),
parses the field table and then finds every other field by name
(docs/layout.md). It walks the mapping list, reads each depot mapping in
one bulk read and decodes its sites; reads the thread records and sums
their per-site counters (threads.py), leaving out each thread's operation
in flight, and with them each site's live pair at the last peak (layout
2.1's peak snapshot); and reads each block chunk's used slots in one bulk read
(decoded lazily, only when per-block data is wanted), the slots of
operations in flight blanked. Every pointer, count and size is validated:
a corrupt table raises CorruptTableError saying what is wrong; memory that
cannot be read (a hole in a core) becomes a warning and the rest is kept.
Nothing here knows about frames, symbols or statistics.

What the model uses of a Table (its whole interface to the model, see
model/from_table.py): the root's values (traceback_limit, tracing,
truncated, current/peak/runtime bytes, untraced, unwinder_name, major and
minor, peak_known), records() (the DepotRecords), iter_blocks(), find_block(),
warnings and skipped. The leak engine also reads the chunks' raw slot
arrays and the runtime's mappings.
"""

import itertools
import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from . import layout, linked, threads
from .blocks import contains
from ..errors import (CorruptTableError, LayoutVersionError, NoTargetError,
                      RuntimeNotLoadedError, UnreadableMemory)
from ..target import corefile
from ..target.memory import populated_buffer, spans
from ..target.target import Target

RUNTIME_NOT_LOADED = ("libmemsnap.so is not loaded in this process: it is loaded when the "
                      "program starts (LD_PRELOAD=/path/libmemsnap.so, which memsnap-gdb and "
                      "memsnap-lldb set for the programs they start)")
RUNTIME_NOT_YET = ("libmemsnap.so is not loaded yet: the process stopped before its libraries "
                   "were loaded (as at starti); continue past start-up (e.g. break main, "
                   "continue) and try again")

ROOT_FIELDS = ("state", "traceback_limit", "max_frames", "unwinder", "current_bytes",
               "peak_bytes", "runtime_bytes", "mappings", "threads", "nsites", "untraced",
               "sample_bytes", "site_id_bits", "counters_per_page", "clear_gen", "epoch",
               "fold_bytes")
MAPPING_FIELDS = ("next", "size", "kind", "used")
SITE_FIELDS = ("id", "domain", "nframes", "total_nframes")
CHUNK_FIELDS = ("owner", "capacity", "high", "births")
VERSION_HINT = ("the runtime (libmemsnap.so) and these debugger commands come from "
                "different memsnap builds")


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
    peak_count: int = 0         # live at the last peak (when Table.peak_known)
    peak_bytes: int = 0


@dataclass
class Mapping:
    address: int
    size: int
    kind: int
    used: int


@dataclass
class ChunkSlots:
    """One block chunk's used slots as raw bytes (the slots of operations
    in flight blanked: addr 0)."""
    address: int                # of the chunk (its mapping)
    slots_address: int          # of its first slot
    capacity: int
    high: int                   # slots [0, high) were used
    births: int                 # address of its uint32 births[capacity]
    raw: memoryview             # slots [0, high) as read (bytes-like, writable)
    birth_raw: Optional[memoryview] = None   # births[0, high) as read (None: unreadable)


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
    site_id_bits: int
    nsites: int
    untraced: int
    sample_bytes: int = 0
    epoch: int = 0
    epoch_address: int = 0      # of root.epoch (a debugger advances it: table/epochs.py)
    peak_known: bool = False    # the table keeps a peak snapshot (layout 2.1 and later)
    fold_bytes: int = 0
    mappings: List[Mapping] = field(default_factory=list)
    sites: Dict[int, DepotRecord] = field(default_factory=dict)
    threads: list = field(default_factory=list)       # threads.ThreadRecord
    chunks: List[ChunkSlots] = field(default_factory=list)
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
    def sampled(self):
        """Heap blocks are sampled (every count is an estimate)."""
        return bool(self.state & layout.STATE_SAMPLED)

    @property
    def peak_bound(self):
        """How many bytes the peak snapshot (and peak_bytes) may miss of the
        exact peak, besides one block in flight per thread (docs/layout.md,
        "the peak snapshot"): 0 while the runtime says they are exact."""
        if not self.state & layout.STATE_DRIFT:
            return 0
        records = sum(1 for record in self.threads if record.current_record)
        return max(2 * records - 1, 1) * self.fold_bytes

    @property
    def unwinder_name(self):
        return layout.unwinder_name(self.unwinder)

    def records(self):
        """The depot records, by site id."""
        return [self.sites[site_id] for site_id in sorted(self.sites)]

    def iter_blocks(self):
        """Yield (address, size, site_id, birth) for every live block, chunk
        by chunk: birth is the root.epoch it was allocated in (None when
        its chunk's births could not be read)."""
        bits = self.site_id_bits
        mask = (1 << bits) - 1
        for chunk in self.chunks:
            births = _births(chunk)
            for (addr, meta), birth in zip(_slot_pairs(self, chunk), births):
                if addr:
                    yield addr, meta >> bits, meta & mask, birth

    def find_block(self, address):
        """(start, size, site_id) of the live block with the highest start
        <= address, if it contains address; else None. Scans the slot arrays
        at C speed (no Python loop per slot)."""
        if not _plain_slots(self):
            return self._find_block_slowly(address)
        best = None
        for chunk in self.chunks:
            words = memoryview(chunk.raw).cast("Q")
            start = max(filter(address.__ge__, words[0::2]), default=0)   # free slots are 0
            if start and (best is None or start > best[0]):
                best = (start, chunk)
        if best is None:
            return None
        start, chunk = best
        words = memoryview(chunk.raw).cast("Q")
        index = words[0::2].tolist().index(start)
        meta = words[2 * index + 1]
        size = meta >> self.site_id_bits
        if contains(start, size, address):
            return start, size, meta & ((1 << self.site_id_bits) - 1)
        return None

    def _find_block_slowly(self, address):
        for start, size, site_id, _ in self.iter_blocks():
            if contains(start, size, address):
                return start, size, site_id
        return None


def _births(chunk):
    """The births of a chunk's used slots, in slot order (None each when
    they could not be read)."""
    if chunk.birth_raw is None:
        return itertools.repeat(None, chunk.high)
    return memoryview(chunk.birth_raw).cast("I")


def _plain_slots(table):
    return table.slot_size == 16 and table.slot_addr_offset == 0 and table.slot_meta_offset == 8


def _slot_pairs(table, chunk):
    raw = chunk.raw
    if _plain_slots(table):
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

    def try_read(self, address, size, what):
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

    def try_read_into(self, address, view, what):
        """Fill `view` from `address` (in pieces, like try_read): True, or
        False with a warning."""
        size = len(view)
        for piece_address, piece in spans(address, address + size, layout.READ_CHUNK):
            at = piece_address - address
            try:
                self.target.read_into(piece_address, view[at:at + piece])
            except UnreadableMemory as err:
                if size <= layout.READ_CHUNK:
                    self.warnings.append("cannot read %s: %s" % (what, err))
                else:
                    self.warnings.append("cannot read %s: %d of %d bytes at 0x%x are readable"
                                         % (what, at, size, address))
                return False
        return True

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
            raise LayoutVersionError("trace table layout %d.%d is not supported by this memsnap "
                                     "(it reads %d.x): %s" % (major, minor, layout.KNOWN_MAJOR,
                                                              VERSION_HINT))
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
                      runtime_bytes=values["runtime_bytes"], site_id_bits=values["site_id_bits"],
                      nsites=values["nsites"], untraced=values["untraced"],
                      sample_bytes=values["sample_bytes"], epoch=values["epoch"],
                      epoch_address=root + fields.offset("root", "epoch"),
                      fold_bytes=values["fold_bytes"])
        self._check_root(table)
        peak = _peak_fields(fields, root_raw)
        table.peak_known = peak.known
        table.threads = threads.read_records(self, fields, values["threads"], values["clear_gen"])
        sums, current, skipped_slots = threads.sum_counters(
            self, fields, table.threads, values["counters_per_page"],
            (1 << table.site_id_bits) - 1, peak)
        table.current_bytes = max(current, 0)
        # the peak snapshot's total is a current the process had: with
        # several threads it may be above the folded root.peak_bytes
        at_peak = sum(values[5] for values in sums.values()) if peak.known else 0
        table.peak_bytes = max(table.peak_bytes, table.current_bytes, at_peak)
        table.skipped = len(skipped_slots)
        if not root_only:
            table.mappings = self._read_mappings(fields, values["mappings"])
            table.sites = self._read_sites(fields, table, sums)
            if self.read_slots:
                self._read_chunks(fields, table, skipped_slots)
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
        if table.nsites > (1 << table.site_id_bits) - 1:
            raise CorruptTableError("root.nsites %d exceeds the %d-bit site id space"
                                    % (table.nsites, table.site_id_bits))

    def _read_mappings(self, fields, head):
        header_size = fields.record_size("mapping")
        unpack = fields.compile("mapping", MAPPING_FIELDS)
        mappings = []
        for address, raw in linked.walk(self, head, header_size,
                                        lambda raw: unpack.unpack_from(raw)[0], "mapping header",
                                        layout.MAX_MAPPINGS, "later mappings are missing"):
            _, size, kind, used = unpack.unpack_from(raw)
            if not header_size <= size <= layout.MAX_MAPPING_SIZE:
                raise CorruptTableError("mapping at 0x%x has impossible size %d" % (address, size))
            if kind == layout.MAP_DEPOT and not header_size <= used <= size:
                raise CorruptTableError("depot mapping at 0x%x has used=%d outside [%d, %d]"
                                        % (address, used, header_size, size))
            mappings.append(Mapping(address, size, kind, used))
        return mappings

    def _read_sites(self, fields, table, sums):
        header_size = fields.record_size("mapping")
        site_size = fields.record_size("site")
        pcs_offset = fields.offset("site", "pcs")
        unpack = fields.compile("site", SITE_FIELDS)
        id_max = (1 << table.site_id_bits) - 1
        pcs_structs = {}
        sites = {}
        max_frames = table.max_frames
        warnings = self.warnings
        for mapping in table.mappings:
            if mapping.kind != layout.MAP_DEPOT or mapping.used <= header_size:
                continue
            raw = self.try_read(mapping.address, mapping.used,
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
                site_id, domain, nframes, total_nframes = unpack.unpack_from(raw, offset)
                if nframes > max_frames:
                    raise CorruptTableError("site at 0x%x has %d frames, more than max_frames %d"
                                            % (where, nframes, max_frames))
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
                counts = sums.get(site_id)
                counts = _NO_COUNTS if counts is None else _counts(counts, site_id, warnings)
                total = None if total_nframes == layout.TOTAL_UNKNOWN else max(total_nframes, nframes)
                sites[site_id] = DepotRecord(site_id, domain, pcs, total, *counts)
                offset += record_size
        return sites

    def _read_chunks(self, fields, table, skipped_slots):
        """The used slots of every chunk owned by a current thread record,
        with their births, read into one buffer populated at once (20 MB
        for a million blocks: page by page, the faults cost more than the
        reads)."""
        owners = {record.address: record.current_record for record in table.threads}
        unpack = fields.compile("chunk", CHUNK_FIELDS)
        header_size = fields.record_size("chunk")
        slots_offset = fields.offset("chunk", "slot")
        slot_size = fields.record_size("slot")
        table.slot_size = slot_size
        table.slot_addr_offset = fields.offset("slot", "addr")
        table.slot_meta_offset = fields.offset("slot", "meta")
        wanted = []
        for mapping in table.mappings:
            if mapping.kind != layout.MAP_CHUNK:
                continue
            head = self.try_read(mapping.address, header_size,
                                 "the block chunk header at 0x%x" % mapping.address)
            if head is None:
                self.warnings.append("the blocks of the chunk at 0x%x are missing" % mapping.address)
                continue
            owner, capacity, high, births = unpack.unpack_from(head)
            if owner not in owners:
                self.warnings.append("the chunk at 0x%x belongs to no thread record read "
                                     "(0x%x): its blocks are left out" % (mapping.address, owner))
                continue
            if not owners[owner]:
                continue   # cleared: its owner has not wiped it yet
            _check_chunk(mapping, capacity, high, births, slots_offset, slot_size)
            wanted.append((mapping, capacity, high, births))
        buffer = populated_buffer(sum(high * slot_size + _round8(4 * high)
                                      for _, _, high, _ in wanted))
        at = 0
        for mapping, capacity, high, births in wanted:
            raw = buffer[at:at + high * slot_size]
            at += high * slot_size
            birth_raw = buffer[at:at + 4 * high]
            at += _round8(4 * high)
            if not self.try_read_into(mapping.address + slots_offset, raw,
                                      "the %d slots of the chunk at 0x%x" % (high, mapping.address)):
                self.warnings.append("the blocks of the chunk at 0x%x are missing" % mapping.address)
                continue
            _blank(raw, mapping.address + slots_offset, slot_size, table.slot_addr_offset,
                   skipped_slots)
            if not self.try_read_into(mapping.address + births, birth_raw,
                                      "the %d block births of the chunk at 0x%x"
                                      % (high, mapping.address)):
                birth_raw = None
            table.chunks.append(ChunkSlots(mapping.address, mapping.address + slots_offset,
                                           capacity, high, mapping.address + births, raw,
                                           birth_raw))


def _peak_fields(fields, root_raw):
    """The table's PeakFields: known when the root and the counters have
    the peak fields of layout 2.1 (a 2.0 table has none)."""
    names = ["root.peak_gen"] + ["counter." + name for name in threads.PEAK_FIELDS]
    if not all(fields.has(name) for name in names):
        return threads.PeakFields(False)
    (gen,) = fields.compile("root", ("peak_gen",)).unpack_from(root_raw)
    return threads.PeakFields(True, gen)


def _round8(size):
    return (size + 7) & ~7


def _check_chunk(mapping, capacity, high, births, slots_offset, slot_size):
    where = mapping.address
    if not 0 < capacity <= layout.MAX_CAPACITY or high > capacity:
        raise CorruptTableError("the chunk at 0x%x has impossible capacity %d (high %d)"
                                % (where, capacity, high))
    if slots_offset + capacity * slot_size > mapping.size or \
            not slots_offset <= births <= mapping.size - 4 * capacity:
        raise CorruptTableError("the %d slots of the chunk at 0x%x do not fit its %d bytes"
                                % (capacity, where, mapping.size))


def _blank(raw, first_slot, slot_size, addr_offset, skipped_slots):
    """Sets to 0 (free), in the writable buffer raw, the addr of every slot
    in skipped_slots."""
    end = first_slot + len(raw)
    for slot in skipped_slots:
        if first_slot <= slot < end and (slot - first_slot) % slot_size == 0:
            at = slot - first_slot + addr_offset
            raw[at:at + 8] = bytes(8)


_NO_COUNTS = (0, 0, 0, 0)


def _counts(values, site_id, warnings):
    """A site's (live_count, live_bytes, total_count, total_bytes,
    peak_count, peak_bytes) from its sums (None: no thread counted it); a
    negative sum is impossible in a consistent table: said, and shown as 0."""
    if values is None:
        return (0, 0, 0, 0, 0, 0)
    if min(values) < 0:
        warnings.append("site %d's counters sum to a negative value (%s): shown as 0"
                        % (site_id, ", ".join(map(str, values))))
        return tuple(max(v, 0) for v in values)
    return tuple(values)


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
