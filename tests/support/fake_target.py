"""A fake target for the core's unit tests: a trace table built in bytes.

TableBuilder writes a trace table exactly as include/memsnap/layout.h lays
it out (root with its field table, mapping list, depot records, shards and
slot arrays) into a sparse memory of segments, using struct.pack and the
field table LAYOUT below (checked against the C header by
tests/unit/python/test_layout_contract.py). FakeBackend, the tests' one
fake debugger, serves that memory (or any other), a symbol table, a PC ->
Location map (or a function giving Locations), regions, threads and the
debugger's events through memsnap's Backend protocol, and counts the calls
the core makes.
"""

import struct
from array import array as int_array

from memsnap.target.backend import Backend, Generation, Location
from memsnap.errors import BadAddressError, UnreadableMemory

MAGIC = 0x0050414E534D454D
RUNTIME_FUNCTIONS = ("memsnap_start", "memsnap_stop", "memsnap_clear_traces", "memsnap_reset_peak")

# record -> (sizeof, {field: (offset, size)}), mirroring layout.h.
LAYOUT = {
    "root": (144, {
        "magic": (0, 8), "major": (8, 2), "minor": (10, 2), "root_size": (12, 4),
        "fields": (16, 8), "fields_count": (24, 4), "field_size": (28, 4),
        "state": (32, 4), "traceback_limit": (36, 4), "max_frames": (40, 4),
        "unwinder": (44, 4), "current_bytes": (48, 8), "peak_bytes": (56, 8),
        "runtime_bytes": (64, 8), "mappings": (72, 8), "shards": (80, 8),
        "nshards": (88, 4), "site_id_bits": (92, 4), "nsites": (96, 8),
        "untraced": (104, 8)}),
    "shard": (64, {
        "lock": (0, 4), "pending_op": (4, 4), "pending_addr": (8, 8), "slots": (16, 8),
        "count": (24, 8), "tombstones": (32, 8)}),
    "slots": (48, {"capacity": (32, 8), "slot": (48, 16)}),
    "slot": (16, {"addr": (0, 8), "meta": (8, 8)}),
    "site": (64, {
        "live_count": (0, 8), "live_bytes": (8, 8), "total_count": (16, 8),
        "total_bytes": (24, 8), "next": (32, 8), "hash": (40, 8), "id": (48, 4),
        "domain": (52, 4), "nframes": (56, 2), "total_nframes": (60, 4), "pcs": (64, 8)}),
    "mapping": (32, {"next": (0, 8), "size": (8, 8), "kind": (16, 4), "used": (24, 8)}),
    "field": (48, {"name": (0, 40), "offset": (40, 4), "size": (44, 4)}),
}
CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


def put(buf, record, name, value, base=0):
    offset, size = LAYOUT[record][1][name]
    struct.pack_into("<" + CODES[size], buf, base + offset, value)


def field_table_entries():
    entries = []
    for record, (size, fields) in LAYOUT.items():
        entries.append((record, 0, size))
        for name, (offset, fsize) in fields.items():
            entries.append(("%s.%s" % (record, name), offset, fsize))
    return entries


def round_up(value, alignment):
    return (value + alignment - 1) // alignment * alignment


def module_base(address):
    """Load base of the fake module holding address: libraries at 0x7f..., the program at 0x400000."""
    return 0x7f0000000000 if address >= 0x7f0000000000 else 0x400000


