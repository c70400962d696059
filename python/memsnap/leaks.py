"""Leak check of a stopped process or a core dump: memcheck's verdicts per block.

find_leaks(backend) reads the live heap blocks from the trace table, scans
the roots (every thread's registers and live stack, the writable segments
of loaded modules — .data and .bss —, and other anonymous memory that is
not heap: main-thread TLS, the program's own mmaps) and then the blocks'
contents, conservatively: any aligned 8-byte word whose value is the start
or the interior of a live block is a pointer to it. The marking itself
runs in C (libmemsnap_scan.so, loaded with ctypes) and follows valgrind
memcheck's rules, so each block ends up definitely lost (nothing points to
it), indirectly lost (only lost blocks point to it), possibly lost (reached
only through an interior pointer somewhere on the way) or still reachable.
Never roots: the runtime's own mappings (root.mappings), libmemsnap.so's
segments, the heap regions themselves (only live blocks' contents count),
stack below the red zone under a thread's stack pointer. Memory that
should be scanned but cannot be read (a region missing from a core) is
listed in the report, never taken as empty. who_points_at() answers
`memwhere --who`: every root word and block word pointing into one block.
"""

import bisect
import contextlib
import ctypes
import glob
import os
import struct
import time
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional

from . import elf, layout
from .errors import BadAddressError, MemsnapError, UnreadableMemory, UsageError
from .format import format_size
from .keyframe import is_runtime_module, pick_key_frame
from .reader import read_table
from .snapshot import Site as SnapshotSite
from .snapshot import Snapshot
from .symbolize import PcSymbolizer

# Categories, in valgrind's order of gravity, with the C library's codes.
DEFINITE = "definitely lost"
INDIRECT = "indirectly lost"
POSSIBLE = "possibly lost"
REACHABLE = "still reachable"
CATEGORIES = (DEFINITE, INDIRECT, POSSIBLE, REACHABLE)
_CODE = {REACHABLE: 1, POSSIBLE: 2, INDIRECT: 3, DEFINITE: 4}
_UNSCANNED = 0x80
_COLUMNS = 8
_COL_UNSCANNED = 5
_COL_CLIQUE = 6

SCAN_ABI = 4
GLIBC_CHUNK_HEADERS = 1
# memcheck's leak heuristics (see docs/leaks.md), as the C library's options.
HEURISTICS = {"stdstring": 2, "length64": 4, "newarray": 8}
DEFAULT_HEURISTICS = ("stdstring", "length64", "newarray")
SCAN_LIB_NAME = "libmemsnap_scan.so"
SCAN_LIB_ENV = "MEMSNAP_SCAN_LIB"

# Bytes below a thread's stack pointer that still count (x86-64 red zone).
RED_ZONE = 128
# Largest single read from the debugger, and the smallest piece a failed
# read is split into before the piece is declared missing.
READ_CHUNK = 64 << 20
MIN_PIECE = 64 << 10
# glibc's non-main arenas are mmapped at this alignment (HEAP_MAX_SIZE).
ARENA_ALIGN = 64 << 20


# ---- the C library ----

