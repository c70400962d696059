"""A fake target for the core's unit tests: a trace table built in bytes.

TableBuilder writes a trace table exactly as include/memsnap/layout.h lays
it out (layout 2.1: root with its field table, mapping list, depot sites,
thread records with their counter pages and peak pairs, block chunks; or
2.0's, without the peak fields) into a sparse
memory of segments, using struct.pack and the
field table LAYOUT below (checked against the C header by
tests/unit/python/test_layout_contract.py). FakeBackend, the tests' one
fake debugger, serves that memory (or any other), a symbol table, a PC ->
Location map (or a function giving Locations), regions, threads and the
debugger's events through memsnap's Backend protocol, and counts the calls
the core makes.
"""

import struct

from memsnap.target.backend import Backend, Generation, Location
from memsnap.errors import UnwritableMemory, BadAddressError, UnreadableMemory

MAGIC = 0x0050414E534D454D
RUNTIME_FUNCTIONS = ("memsnap_start", "memsnap_stop", "memsnap_clear_traces", "memsnap_reset_peak")

# record -> (sizeof, {field: (offset, size)}), mirroring layout.h.
LAYOUT = {
    "root": (160, {
        "magic": (0, 8), "major": (8, 2), "minor": (10, 2), "root_size": (12, 4),
        "fields": (16, 8), "fields_count": (24, 4), "field_size": (28, 4),
        "state": (32, 4), "traceback_limit": (36, 4), "max_frames": (40, 4),
        "unwinder": (44, 4), "current_bytes": (48, 8), "peak_bytes": (56, 8),
        "runtime_bytes": (64, 8), "mappings": (72, 8), "threads": (80, 8),
        "nsites": (88, 8), "untraced": (96, 8), "sample_bytes": (104, 8),
        "site_id_bits": (112, 4), "counters_per_page": (116, 4), "clear_gen": (120, 4),
        "epoch": (124, 4), "fold_bytes": (128, 4), "peak_gen": (136, 8)}),
    "thread": (192, {
        "next": (0, 8), "tid": (8, 4), "status": (12, 4), "clear_gen": (16, 4),
        "counters": (24, 8), "pend_op": (64, 4), "pend_slot": (72, 8), "pend_addr": (80, 8),
        "pend_meta": (88, 8), "pend_count": (96, 8), "pend_bytes": (104, 8),
        "current": (112, 8), "pend_current": (120, 8), "pend_live": (128, 8),
        "pend_total": (136, 8)}),
    "counters": (16, {"npages": (0, 8), "page": (16, 8)}),
    "counter": (64, {"live_count": (0, 8), "live_bytes": (8, 8), "total_count": (16, 8),
                     "total_bytes": (24, 8), "peak_count": (32, 8), "peak_bytes": (40, 8),
                     "peak_gen": (48, 8)}),
    "chunk": (128, {"owner": (32, 8), "capacity": (40, 4), "high": (44, 4), "births": (48, 8),
                    "slot": (128, 16)}),
    "slot": (16, {"addr": (0, 8), "meta": (8, 8)}),
    "site": (32, {
        "next": (0, 8), "hash": (8, 8), "id": (16, 4), "domain": (20, 4), "nframes": (24, 2),
        "total_nframes": (28, 4), "pcs": (32, 8)}),
    "mapping": (32, {"next": (0, 8), "size": (8, 8), "kind": (16, 4), "used": (24, 8)}),
    "field": (48, {"name": (0, 40), "offset": (40, 4), "size": (44, 4)}),
}
OP_ALLOC, OP_FREE = 1, 2
PER_PAGE = 128
CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


def put(buf, record, name, value, base=0):
    offset, size = LAYOUT[record][1][name]
    struct.pack_into("<" + CODES[size], buf, base + offset, value)


# What layout 2.1 added: a 2.0 table (peak_fields=False) has none of them,
# and 32-byte counters.
PEAK_FIELDS = {"root.peak_gen", "counter.peak_count", "counter.peak_bytes", "counter.peak_gen"}


