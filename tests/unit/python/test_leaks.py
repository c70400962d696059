"""memsnap.leaks without a debugger: a fake backend over a hand-made address
space (regions, threads, memory bytes) and a trace table built from the
reader's own records. Checks what is taken as roots (stacks from the stack
pointer, module data from ELF program headers, TLS-like anonymous memory)
and what never is (the runtime's mappings and image, heap regions, empty
arenas, files mapped as data), the verdicts, who_points_at, and that memory
missing from a core is reported and not taken as empty.
"""

import struct

import pytest

from fake_target import FakeBackend
from memsnap import leaks
from memsnap.leaks.blocks import LiveBlocks
from memsnap.errors import BadAddressError, MemsnapError
from memsnap.table.reader import ChunkSlots, DepotRecord, Mapping, Table
from memsnap.target.backend import Location, Region, ThreadState

PAGE = 0x1000
EXE = 0x555555554000
HEAP = 0x555555600000
ARENA = 0x7f0000000000      # 64 MiB aligned: an empty glibc arena
TLS = 0x7f0010010000
RUNTIME_MAP = 0x7f0010014000
RUNTIME_SO = 0x7f0020000000
LIBDW_DATA = 0x7f0030000000
STACK = 0x7ffffffde000


def locate(address):
    """What the fake debugger says is at a code address."""
    module = "/lib/libmemsnap.so" if RUNTIME_SO <= address < RUNTIME_SO + 0x2000 else "/bin/prog"
    return [Location("f", "/src/prog.c", 10, module, address - EXE, address)]


def elf_header(writable_vaddr, writable_memsz):
    """A minimal ET_DYN ELF header with two PT_LOADs: code at 0, data (RW)."""
    phoff = 64
    header = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + b"\0" * 9, 3, 62, 1,
                         0, phoff, 0, 0, 64, 56, 2, 0, 0, 0)
    code = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, PAGE, PAGE, PAGE)
    data = struct.pack("<IIQQQQQQ", 1, 6, 0, writable_vaddr, writable_vaddr, 8,
                       writable_memsz, PAGE)
    return header + code + data


def put(memory, address, value):
    for start, data in memory.items():
        if start <= address < start + len(data):
            struct.pack_into("<Q", data, address - start, value)
            return
    raise AssertionError("no memory at 0x%x" % address)


def make_table(blocks, mappings):
    """A Table holding `blocks` [(address, size)] in one chunk, site 1."""
    capacity = 16
    while capacity < 2 * len(blocks):
        capacity *= 2
    raw = bytearray(16 * capacity)
    for i, (address, size) in enumerate(blocks):
        struct.pack_into("<QQ", raw, 16 * i, address, (size << 24) | 1)
    table = Table(root_address=RUNTIME_SO + 0x2000, major=2, minor=0, state=3,
                  traceback_limit=16, max_frames=256, unwinder=2, current_bytes=0,
                  peak_bytes=0, runtime_bytes=0, site_id_bits=24, nsites=1, untraced=0)
    table.mappings = [Mapping(a, s, 4, s) for a, s in mappings]
    table.sites = {1: DepotRecord(1, 0, (EXE + 0x1100,), 1, len(blocks), 0, len(blocks), 0)}
    table.chunks = [ChunkSlots(RUNTIME_MAP, RUNTIME_MAP + 128, capacity, len(blocks),
                               RUNTIME_MAP + 128 + 16 * capacity, bytes(raw))]
    return table


B = [HEAP + 0x10 + 0x40 * i for i in range(8)]   # 8 blocks of 48 bytes