class FakeBackend(Backend):
    name = "fake"

    def __init__(self, segments=None, symbols=None, locations=None, live=True, pid=4242,
                 regions=(), threads=(), locate=None):
        self.segments = dict(segments or {})        # start -> bytes (or bytearray)
        self.symbols = dict(symbols or {})
        self.locations = dict(locations or {})      # address -> [Location]
        self.locate = locate                        # address -> [Location], for the others
        self.live = live
        self._pid = pid
        self.target = True
        self.calls = {"read_memory": 0, "symbolize": 0, "lookup_symbol": 0, "call_function": 0}
        self.called = []
        self.call_results = {}
        self.sources = {}
        self.region_list = list(regions)            # what regions() answers
        self.thread_list = list(threads)            # what threads() answers
        self.core_path = None                       # what core_file() answers
        self.local = None                           # what local_pid() answers
        self.events = Generation(pid)               # what generation() answers

    def has_target(self):
        return self.target

    def is_live(self):
        return self.live

    def pid(self):
        return self._pid

    def local_pid(self):
        return self.local

    def generation(self):
        return self.events

    def read_memory(self, address, size):
        self.calls["read_memory"] += 1
        for start, data in self.segments.items():
            if start <= address and address + size <= start + len(data):
                return bytes(data[address - start:address - start + size])
        raise UnreadableMemory(address, size)

    def lookup_symbol(self, name):
        self.calls["lookup_symbol"] += 1
        return self.symbols.get(name)

    def evaluate_address(self, expression):
        """A symbol's address, as a debugger evaluates `&symbol`; else its error."""
        if expression in self.symbols:
            return self.symbols[expression]
        raise BadAddressError('No symbol "%s" in current context.' % expression)

    def symbolize(self, address):
        self.calls["symbolize"] += 1
        found = self.locations.get(address)
        if found:
            return list(found)
        if self.locate is not None:
            return self.locate(address)
        return [Location(None, None, 0, None, 0, address)]

    def source_line(self, filename, lineno):
        return self.sources.get((filename, lineno))

    def threads(self):
        return list(self.thread_list)

    def regions(self):
        return list(self.region_list)

    def core_file(self):
        return self.core_path

    def call_function(self, name, *args):
        self.calls["call_function"] += 1
        self.called.append((name,) + args)
        return self.call_results.get(name, 0)