class _Block(ctypes.Structure):
    _fields_ = [("addr", ctypes.c_uint64), ("size", ctypes.c_uint64),
                ("site", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


class _Stats(ctypes.Structure):
    _fields_ = [("root_bytes", ctypes.c_uint64), ("block_bytes", ctypes.c_uint64),
                ("root_hits", ctypes.c_uint64), ("edges", ctypes.c_uint64)]


_lib = None


def _library_candidates():
    env = os.environ.get(SCAN_LIB_ENV)
    if env:
        yield env
        return
    package = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(package, SCAN_LIB_NAME)
    # The build tree of a source checkout: <root>/python/memsnap -> <root>/*/scan/.
    root = os.path.dirname(os.path.dirname(package))
    built = glob.glob(os.path.join(root, "*", "scan", SCAN_LIB_NAME))
    built.sort(key=lambda p: os.path.getmtime(p), reverse=True)
    yield from built
    # An installed copy: some lib directory above the installed package.
    up = package
    for _ in range(5):
        up = os.path.dirname(up)
        for pattern in ("lib", "lib64", "lib/*"):
            yield from glob.glob(os.path.join(up, pattern, SCAN_LIB_NAME))
    yield SCAN_LIB_NAME  # the dynamic loader's search path


def scan_library():
    """The loaded libmemsnap_scan.so (ctypes), or raise MemsnapError."""
    global _lib
    if _lib is not None:
        return _lib
    tried = []
    for path in _library_candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            tried.append(path)
            continue
        _declare(lib)
        if lib.memsnap_scan_abi() != SCAN_ABI:
            raise MemsnapError("%s has scan ABI %d, this memsnap needs %d: rebuild memsnap"
                               % (path, lib.memsnap_scan_abi(), SCAN_ABI))
        _lib = lib
        return lib
    raise MemsnapError("the leak scanner %s is not found (set %s to its path)"
                       % (SCAN_LIB_NAME, SCAN_LIB_ENV))


def _declare(lib):
    u64, u32, vp = ctypes.c_uint64, ctypes.c_uint32, ctypes.c_void_p
    p_block = ctypes.POINTER(_Block)
    p_u64 = ctypes.POINTER(ctypes.c_uint64)
    p_u8 = ctypes.POINTER(ctypes.c_uint8)
    lib.memsnap_scan_abi.restype = ctypes.c_int
    lib.memsnap_scan_abi.argtypes = []
    lib.memsnap_scan_gather_slots.restype = u64
    lib.memsnap_scan_gather_slots.argtypes = [ctypes.c_char_p, u64, u32, u32, u32, u32, u64,
                                              p_u8, u64, p_block, u64]
    lib.memsnap_scan_sort_blocks.restype = ctypes.c_int
    lib.memsnap_scan_sort_blocks.argtypes = [p_block, u64]
    lib.memsnap_scan_new.restype = ctypes.c_int
    lib.memsnap_scan_new.argtypes = [p_block, u64, ctypes.POINTER(vp), p_u64]
    lib.memsnap_scan_set_options.restype = ctypes.c_int
    lib.memsnap_scan_set_options.argtypes = [vp, ctypes.c_uint]
    lib.memsnap_scan_free.restype = None
    lib.memsnap_scan_free.argtypes = [vp]
    lib.memsnap_scan_roots.restype = ctypes.c_int
    lib.memsnap_scan_roots.argtypes = [vp, u64, ctypes.c_char_p, u64]
    lib.memsnap_scan_root_value.restype = ctypes.c_int
    lib.memsnap_scan_root_value.argtypes = [vp, u64]
    lib.memsnap_scan_blocks.restype = ctypes.c_int
    lib.memsnap_scan_blocks.argtypes = [vp, u64, ctypes.c_char_p, u64]
    lib.memsnap_scan_mark.restype = ctypes.c_int
    lib.memsnap_scan_mark.argtypes = [vp, p_u8, p_u64]
    lib.memsnap_scan_summarize.restype = ctypes.c_int
    lib.memsnap_scan_summarize.argtypes = [p_block, u64, p_u8, p_u64, u64, p_u64, p_u64]
    lib.memsnap_scan_get_stats.restype = None
    lib.memsnap_scan_get_stats.argtypes = [vp, ctypes.POINTER(_Stats)]
    lib.memsnap_scan_find_block.restype = ctypes.c_int64
    lib.memsnap_scan_find_block.argtypes = [vp, u64]
    lib.memsnap_scan_find_refs.restype = u64
    lib.memsnap_scan_find_refs.argtypes = [u64, u64, u64, ctypes.c_char_p, u64, p_u64, u64]


def _bytes_arg(data):
    """bytes for a ctypes c_char_p argument without copying when possible."""
    return data if isinstance(data, bytes) else bytes(data)


# ---- live blocks ----

class LiveBlocks:
    """The heap domain's live blocks, sorted by address, in a C array."""

    def __init__(self, table):
        lib = scan_library()
        self.table = table
        self.sites = {sid: s for sid, s in table.sites.items() if s.domain == layout.DOMAIN_HEAP}
        self.nsites = max([table.nsites] + list(table.sites))
        site_ok = (ctypes.c_uint8 * (self.nsites + 1))()
        for sid in self.sites:
            site_ok[sid] = 1
        cap = sum(shard.count for shard in table.shards) + 64
        while True:
            array = (_Block * max(cap, 1))()
            n = 0
            for shard in table.shards:
                nslots = len(shard.raw) // table.slot_size
                got = lib.memsnap_scan_gather_slots(
                    shard.raw, nslots, table.slot_size, table.slot_addr_offset,
                    table.slot_meta_offset, table.site_id_bits, shard.skip_addr or 0,
                    site_ok, self.nsites + 1,
                    ctypes.cast(ctypes.byref(array, n * ctypes.sizeof(_Block)), ctypes.POINTER(_Block)),
                    max(cap - n, 0))
                n += got
            if n <= cap:
                break
            cap = n + 64
        if lib.memsnap_scan_sort_blocks(array, n):
            raise MemsnapError("out of memory sorting %d blocks" % n)
        self.array = array
        self.n = n
        self.dropped = 0
        self.addrs = _AddressColumn(self)

    def new_scan(self):
        """A C scan handle over these blocks (free it with memsnap_scan_free).
        Blocks overlapping an earlier one (a corrupt or racing table) are
        dropped first, and counted in self.dropped."""
        lib = scan_library()
        bad = ctypes.c_uint64(0)
        handle = ctypes.c_void_p()
        rc = lib.memsnap_scan_new(self.array, self.n, ctypes.byref(handle), ctypes.byref(bad))
        if rc == -22:  # EINVAL: overlapping blocks
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
        array = (_Block * max(len(kept), 1))()
        for i, (a, s, site) in enumerate(kept):
            array[i].addr, array[i].size, array[i].site = a, s, site
        self.array, self.n = array, len(kept)
        return dropped

    def first_at_or_above(self, address):
        return bisect.bisect_left(self.addrs, address)

    def any_in(self, start, end):
        i = self.first_at_or_above(start)
        return i < self.n and self.array[i].addr < end

    def block(self, index):
        b = self.array[index]
        return b.addr, b.size, b.site

    def holding(self, address):
        """(start, size, site) of the block containing address, or None."""
        i = bisect.bisect_right(self.addrs, address) - 1
        if i < 0:
            return None
        start, size, site = self.block(i)
        return (start, size, site) if start <= address < start + max(size, 1) else None


class _AddressColumn:
    """A read-only sequence view of the blocks' addresses (for bisect)."""

    def __init__(self, blocks):
        self._blocks = blocks

    def __len__(self):
        return self._blocks.n

    def __getitem__(self, index):
        return self._blocks.array[index].addr


# ---- what to scan ----

@dataclass
class MemoryRange:
    """A range of target memory, and what it is, for the report."""
    start: int
    end: int
    what: str


def _runtime_ranges(backend, table, regions):
    """The runtime's own memory: every mapping of root.mappings, every region
    backed by libmemsnap.so, and the loaded runtime's writable segments
    (its .bss included, from its ELF program headers or, failing that, the
    anonymous region right after its image)."""
    ranges = [(m.address, m.address + m.size) for m in table.mappings]
    ranges += [(r.start, r.end) for r in regions if r.name and is_runtime_module(r.name)]
    for _name, image in _module_images(regions, runtime=True):
        segments = _module_writable_segments(backend, image)
        if segments is None:
            segments = [(r.start, r.end) for r in image if r.writable]
            for region in regions:
                if region.start == image[-1].end and not region.name and region.writable:
                    segments.append((region.start, region.end))
        ranges += segments
    return ranges


def _subtract(ranges, holes):
    """[MemoryRange] minus the holes [(start, end)]."""
    holes = sorted(holes)
    out = []
    for rng in ranges:
        start, end, what = rng.start, rng.end, rng.what
        pieces = [(start, end)]
        for hs, he in holes:
            if he <= start or hs >= end:
                continue
            next_pieces = []
            for ps, pe in pieces:
                if he <= ps or hs >= pe:
                    next_pieces.append((ps, pe))
                    continue
                if ps < hs:
                    next_pieces.append((ps, hs))
                if he < pe:
                    next_pieces.append((he, pe))
            pieces = next_pieces
        out.extend(MemoryRange(s, e, what) for s, e in pieces if s < e)
    return out


def _elf_loads(backend, base):
    """[(start, end, flags)] of the PT_LOAD segments, relocated, of the ELF
    image whose header is at `base` in the target; None if unreadable."""
    try:
        e_type, headers = elf.read_program_headers(
            lambda offset, size: backend.read_memory(base + offset, size),
            "the image at 0x%x" % base, max_count=256)
    except MemsnapError:
        return None
    loads = [(h.vaddr, h.memsz, h.flags) for h in headers if h.type == elf.PT_LOAD and h.memsz]
    if not loads:
        return None
    first_vaddr = min(v for v, _, _ in loads) & ~0xFFF
    bias = base - first_vaddr if e_type == elf.ET_DYN else 0  # ET_DYN is relocated
    return [(bias + v, bias + v + m, f) for v, m, f in loads]


def _module_writable_segments(backend, module_regions):
    """[(start, end)] of a module's writable PT_LOAD segments (.data, .bss),
    from the ELF program headers in the target's memory; None if unknown."""
    loads = _elf_loads(backend, min(r.start for r in module_regions))
    if loads is None:
        return None
    return [(start, end) for start, end, flags in loads if flags & elf.PF_W]


DATA_FILE_MAPPING = "[file mapped as data]"


def _starts_with_elf(backend, region):
    if not region.readable or not region.in_core:
        return False
    try:
        return backend.read_memory(region.start, 4) == elf.ELF_MAGIC
    except MemsnapError:
        return False


def name_regions(backend, regions):
    """Regions sorted by address, with file names rebuilt when the backend
    gives none (LLDB 14 on core files): a loaded module is a run of
    adjacent regions starting with an ELF header and holding an executable
    region, named after the module the debugger puts its code in; an ELF
    file mapped without code (e.g. libdw reading it) is DATA_FILE_MAPPING.
    An image ends where its ELF program headers say (a region after its
    .bss, e.g. the main thread's TLS, stays anonymous)."""
    regions = sorted(regions, key=lambda r: r.start)
    if any(r.name.startswith("/") for r in regions):
        return regions
    runs = []
    for region in regions:
        if region.name:
            continue
        if _starts_with_elf(backend, region):
            runs.append([region])
        elif runs and runs[-1][-1].end == region.start:
            runs[-1].append(region)
    names = {}
    for run in runs:
        loads = _elf_loads(backend, run[0].start)
        if loads is None or not any(r.executable for r in run):
            names[run[0].start] = DATA_FILE_MAPPING
            continue
        image_end = (max(end for _, end, _ in loads) + 0xFFF) & ~0xFFF
        image = [r for r in run if r.start < image_end]
        code = [r for r in image if r.executable]
        module = None
        try:
            locations = backend.symbolize(code[0].start) if code else []
            module = locations[0].module if locations else None
        except MemsnapError:
            pass
        name = module if module and module.startswith("/") else "/module at 0x%x" % run[0].start
        for r in image:
            names[r.start] = name
    return [replace(r, name=names[r.start]) if r.start in names else r for r in regions]


def _module_images(regions, runtime=False):
    """(path, [regions]) of each loaded module image: a run of adjacent
    regions backed by the same file, one of them executable. (A file mapped
    as data, e.g. by libdw reading it, has no executable region.) Only the
    runtime's images with runtime=True, only the others without."""
    images = []
    run = []
    for region in regions:
        if run and (region.name != run[-1].name or region.start != run[-1].end):
            images.append(run)
            run = []
        if region.name.startswith("/"):
            run.append(region)
    if run:
        images.append(run)
    return [(run[0].name, run) for run in images
            if any(r.executable for r in run) and is_runtime_module(run[0].name) == runtime]


def _looks_like_empty_arena(regions, index):
    """A glibc thread arena holding no live block: an anonymous mapping at a
    64 MiB boundary that is 64 MiB long or followed by the inaccessible rest
    of its 64 MiB reservation."""
    region = regions[index]
    if region.name or region.start % ARENA_ALIGN:
        return False
    if region.end - region.start == ARENA_ALIGN:
        return True
    following = regions[index + 1] if index + 1 < len(regions) else None
    return (following is not None and following.start == region.end and not following.readable
            and following.end <= region.start + ARENA_ALIGN)


def plan_roots(backend, table, blocks, regions, threads):
    """The root memory ranges to scan, each labelled, as [MemoryRange]."""
    regions = sorted(regions, key=lambda r: r.start)
    starts = [r.start for r in regions]

    def region_of(address):
        i = bisect.bisect_right(starts, address) - 1
        if i >= 0 and regions[i].start <= address < regions[i].end:
            return regions[i]
        return None

    ranges = []
    stack_regions = set()
    for thread in threads:
        rsp = thread.registers.get("rsp")
        if rsp is None:
            continue
        region = region_of(rsp) or region_of(max(rsp - RED_ZONE, 0))
        if region is None:
            ranges.append(MemoryRange(rsp, rsp + 1, "stack of thread %d (no region)" % thread.tid))
            continue
        end = region.end
        holder = blocks.holding(rsp)
        if holder is not None:
            end = holder[0] + holder[1]  # a stack in a heap block (coroutines): that block only
        else:
            stack_regions.add(region.start)
        ranges.append(MemoryRange(max(region.start, rsp - RED_ZONE), end,
                                  "stack of thread %d" % thread.tid))
    # Loaded modules: their writable segments, by ELF program headers.
    for name, image in _module_images(regions):
        segments = _module_writable_segments(backend, image)
        if segments is None:
            segments = [(r.start, r.end) for r in image if r.writable]
            after = region_of(image[-1].end)
            if after is not None and not after.name and after.writable \
                    and not blocks.any_in(after.start, after.end):
                segments.append((after.start, after.end))
        for start, end in segments:
            ranges.append(MemoryRange(start, end, "data of %s" % name))
    # Other writable memory that is not heap: TLS, the program's own mmaps.
    for index, region in enumerate(regions):
        if not region.writable or region.start in stack_regions:
            continue
        if region.name.startswith("/") or region.name in ("[heap]", "[vvar]", "[vdso]", "[vsyscall]",
                                                          DATA_FILE_MAPPING):
            continue
        if blocks.any_in(region.start, region.end):
            continue  # heap: only live blocks' contents count
        if _looks_like_empty_arena(regions, index):
            continue  # stale free chunks, not roots
        ranges.append(MemoryRange(region.start, region.end,
                                  "anonymous memory" if not region.name else region.name))
    holes = _runtime_ranges(backend, table, regions)
    ranges = _subtract(ranges, holes)
    ranges.sort(key=lambda r: (r.start, r.end))
    merged = []
    for r in ranges:
        if merged and r.start < merged[-1].end:
            if r.end > merged[-1].end:
                merged.append(MemoryRange(merged[-1].end, r.end, r.what))
            continue
        merged.append(r)
    return merged


def _readable_pieces(ranges, regions, missing):
    """Split ranges along regions: yield the readable in-core pieces, append
    the rest to `missing` with the reason."""
    regions = sorted(regions, key=lambda r: r.start)
    starts = [r.start for r in regions]
    for rng in ranges:
        address = rng.start
        while address < rng.end:
            i = bisect.bisect_right(starts, address) - 1
            region = regions[i] if i >= 0 and address < regions[i].end else None
            if region is None:
                nxt = starts[i + 1] if i + 1 < len(starts) else rng.end
                end = min(rng.end, max(nxt, address + 1))
                missing.append(MemoryRange(address, end, rng.what + ": not mapped in the target"))
                address = end
                continue
            end = min(rng.end, region.end)
            if not region.readable:
                missing.append(MemoryRange(address, end, rng.what + ": not readable"))
            elif not region.in_core:
                missing.append(MemoryRange(address, end, rng.what + ": not in the core file"))
            else:
                yield MemoryRange(address, end, rng.what)
            address = end


def _read_chunks(backend, rng, missing):
    """Yield (address, bytes) covering rng in chunks; unreadable pieces go
    to `missing` after splitting a failing chunk down to MIN_PIECE."""
    address = rng.start
    while address < rng.end:
        size = min(READ_CHUNK, rng.end - address)
        yield from _read_piece(backend, address, size, rng.what, missing)
        address += size


def _read_piece(backend, address, size, what, missing):
    try:
        data = backend.read_memory(address, size)
        if len(data) == size:
            yield address, data
            return
    except UnreadableMemory:
        pass
    if size <= MIN_PIECE:
        missing.append(MemoryRange(address, address + size, what + ": unreadable"))
        return
    half = (size // 2 + 4095) & ~4095
    if half >= size:
        half = size // 2 & ~7 or size
    yield from _read_piece(backend, address, half, what, missing)
    yield from _read_piece(backend, address + half, size - half, what, missing)


def _heap_ranges(blocks, regions):
    """Regions holding live blocks (their contents are fed in address order)."""
    out = []
    for region in sorted(regions, key=lambda r: r.start):
        if blocks.any_in(region.start, region.end):
            out.append(MemoryRange(region.start, region.end,
                                   "heap" + (" " + region.name if region.name else "")))
    # Blocks outside every region are never fed: they count as unscanned.
    return out


# ---- the report ----

@dataclass
class CategoryTotal:
    count: int = 0
    size: int = 0


@dataclass
class LeakReport:
    """The result of find_leaks(): totals, per-category snapshots, coverage."""
    totals: Dict[str, CategoryTotal]
    snapshots: Dict[str, Snapshot]
    clique_bytes: Dict[int, int]            # site id -> bytes its lost blocks lead indirectly
    roots: List[MemoryRange]                # root memory scanned
    missing: List[MemoryRange]              # memory that should have been scanned but could not
    unscanned_count: int                    # live blocks whose contents could not be read
    unscanned_size: int
    nblocks: int
    root_bytes: int
    block_bytes: int
    registers: int
    threads: int
    seconds: float
    warnings: List[str] = field(default_factory=list)
    timings: Dict[str, float] = field(default_factory=dict)   # seconds per phase
    # Definitely lost sites, each with size = the bytes of the indirectly
    # lost blocks its blocks lead (valgrind's "(N direct, M indirect)").
    lead_snapshot: Optional[Snapshot] = None
    _blocks: Optional[LiveBlocks] = None
    _category: object = None

    def statistics(self, category, key_type="lineno", cumulative=False, raw=False):
        """tracemalloc Statistics of one category's blocks."""
        return self.snapshots[category].statistics(key_type, cumulative, raw)

    def indirect_sizes(self, key_type="lineno", cumulative=False, raw=False, filters=()):
        """{statistic key (Traceback): indirectly lost bytes led by the
        definitely lost blocks of that key}, for the same grouping as
        statistics(DEFINITE, ...)."""
        snapshot = self.lead_snapshot
        if snapshot is None:
            return {}
        if filters:
            snapshot = snapshot.filter_traces(filters, raw=raw)
        return {stat.traceback: stat.size
                for stat in snapshot.statistics(key_type, cumulative, raw)}

    def blocks(self, category):
        """(address, size, site id) of every block of a category."""
        code = _CODE[category]
        cat = self._category
        for i in range(self._blocks.n):
            if cat[i] & 0x7F == code:
                yield self._blocks.block(i)

    @property
    def scan_bytes(self):
        return self.root_bytes + self.block_bytes

    def summary_lines(self):
        lines = []
        width = max(len(c) for c in CATEGORIES)
        for category in CATEGORIES:
            total = self.totals[category]
            lines.append("%*s: %s in %d blocks" % (width, category, format_size(total.size), total.count))
        return lines


def heuristic_options(heuristics):
    """The C library's option bits for a list of heuristic names."""
    bits = 0
    for name in heuristics:
        if name not in HEURISTICS:
            raise UsageError("unknown leak heuristic '%s' (known: %s)"
                             % (name, ", ".join(sorted(HEURISTICS))))
        bits |= HEURISTICS[name]
    return bits


def find_leaks(backend=None, table=None, symbolizer=None, heuristics=DEFAULT_HEURISTICS):
    """Leak check of the backend's target: a LeakReport (see module doc).

    heuristics: memcheck's leak heuristics to apply (names of HEURISTICS;
    default all of them, like memcheck's default; () for none)."""
    options = GLIBC_CHUNK_HEADERS | heuristic_options(heuristics)
    if backend is None:
        backend = _default_backend()
    lib = scan_library()
    began = time.monotonic()
    began_cpu = time.process_time()
    timings = {}
    if table is None:
        table = read_table(backend)
    timings["table"] = time.monotonic() - began
    mark_time = time.monotonic()
    blocks = LiveBlocks(table)
    regions = name_regions(backend, backend.regions())
    threads = backend.threads()
    handle = blocks.new_scan()
    timings["blocks"] = time.monotonic() - mark_time
    warnings = list(table.warnings)
    if blocks.dropped:
        warnings.append("%d blocks overlapping others were left out" % blocks.dropped)
    if table.skipped:
        warnings.append("%d blocks being changed by another thread were left out" % table.skipped)
    if table.truncated:
        warnings.append("the trace table is truncated (the runtime ran out of memory): "
                        "untraced blocks are not checked and cannot keep others alive")
    if not regions:
        lib.memsnap_scan_free(handle)
        raise MemsnapError("the debugger lists no memory regions: cannot find the roots")
    missing = []
    try:
        lib.memsnap_scan_set_options(handle, options)
        nregisters = 0
        for thread in threads:
            for value in thread.registers.values():
                lib.memsnap_scan_root_value(handle, value & 0xFFFFFFFFFFFFFFFF)
                nregisters += 1
        roots = plan_roots(backend, table, blocks, regions, threads)
        scanned_roots = []
        clock = _Clock()
        for piece in _readable_pieces(roots, regions, missing):
            scanned_roots.append(piece)
            for address, data in clock.reading(_read_chunks(backend, piece, missing)):
                with clock.scanning():
                    lib.memsnap_scan_roots(handle, address, _bytes_arg(data), len(data))
        for piece in _readable_pieces(_heap_ranges(blocks, regions), regions, missing):
            for address, data in clock.reading(_read_chunks(backend, piece, missing)):
                with clock.scanning():
                    rc = lib.memsnap_scan_blocks(handle, address, _bytes_arg(data), len(data))
                if rc:
                    raise MemsnapError("the leak scan was fed memory out of order at 0x%x" % address)
        timings["read"] = clock.read
        timings["scan"] = clock.scan
        timings["read_cpu"] = clock.read_cpu
        timings["scan_cpu"] = clock.scan_cpu
        mark_time, mark_cpu = time.monotonic(), time.thread_time()
        category = (ctypes.c_uint8 * max(blocks.n, 1))()
        leader = (ctypes.c_uint64 * max(blocks.n, 1))()
        if lib.memsnap_scan_mark(handle, category, leader):
            raise MemsnapError("out of memory marking %d blocks" % blocks.n)
        timings["mark"] = time.monotonic() - mark_time
        timings["mark_cpu"] = time.thread_time() - mark_cpu
        stats = _Stats()
        lib.memsnap_scan_get_stats(handle, ctypes.byref(stats))
    finally:
        lib.memsnap_scan_free(handle)
    summary_time = time.monotonic()
    entries = (blocks.nsites + 1) * _COLUMNS
    counts = (ctypes.c_uint64 * entries)()
    sizes = (ctypes.c_uint64 * entries)()
    lib.memsnap_scan_summarize(blocks.array, blocks.n, category, leader, blocks.nsites, counts, sizes)
    source = symbolizer or _symbolizer(backend, table)
    totals = {c: CategoryTotal() for c in CATEGORIES}
    per_category_sites = {c: [] for c in CATEGORIES}
    clique_bytes = {}
    unscanned_count = unscanned_size = 0
    for sid, site in blocks.sites.items():
        row = sid * _COLUMNS
        for c in CATEGORIES:
            count = counts[row + _CODE[c]]
            if not count:
                continue
            size = sizes[row + _CODE[c]]
            totals[c].count += count
            totals[c].size += size
            per_category_sites[c].append(
                SnapshotSite(sid, site.domain, site.pcs, site.total_nframes, size, count))
        unscanned_count += counts[row + _COL_UNSCANNED]
        unscanned_size += sizes[row + _COL_UNSCANNED]
        if sizes[row + _COL_CLIQUE]:
            clique_bytes[sid] = sizes[row + _COL_CLIQUE]
    lead_sites = [SnapshotSite(sid, blocks.sites[sid].domain, blocks.sites[sid].pcs,
                               blocks.sites[sid].total_nframes, size,
                               counts[sid * _COLUMNS + _CODE[DEFINITE]])
                  for sid, size in clique_bytes.items() if sid in blocks.sites]
    lead_snapshot = Snapshot._create(lead_sites, source, lambda: iter(()), table.traceback_limit)
    snapshots = {}
    for c in CATEGORIES:
        code = _CODE[c]

        def category_blocks(code=code):
            for i in range(blocks.n):
                if category[i] & 0x7F == code:
                    yield blocks.block(i)
        snapshots[c] = Snapshot._create(per_category_sites[c], source, category_blocks,
                                        table.traceback_limit,
                                        {"warnings": warnings, "skipped": table.skipped})
    timings["summary"] = time.monotonic() - summary_time
    timings["cpu"] = time.process_time() - began_cpu
    return LeakReport(totals=totals, timings=timings, snapshots=snapshots, clique_bytes=clique_bytes,
                      lead_snapshot=lead_snapshot,
                      roots=scanned_roots, missing=_coalesce(missing),
                      unscanned_count=unscanned_count, unscanned_size=unscanned_size,
                      nblocks=blocks.n, root_bytes=stats.root_bytes, block_bytes=stats.block_bytes,
                      registers=nregisters, threads=len(threads),
                      seconds=time.monotonic() - began, warnings=warnings,
                      _blocks=blocks, _category=category)


class _Clock:
    """Seconds spent reading target memory vs scanning it in C: wall time
    (read, scan) and this thread's CPU time (read_cpu, scan_cpu)."""

    def __init__(self):
        self.read = self.scan = self.read_cpu = self.scan_cpu = 0.0

    def reading(self, chunks):
        while True:
            began, began_cpu = time.monotonic(), time.thread_time()
            try:
                chunk = next(chunks)
            except StopIteration:
                chunk = None
            self.read += time.monotonic() - began
            self.read_cpu += time.thread_time() - began_cpu
            if chunk is None:
                return
            yield chunk

    @contextlib.contextmanager
    def scanning(self):
        began, began_cpu = time.monotonic(), time.thread_time()
        try:
            yield
        finally:
            self.scan += time.monotonic() - began
            self.scan_cpu += time.thread_time() - began_cpu


def _coalesce(ranges):
    out = []
    for r in sorted(ranges, key=lambda r: r.start):
        if out and out[-1].end == r.start and out[-1].what == r.what:
            out[-1] = MemoryRange(out[-1].start, r.end, r.what)
        else:
            out.append(r)
    return out


def _default_backend():
    from . import session
    return session.current.require_backend()


def _symbolizer(backend, table):
    """The session's PC cache when the backend is the session's, else a new one."""
    from . import session
    if session.current.backend is backend:
        return session.current.symbolizer_for(table.root_address)
    return PcSymbolizer(backend)


# ---- who points at a block ----

class Reference(dict):
    """One word of the target holding a pointer into the block asked about.

    A dict (so JSON views take it as is) with attribute access; str() is the
    line memwhere --who prints. kind: "register", "root", "block", or
    "missing" for memory that could not be scanned (where..end, what)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def __str__(self):
        if self["kind"] == "register":
            return "  register %s = 0x%x" % (self["what"], self["value"])
        if self["kind"] == "missing":
            return "  warning: not scanned: 0x%x-0x%x (%s)" % (self["where"], self["end"], self["what"])
        text = "  0x%x = 0x%x in %s" % (self["where"], self["value"], self["what"])
        if self["kind"] == "block" and self.get("holder_site_frame"):
            text += " allocated at " + self["holder_site_frame"]
        return text


def who_points_at(backend, address, size=None, table=None):
    """Every root word and live block word pointing into the block that
    holds `address` (or, with `size`, into [address, address + size)), as a
    list of Reference: registers first, then roots, then blocks in address
    order, then any memory that could not be scanned.
    BadAddressError if no live block holds the address."""
    lib = scan_library()
    if table is None:
        table = read_table(backend)
    blocks = LiveBlocks(table)
    if size is None:
        index = bisect.bisect_right(blocks.addrs, address) - 1
        if index < 0:
            raise BadAddressError("0x%x is not inside any live traced block" % address)
        start, size, _site = blocks.block(index)
        if not start <= address < start + max(size, 1):
            raise BadAddressError("0x%x is not inside any live traced block" % address)
    else:
        start = address
    lo, hi = start, start + max(size, 1)
    regions = name_regions(backend, backend.regions())
    threads = backend.threads()
    refs = []
    for thread in threads:
        for name, value in thread.registers.items():
            if lo <= value < hi:
                refs.append(Reference(kind="register", where=0, value=value,
                                      what="%s of thread %d" % (name, thread.tid)))
    missing = []
    roots = plan_roots(backend, table, blocks, regions, threads)
    for piece in _readable_pieces(roots, regions, missing):
        for base, data in _read_chunks(backend, piece, missing):
            for ref in _refs_in(lib, lo, hi, base, data, "root", piece.what):
                if piece.what.startswith("data of "):
                    symbol = _data_symbol(backend, ref["where"])
                    if symbol:
                        ref["symbol"] = symbol
                        ref["what"] += " (%s)" % symbol
                refs.append(ref)
    source = None
    for piece in _readable_pieces(_heap_ranges(blocks, regions), regions, missing):
        for base, data in _read_chunks(backend, piece, missing):
            for ref in _refs_in(lib, lo, hi, base, data, "block", piece.what):
                holder = bisect.bisect_right(blocks.addrs, ref["where"]) - 1
                if holder < 0:
                    continue
                b_start, b_size, b_site = blocks.block(holder)
                if not (b_start <= ref["where"] and ref["where"] + 8 <= b_start + b_size):
                    continue  # a stale word between blocks
                ref["what"] = "block 0x%x (%s)" % (b_start, format_size(b_size))
                ref["block"] = {"start": b_start, "size": b_size, "site": b_site}
                if source is None:
                    source = _symbolizer(backend, table)
                frame = _site_key_frame(blocks.sites.get(b_site), source)
                if frame:
                    ref["holder_site_frame"] = frame
                refs.append(ref)
    for gap in _coalesce(missing):
        refs.append(Reference(kind="missing", where=gap.start, end=gap.end, value=0, what=gap.what))
    return refs


def _data_symbol(backend, address):
    """"name" or "name+offset" of the global variable holding `address`."""
    try:
        locations = backend.symbolize(address)
    except MemsnapError:
        return None
    name = locations[0].function if locations else None
    if not name:
        return None
    try:
        start = backend.lookup_symbol(name)
    except MemsnapError:
        start = None
    if start is not None and 0 < address - start < (1 << 20):
        return "%s+%d" % (name, address - start)
    return name


def _refs_in(lib, lo, hi, base, data, kind, what):
    raw = _bytes_arg(data)
    cap = 64
    while True:
        out = (ctypes.c_uint64 * cap)()
        found = lib.memsnap_scan_find_refs(lo, hi, base, raw, len(raw), out, cap)
        if found <= cap:
            break
        cap = found
    for i in range(found):
        where = out[i]
        value = struct.unpack_from("<Q", raw, where - base)[0]
        yield Reference(kind=kind, where=where, value=value, what=what)


def _site_key_frame(site, source):
    """"file:line" (or label) of a site's key frame, for one-line mentions."""
    if site is None:
        return None
    frames = []
    for pc in site.pcs:
        frames.extend(source.frames(pc))
    frame = pick_key_frame(frames)
    return str(frame) if frame is not None else None