def world(in_core_stack=True, names=True):
    memory = {
        EXE: bytearray(elf_header(0x1000, 0x2000)) + bytearray(PAGE - 176),
        EXE + 0x1000: bytearray(0x2000),           # .data (file) + .bss (anonymous)
        HEAP: bytearray(0x1000),
        ARENA: bytearray(0x1000),
        TLS: bytearray(0x8000),                    # TLS page + runtime mapping merged
        RUNTIME_SO: bytearray(elf_header(0x1000, 0x1000)) + bytearray(PAGE - 176),
        RUNTIME_SO + 0x1000: bytearray(0x1000),
        LIBDW_DATA: bytearray(elf_header(0x1000, 0x1000)) + bytearray(PAGE - 176),
        STACK: bytearray(0x21000),
    }
    n = lambda text: text if names else ""  # noqa: E731
    regions = [
        Region(EXE, EXE + 0x1000, True, False, True, n("/bin/prog")),
        Region(EXE + 0x1000, EXE + 0x2000, True, True, False, n("/bin/prog")),
        Region(EXE + 0x2000, EXE + 0x3000, True, True, False, ""),
        Region(HEAP, HEAP + 0x1000, True, True, False, n("[heap]")),
        Region(ARENA, ARENA + 0x1000, True, True, False, ""),
        Region(ARENA + 0x1000, ARENA + (64 << 20), False, False, False, ""),
        Region(TLS, TLS + 0x8000, True, True, False, ""),
        Region(RUNTIME_SO, RUNTIME_SO + 0x1000, True, False, True, n("/lib/libmemsnap.so")),
        Region(RUNTIME_SO + 0x1000, RUNTIME_SO + 0x2000, True, True, False, n("/lib/libmemsnap.so")),
        Region(LIBDW_DATA, LIBDW_DATA + 0x1000, True, True, False, n("/usr/lib/libc.so.6")),
        Region(STACK, STACK + 0x21000, True, True, False, n("[stack]"), in_core=in_core_stack),
    ]
    rsp = STACK + 0x20000
    threads = [ThreadState(tid=100, registers={"rsp": rsp, "rip": EXE + 0x100, "rbx": B[6]})]
    put(memory, B[0], B[1])                 # 0 -> 1
    put(memory, EXE + 0x1008, B[0])         # .data -> 0: reachable chain 0, 1
    put(memory, EXE + 0x2100, B[2] + 8)     # .bss -> interior of 2: possibly lost
    put(memory, TLS + 0x10, B[3])           # TLS-like anonymous memory -> 3
    put(memory, rsp + 0x40, B[4])           # live stack -> 4
    put(memory, rsp - 0x1000, B[5])         # dead stack (below the red zone): not a root
    put(memory, ARENA + 0x20, B[5])         # empty arena: not a root
    put(memory, TLS + 0x4000 + 0x80, B[5])  # the runtime's mapping: not a root
    put(memory, RUNTIME_SO + 0x1010, B[5])  # the runtime's .data: not a root
    put(memory, LIBDW_DATA + 0x810, B[5])   # a file mapped as data: not a root
    put(memory, B[7], B[5])                 # lost 7 -> 5: 7 definite, 5 indirect
    table = make_table([(b, 48) for b in B], [(TLS + 0x4000, 0x4000)])
    return FakeBackend(memory, regions=regions, threads=threads, pid=1, locate=locate), table


@pytest.fixture(autouse=True)
def scan_library():
    try:
        leaks.scan_library()
    except MemsnapError as err:
        pytest.skip(str(err))


def verdicts(report):
    found = {}
    for category in leaks.CATEGORIES:
        for address, _size, _site in report.blocks(category):
            found[B.index(address)] = category
    return [found[i] for i in range(len(B))]


@pytest.mark.parametrize("names", [True, False], ids=["named", "unnamed-regions"])
def test_roots_and_verdicts(names):
    backend, table = world(names=names)
    report = leaks.find_leaks(backend, table=table)
    assert verdicts(report) == [
        leaks.REACHABLE, leaks.REACHABLE, leaks.POSSIBLE, leaks.REACHABLE,
        leaks.REACHABLE, leaks.INDIRECT, leaks.REACHABLE, leaks.DEFINITE]
    assert report.totals[leaks.DEFINITE].count == 1
    assert report.totals[leaks.INDIRECT].size == 48
    assert report.clique_bytes == {1: 48}
    assert list(report.indirect_sizes().values()) == [48]
    assert not report.missing and report.unscanned_count == 0
    whats = {r.what for r in report.roots}
    assert any(w.startswith("stack of thread 100") for w in whats), whats
    scanned = [(r.start, r.end) for r in report.roots]
    for address in (ARENA, TLS + 0x4000, RUNTIME_SO + 0x1000, LIBDW_DATA, HEAP):
        assert not any(s <= address < e for s, e in scanned), hex(address)


def test_a_forged_site_id_does_not_size_the_scan():
    backend, table = world()
    forged = (1 << 24) - 1                 # the largest id 24 bits allow
    table.sites[forged] = DepotRecord(forged, 0, (EXE + 0x1100,), 1, 0, 0, 0, 0)
    table.nsites = 1 << 40                 # and a count no table can hold
    blocks = LiveBlocks(table)
    assert blocks.nsites == 1 and blocks.forged_sites == 1
    report = leaks.find_leaks(backend, table=table)
    assert verdicts(report)[7] == leaks.DEFINITE
    assert any("1 sites with ids far beyond the 2 sites read" in w for w in report.warnings), \
        report.warnings


def test_missing_stack_is_reported_not_empty():
    backend, table = world(in_core_stack=False)
    report = leaks.find_leaks(backend, table=table)
    assert any("stack of thread 100" in gap.what and "not in the core" in gap.what
               for gap in report.missing), report.missing
    # Block 4 was held only by the missing stack: it shows as lost, and the
    # report says why the verdict may be wrong.
    assert verdicts(report)[4] == leaks.DEFINITE


def test_who_points_at():
    backend, table = world()
    refs = leaks.who_points_at(backend, B[5] + 3, table=table)
    kinds = sorted((r.kind, r.where) for r in refs)
    assert kinds == [("block", B[7])], refs
    refs = leaks.who_points_at(backend, B[6], table=table)
    assert [r.kind for r in refs] == ["register"] and "rbx" in str(refs[0])
    with pytest.raises(BadAddressError):
        leaks.who_points_at(backend, HEAP + 0xF00, table=table)