class TableBuilder:
    """Builds the bytes of a trace table; build() returns a FakeBackend."""

    ROOT = 0x10000
    FIELDS = 0x20000
    SHARDS = 0x30000
    DEPOT = 0x100000
    SLOTS_BASE = 0x4000000

    def __init__(self, nshards=4, traceback_limit=16, max_frames=256, state=0x3,
                 major=1, minor=0, site_id_bits=24, depot_capacity=1 << 20):
        self.nshards = nshards
        self.traceback_limit = traceback_limit
        self.max_frames = max_frames
        self.state = state
        self.major = major
        self.minor = minor
        self.site_id_bits = site_id_bits
        self.sites = []              # (id, domain, pcs, total_nframes, live_count, live_bytes)
        self.blocks = []             # (addr, size, site_id)
        self.current = None
        self.peak = None
        self.runtime_bytes = 123456
        self.untraced = 0
        self.depot_capacity = depot_capacity
        self.locks = {}              # shard index -> (lock, op, addr)
        self.capacity = None
        self.symbols = {}
        self.locations = {}
        self.sequential_slots = False

    def add_site(self, pcs, domain=0, total_nframes=None, live=None):
        site_id = len(self.sites) + 1
        self.sites.append([site_id, domain, tuple(pcs),
                           total_nframes if total_nframes is not None else len(pcs), live])
        return site_id

    def add_block(self, addr, size, site_id):
        self.blocks.append((addr, size, site_id))

    def add_location(self, pc, *levels):
        """levels: (function, filename, lineno, module) innermost first; looked up at pc-1."""
        self.locations[pc - 1] = [Location(f, fn, ln, mod, (pc - 1) - module_base(pc), pc - 1)
                                  for f, fn, ln, mod in levels]

    def shard_of(self, addr):
        return (addr >> 4) & (self.nshards - 1)

    def build(self):
        segments = {}
        # field table
        entries = field_table_entries()
        fields = bytearray(48 * len(entries))
        for i, (name, offset, size) in enumerate(entries):
            struct.pack_into("<40sII", fields, i * 48, name.encode(), offset, size)
        segments[self.FIELDS] = fields
        # per-site live counters from blocks
        live = {}
        for addr, size, site_id in self.blocks:
            count, total = live.get(site_id, (0, 0))
            live[site_id] = (count + 1, total + size)
        # depot: one mapping
        depot = bytearray(self.depot_capacity)
        offset = 32
        for site_id, domain, pcs, total_nframes, forced in self.sites:
            count, nbytes = forced if forced is not None else live.get(site_id, (0, 0))
            rec = round_up(64 + 8 * len(pcs), 16)
            base = offset
            put(depot, "site", "live_count", count, base)
            put(depot, "site", "live_bytes", nbytes, base)
            put(depot, "site", "total_count", count, base)
            put(depot, "site", "total_bytes", nbytes, base)
            put(depot, "site", "id", site_id, base)
            put(depot, "site", "domain", domain, base)
            put(depot, "site", "nframes", len(pcs), base)
            put(depot, "site", "total_nframes", total_nframes, base)
            struct.pack_into("<%dQ" % len(pcs), depot, base + 64, *pcs)
            offset += rec
        put(depot, "mapping", "size", len(depot))
        put(depot, "mapping", "kind", 1)
        put(depot, "mapping", "used", offset)
        segments[self.DEPOT] = depot
        # shards and slot arrays
        per_shard = [[] for _ in range(self.nshards)]
        for block in self.blocks:
            per_shard[self.shard_of(block[0])].append(block)
        shards = bytearray(64 * self.nshards)
        mapping_addrs = [self.DEPOT]
        slot_addr = self.SLOTS_BASE
        for index, blocks in enumerate(per_shard):
            capacity = self.capacity or max(16, 1 << (2 * len(blocks) + 1).bit_length())
            nblocks = len(blocks)
            array = bytearray(48 + 16 * capacity)
            put(array, "mapping", "size", len(array))
            put(array, "mapping", "kind", 2)
            put(array, "mapping", "used", len(array))
            put(array, "slots", "capacity", capacity)
            mask = capacity - 1
            if self.sequential_slots:
                # benchmarks: fill slots in order (readers do not care where)
                words = int_array("Q", bytes(16 * capacity))
                words[0:2 * len(blocks):2] = int_array("Q", [b[0] for b in blocks])
                words[1:2 * len(blocks):2] = int_array("Q", [(b[1] << self.site_id_bits) | b[2]
                                                          for b in blocks])
                array_bytes = words.tobytes()
                array[48:] = array_bytes
                blocks = ()
            for addr, size, site_id in blocks:
                slot = (addr >> 4) * 0x9E3779B97F4A7C15 & mask
                while struct.unpack_from("<Q", array, 48 + 16 * slot)[0]:
                    slot = (slot + 1) & mask
                struct.pack_into("<QQ", array, 48 + 16 * slot, addr,
                                 (size << self.site_id_bits) | site_id)
            segments[slot_addr] = array
            mapping_addrs.append(slot_addr)
            lock, op, pending = self.locks.get(index, (0, 0, 0))
            base = 64 * index
            put(shards, "shard", "lock", lock, base)
            put(shards, "shard", "pending_op", op, base)
            put(shards, "shard", "pending_addr", pending, base)
            put(shards, "shard", "slots", slot_addr, base)
            put(shards, "shard", "count", nblocks, base)
            slot_addr += round_up(len(array), 4096) + 4096
        segments[self.SHARDS] = shards
        # link the mapping list
        for here, there in zip(mapping_addrs, mapping_addrs[1:] + [0]):
            put(segments[here], "mapping", "next", there)
        # root
        root = bytearray(144)
        total = sum(size for _, size, _ in self.blocks)
        put(root, "root", "magic", MAGIC)
        put(root, "root", "major", self.major)
        put(root, "root", "minor", self.minor)
        put(root, "root", "root_size", 144)
        put(root, "root", "fields", self.FIELDS)
        put(root, "root", "fields_count", len(entries))
        put(root, "root", "field_size", 48)
        put(root, "root", "state", self.state)
        put(root, "root", "traceback_limit", self.traceback_limit)
        put(root, "root", "max_frames", self.max_frames)
        put(root, "root", "unwinder", 2)
        put(root, "root", "current_bytes", self.current if self.current is not None else total)
        put(root, "root", "peak_bytes", self.peak if self.peak is not None else total)
        put(root, "root", "runtime_bytes", self.runtime_bytes)
        put(root, "root", "mappings", self.DEPOT)
        put(root, "root", "shards", self.SHARDS)
        put(root, "root", "nshards", self.nshards)
        put(root, "root", "site_id_bits", self.site_id_bits)
        put(root, "root", "nsites", len(self.sites))
        put(root, "root", "untraced", self.untraced)
        segments[self.ROOT] = root
        symbols = dict(self.symbols)
        symbols["memsnap_root"] = self.ROOT
        for i, function in enumerate(RUNTIME_FUNCTIONS):   # the runtime's C API, loaded with it
            symbols.setdefault(function, 0x7f9000001000 + 0x100 * i)
        return FakeBackend(segments, symbols, self.locations)