def field_table_entries(peak_fields=True):
    entries = []
    for record, (size, fields) in LAYOUT.items():
        entries.append((record, 0, size if peak_fields or record != "counter" else 32))
        for name, (offset, fsize) in fields.items():
            full = "%s.%s" % (record, name)
            if peak_fields or full not in PEAK_FIELDS:
                entries.append((full, offset, fsize))
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

    def write_memory(self, address, data):
        """Into a bytearray segment of a live fake; else UnwritableMemory."""
        for start, segment in self.segments.items():
            if self.live and isinstance(segment, bytearray) and start <= address and \
                    address + len(data) <= start + len(segment):
                segment[address - start:address - start + len(data)] = data
                return
        raise UnwritableMemory(address, len(data))

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
    """Builds the bytes of a trace table; build() returns a FakeBackend.

    Blocks go to `nthreads` thread records by a hash of their address, each record with one chunk holding its blocks in order and
    its own counters of them. pend() puts one block's operation in flight
    in its record, at the stage given (docs/layout.md, section 6).
    set_peak() gives a site's peak pair in thread 0's counter, stamped
    with root.peak_gen (valid); every other counter's peak is its live
    pair."""

    ROOT = 0x10000
    FIELDS = 0x20000
    THREADS = 0x30000
    COUNTERS = 0x3000000
    DEPOT = 0x100000
    CHUNKS_BASE = 0x4000000

    def __init__(self, nthreads=4, traceback_limit=16, max_frames=256, state=0x3,
                 major=2, minor=1, site_id_bits=24, depot_capacity=1 << 20, peak_fields=True):
        self.nthreads = nthreads
        self.traceback_limit = traceback_limit
        self.max_frames = max_frames
        self.state = state
        self.major = major
        self.minor = minor
        self.site_id_bits = site_id_bits
        self.sites = []              # (id, domain, pcs, total_nframes, live)
        self.blocks = []             # (addr, size, site_id)
        self.peak = None
        self.runtime_bytes = 123456
        self.untraced = 0
        self.clear_gen = 0
        self.stale_threads = ()      # thread indexes whose clear_gen is behind the root's
        self.depot_capacity = depot_capacity
        self.peak_fields = peak_fields
        self.counter_size = 64 if peak_fields else 32
        self.peak_gen = 5
        self.peak_pairs = {}         # site id -> (count, bytes) at the peak, in thread 0
        self.pending = {}            # thread index -> (addr, op, done)
        self.capacity = None
        self.symbols = {}
        self.locations = {}

    def add_site(self, pcs, domain=0, total_nframes=None, live=None):
        site_id = len(self.sites) + 1
        self.sites.append([site_id, domain, tuple(pcs),
                           total_nframes if total_nframes is not None else len(pcs), live])
        return site_id

    def set_peak(self, site_id, count, size):
        """Thread 0's counter of site_id holds (count, size) at the peak."""
        self.peak_pairs[site_id] = (count, size)

    def add_block(self, addr, size, site_id):
        self.blocks.append((addr, size, site_id))

    def add_location(self, pc, *levels):
        """levels: (function, filename, lineno, module) innermost first; looked up at pc-1."""
        self.locations[pc - 1] = [Location(f, fn, ln, mod, (pc - 1) - module_base(pc), pc - 1)
                                  for f, fn, ln, mod in levels]

    def thread_of(self, addr):
        return ((addr >> 4) * 0x9E3779B97F4A7C15 >> 40) % self.nthreads

    def pend(self, addr, op, done):
        """The block at addr (added with add_block) is being allocated
        (OP_ALLOC) or freed (OP_FREE) by its thread: `done` False = only
        announced (an ALLOC's slot written), True = everything but the end
        (a FREE's slot cleared, the counters changed)."""
        self.pending[self.thread_of(addr)] = (addr, op, done)

    # -- building --
    def _field_table(self):
        entries = field_table_entries(self.peak_fields)
        fields = bytearray(48 * len(entries))
        for i, (name, offset, size) in enumerate(entries):
            struct.pack_into("<40sII", fields, i * 48, name.encode(), offset, size)
        return fields, len(entries)

    def _depot(self):
        depot = bytearray(self.depot_capacity)
        offset = 32
        for site_id, domain, pcs, total_nframes, _ in self.sites:
            put(depot, "site", "id", site_id, offset)
            put(depot, "site", "domain", domain, offset)
            put(depot, "site", "nframes", len(pcs), offset)
            put(depot, "site", "total_nframes", total_nframes, offset)
            struct.pack_into("<%dQ" % len(pcs), depot, offset + 32, *pcs)
            offset += round_up(32 + 8 * len(pcs), 16)
        put(depot, "mapping", "size", len(depot))
        put(depot, "mapping", "kind", 1)
        put(depot, "mapping", "used", offset)
        return depot

    def _counters(self, blocks, forced):
        """site id -> [live_count, live_bytes, total_count, total_bytes]."""
        counts = {}
        for _, size, site_id in blocks:
            c = counts.setdefault(site_id, [0, 0, 0, 0])
            c[0] += 1
            c[1] += size
            c[2] += 1
            c[3] += size
        for site_id, live in forced.items():
            counts[site_id] = [live[0], live[1], live[0], live[1]]
        return counts

    def _counter_pages(self, at, counts, peaks):
        """The bytes of a counter directory at `at` followed by its pages;
        `peaks`: site id -> its peak pair, stamped with root.peak_gen."""
        size = self.counter_size
        npages = max(list(counts) + list(peaks), default=0) // PER_PAGE + 1
        data = bytearray(16 + 8 * npages + size * PER_PAGE * npages)
        put(data, "counters", "npages", npages)
        for page in range(npages):
            struct.pack_into("<Q", data, 16 + 8 * page, at + 16 + 8 * npages + size * PER_PAGE * page)
        for site_id in set(counts) | set(peaks):
            values = counts.get(site_id, [0, 0, 0, 0])
            if site_id in peaks and self.peak_fields:
                values = values + list(peaks[site_id]) + [self.peak_gen]
            struct.pack_into("<%dQ" % len(values), data, 16 + 8 * npages + size * site_id,
                             *[v % (1 << 64) for v in values])
        return data

    def _chunk(self, at, owner, blocks, pending):
        capacity = self.capacity or max(16, 1 << len(blocks).bit_length())
        births = 128 + 16 * capacity
        chunk = bytearray(round_up(births + 4 * capacity, 4096))
        put(chunk, "mapping", "size", len(chunk))
        put(chunk, "mapping", "kind", 2)
        put(chunk, "mapping", "used", len(chunk))
        put(chunk, "chunk", "owner", owner)
        put(chunk, "chunk", "capacity", capacity)
        put(chunk, "chunk", "high", len(blocks))
        put(chunk, "chunk", "births", births)
        slot_of = {}
        for i, (addr, size, site_id) in enumerate(blocks):
            slot_of[addr] = at + 128 + 16 * i
            cleared = pending and pending[0] == addr and pending[1] == OP_FREE and pending[2]
            struct.pack_into("<QQ", chunk, 128 + 16 * i, 0 if cleared else addr,
                             (size << self.site_id_bits) | site_id)
        return chunk, slot_of

    def _thread(self, index, blocks, forced, at_chunk, at_counters):
        """(record bytes, chunk bytes, counters bytes) of one thread."""
        pending = self.pending.get(index)
        counted = list(blocks)
        if pending:
            block = next(b for b in blocks if b[0] == pending[0])
            # the counters hold the block unless an ALLOC not done or a FREE done
            if (pending[1] == OP_ALLOC) != pending[2]:
                counted.remove(block)
        counts = self._counters(counted, forced)
        if pending and pending[1] == OP_FREE and pending[2]:
            total = counts.setdefault(block[2], [0, 0, 0, 0])
            total[2] += 1      # a freed block still counts in the totals
            total[3] += block[1]
        chunk, slot_of = self._chunk(at_chunk, self.THREADS + 64 + 192 * index, blocks, pending)
        record = bytearray(192)
        put(record, "thread", "tid", 1000 + index)
        put(record, "thread", "status", 1)
        stale = index in self.stale_threads
        put(record, "thread", "clear_gen", (self.clear_gen - 1 if stale else self.clear_gen) % (1 << 32))
        put(record, "thread", "counters", at_counters)
        current = sum(size for _, size, _ in counted)
        put(record, "thread", "current", current)
        if pending:
            addr, op, done = pending
            _, size, site_id = block
            live = counts.get(site_id, [0, 0, 0, 0])
            sign = 1 if op == OP_ALLOC else -1
            moved = 1 if done else 0
            put(record, "thread", "pend_op", op)
            put(record, "thread", "pend_slot", slot_of[addr])
            put(record, "thread", "pend_addr", addr)
            put(record, "thread", "pend_meta", (size << self.site_id_bits) | site_id)
            put(record, "thread", "pend_count", 1)
            put(record, "thread", "pend_bytes", size)
            put(record, "thread", "pend_current", (current - sign * moved * size) % (1 << 64))
            put(record, "thread", "pend_live", (live[0] - sign * moved) % (1 << 64))
            put(record, "thread", "pend_total",
                (live[2] - (moved if op == OP_ALLOC else 0)) % (1 << 64))
        peaks = self.peak_pairs if index == 0 else {}
        return record, chunk, self._counter_pages(at_counters, counts, peaks), current

    def build(self):
        segments = {}
        fields, nfields = self._field_table()
        segments[self.FIELDS] = fields
        segments[self.DEPOT] = depot = self._depot()
        forced = {site_id: live for site_id, _, _, _, live in self.sites if live is not None}
        threads = bytearray(64 + 192 * self.nthreads)
        put(threads, "mapping", "size", len(threads))
        put(threads, "mapping", "kind", 3)
        mapping_addrs = [self.DEPOT, self.THREADS]
        at_chunk, at_counters, total = self.CHUNKS_BASE, self.COUNTERS, 0
        for index in range(self.nthreads):
            mine = [b for b in self.blocks if self.thread_of(b[0]) == index]
            record, chunk, counters, current = self._thread(
                index, mine, forced if index == 0 else {}, at_chunk, at_counters)
            base = 64 + 192 * index
            threads[base:base + 192] = record
            put(threads, "thread", "next", self.THREADS + base + 192 if index + 1 < self.nthreads
                else 0, base)
            segments[at_chunk] = chunk
            segments[at_counters] = counters
            mapping_addrs.append(at_chunk)
            at_chunk += len(chunk) + 4096
            at_counters += round_up(len(counters), 4096) + 4096
            total += current if index not in self.stale_threads else 0
        segments[self.THREADS] = threads
        for here, there in zip(mapping_addrs, mapping_addrs[1:] + [0]):
            put(segments[here], "mapping", "next", there)
        root = bytearray(160)
        put(root, "root", "magic", MAGIC)
        put(root, "root", "major", self.major)
        put(root, "root", "minor", self.minor)
        put(root, "root", "root_size", 160)
        put(root, "root", "fields", self.FIELDS)
        put(root, "root", "fields_count", nfields)
        put(root, "root", "field_size", 48)
        put(root, "root", "state", self.state)
        put(root, "root", "traceback_limit", self.traceback_limit)
        put(root, "root", "max_frames", self.max_frames)
        put(root, "root", "unwinder", 2)
        put(root, "root", "current_bytes", total)
        put(root, "root", "peak_bytes", self.peak if self.peak is not None else total)
        put(root, "root", "runtime_bytes", self.runtime_bytes)
        put(root, "root", "mappings", self.DEPOT)
        put(root, "root", "threads", self.THREADS + 64 if self.nthreads else 0)
        put(root, "root", "nsites", len(self.sites))
        put(root, "root", "untraced", self.untraced)
        put(root, "root", "site_id_bits", self.site_id_bits)
        put(root, "root", "counters_per_page", PER_PAGE)
        put(root, "root", "clear_gen", self.clear_gen)
        put(root, "root", "fold_bytes", 65536)
        if self.peak_fields:
            put(root, "root", "peak_gen", self.peak_gen)
        segments[self.ROOT] = root
        symbols = dict(self.symbols)
        symbols["memsnap_root"] = self.ROOT
        for i, function in enumerate(RUNTIME_FUNCTIONS):   # the runtime's C API, loaded with it
            symbols.setdefault(function, 0x7f9000001000 + 0x100 * i)
        return FakeBackend(segments, symbols, self.locations)
