"""The layout reader over fake tables: what it reads, the in-flight rule,
and every error: no target, runtime not loaded, bad magic, unknown major,
corrupt pointers/counts/sizes, missing memory (kept partial, with warnings),
truncated or incomplete cores, and a core read with a rebuilt runtime."""

import struct

import pytest

from fake_target import LAYOUT, OP_ALLOC, OP_FREE, TableBuilder, put
from memsnap.table import reader
from memsnap.target import elf
from memsnap.target.backend import Region
from memsnap.errors import (CorruptTableError, LayoutVersionError, NoTargetError,
                            RuntimeNotLoadedError, UnreadableMemory)


def small_table(**kwargs):
    b = TableBuilder(**kwargs)
    s1 = b.add_site((0x401005, 0x401105))
    s2 = b.add_site((0x402005,), domain=3)
    for i in range(40):
        b.add_block(0x5000000 + 0x40 * i, 24 + i, s1)
    b.add_block(0x6000000, 4096, s2)
    return b


def set_field_entry(backend, field, name=None, offset=None, size=None):
    """Rewrite the field table's entry for `field` (e.g. b"root.state"): its
    name, offset or size; the others stay."""
    fields = backend.segments[TableBuilder.FIELDS]
    for i in range(len(fields) // 48):
        old_name, old_offset, old_size = struct.unpack_from("<40sII", fields, i * 48)
        if old_name.rstrip(b"\0") == field:
            struct.pack_into("<40sII", fields, i * 48, name or old_name,
                             old_offset if offset is None else offset,
                             old_size if size is None else size)
            return
    raise AssertionError("no field %r in the table" % field)


def test_reads_root_sites_and_blocks(waste):
    table = reader.read_table(waste.after)
    assert table.major == 2 and table.minor == 1 and table.tracing and not table.truncated
    assert table.traceback_limit == 16 and len(table.threads) == 4
    assert {s.id: (s.live_count, s.live_bytes) for s in table.sites.values()} == {
        1: (10000, 1000000), 2: (10000, 480000), 3: (100, 80000), 4: (1, 800)}
    assert table.sites[1].pcs[0] == 0x401105 and table.sites[1].domain == 0
    blocks = list(table.iter_blocks())
    assert len(blocks) == 20101
    assert sum(1 for _, size, site, _ in blocks if site == 1 and size == 100) == 10000
    assert table.skipped == 0 and table.warnings == []


def test_sites_are_read_in_one_read_per_depot_mapping(waste):
    waste.after.calls["read_memory"] = 0
    reader.read_table(waste.after)
    # fixed header, field table, root, 4 x (thread record, counter directory
    # header, its page addresses, its one page), 6 mapping headers, 1 depot,
    # 4 x (chunk header + its used slots + their births)
    assert waste.after.calls["read_memory"] == 1 + 1 + 1 + 4 * 4 + 6 + 1 + 12


def test_no_target():
    backend = small_table().build()
    backend.target = False
    with pytest.raises(NoTargetError, match="no process"):
        reader.read_table(backend)


def test_runtime_not_loaded():
    backend = small_table().build()
    del backend.symbols["memsnap_root"]
    with pytest.raises(RuntimeNotLoadedError) as err:
        reader.read_table(backend)
    # no library is mapped yet: the process stopped before the loader ran (starti)
    assert str(err.value).startswith("libmemsnap.so is not loaded yet: the process stopped "
                                     "before its libraries were loaded (as at starti)")
    backend = small_table().build()
    del backend.symbols["memsnap_root"]
    backend.region_list = [Region(0x7f0000000000, 0x7f0000001000, True, False, True,
                                  "/usr/lib/x86_64-linux-gnu/libc.so.6")]
    with pytest.raises(RuntimeNotLoadedError) as err:
        reader.read_table(backend)
    assert str(err.value) == (
        "libmemsnap.so is not loaded in this process: it is loaded when the program starts "
        "(LD_PRELOAD=/path/libmemsnap.so, which memsnap-gdb and memsnap-lldb set for the "
        "programs they start)")


# One field of a small table set to an impossible value, and what the reader says.
CORRUPT_FIELDS = [
    pytest.param(TableBuilder.ROOT, "root", "magic", 0x1234, 0, "bad magic", id="bad_magic"),
    pytest.param(TableBuilder.ROOT, "root", "counters_per_page", 0, 0, "counters_per_page 0",
                 id="no_counters_per_page"),
    pytest.param(TableBuilder.ROOT, "root", "threads", TableBuilder.THREADS + 64, 0, "",
                 id="thread_list_ok"),
    pytest.param(TableBuilder.THREADS, "thread", "next", TableBuilder.THREADS + 64, 64,
                 "thread list has a cycle", id="thread_cycle"),
    pytest.param(TableBuilder.DEPOT, "mapping", "next", TableBuilder.DEPOT, 0, "cycle",
                 id="mapping_cycle"),
    pytest.param(TableBuilder.DEPOT, "mapping", "size", 1 << 50, 0, "impossible size",
                 id="impossible_mapping_size"),
    pytest.param(TableBuilder.DEPOT, "site", "nframes", 200, 32, "runs past",
                 id="site_running_past_used"),
    pytest.param(TableBuilder.DEPOT, "site", "id", 0, 32, "impossible id 0", id="bad_site_id"),
    pytest.param(TableBuilder.CHUNKS_BASE, "chunk", "high", 1 << 20, 0, "impossible capacity",
                 id="high_beyond_capacity"),
    pytest.param(TableBuilder.CHUNKS_BASE, "chunk", "capacity", 1 << 20, 0, "do not fit",
                 id="capacity_beyond_mapping"),
]


@pytest.mark.parametrize("segment, record, field, value, offset, message", CORRUPT_FIELDS)
def test_corrupt_field_is_refused(segment, record, field, value, offset, message):
    backend = small_table().build()
    put(backend.segments[segment], record, field, value, offset)
    if not message:     # the control: the value the builder writes there
        assert len(reader.read_table(backend).sites) == 2
        return
    with pytest.raises(CorruptTableError, match=message):
        reader.read_table(backend)


@pytest.mark.parametrize("major", [1, 3])
def test_unknown_major_version(major):
    backend = small_table(major=major, minor=0).build()
    with pytest.raises(LayoutVersionError) as err:
        reader.read_table(backend)
    assert str(err.value) == (
        "trace table layout %d.0 is not supported by this memsnap (it reads 2.x): the runtime "
        "(libmemsnap.so) and these debugger commands come from different memsnap builds" % major)


def test_newer_minor_with_appended_fields_is_read():
    backend = small_table(minor=7).build()
    table = reader.read_table(backend)
    assert table.minor == 7 and len(table.sites) == 2


def test_fields_found_by_name_not_position():
    """Move root.state elsewhere in the root (a later minor may): still read."""
    b = small_table(state=0x7)
    backend = b.build()
    root = backend.segments[TableBuilder.ROOT]
    # grow the root: put state at offset 152 (a reserved word) and say so
    set_field_entry(backend, b"root.state", offset=152, size=4)
    struct.pack_into("<I", root, 32, 0)
    struct.pack_into("<I", root, 152, 0x7)
    table = reader.read_table(backend)
    assert table.truncated and table.tracing


def test_missing_field_in_table():
    backend = small_table().build()
    set_field_entry(backend, b"site.nframes", name=b"site.renamed")
    with pytest.raises(CorruptTableError, match="lacks 'site.nframes'"):
        reader.read_table(backend)


def test_field_outside_its_record():
    backend = small_table().build()
    set_field_entry(backend, b"thread.current", offset=188, size=8)
    with pytest.raises(CorruptTableError, match="outside its 192-byte record"):
        reader.read_table(backend)


def test_used_beyond_mapping():
    backend = small_table().build()
    depot = backend.segments[TableBuilder.DEPOT]
    put(depot, "mapping", "used", len(depot) + 16)
    with pytest.raises(CorruptTableError, match="used="):
        reader.read_table(backend)


def test_too_many_frames():
    backend = small_table(max_frames=64).build()
    put(backend.segments[TableBuilder.DEPOT], "site", "nframes", 65, 32)
    with pytest.raises(CorruptTableError, match="65 frames, more than max_frames 64"):
        reader.read_table(backend)


def test_chunk_of_no_thread_is_left_out_with_a_warning():
    backend = small_table().build()
    put(backend.segments[TableBuilder.CHUNKS_BASE], "chunk", "owner", 0x1234)
    table = reader.read_table(backend)
    assert len(list(table.iter_blocks())) < 41
    assert any("belongs to no thread record read (0x1234)" in w for w in table.warnings)


def test_unreadable_depot_keeps_the_rest():
    backend = small_table().build()
    depot = backend.segments.pop(TableBuilder.DEPOT)
    # keep the header readable, lose the records (a hole in a core)
    backend.segments[TableBuilder.DEPOT] = depot[:32]
    table = reader.read_table(backend)
    assert table.sites == {}
    assert len(list(table.iter_blocks())) == 41
    assert any("depot mapping at 0x100000" in w for w in table.warnings)
    assert any("sites in the depot mapping" in w for w in table.warnings)


def test_unreadable_chunk_keeps_the_rest():
    backend = small_table().build()
    first = TableBuilder.CHUNKS_BASE
    backend.segments[first] = backend.segments[first][:128]
    table = reader.read_table(backend)
    assert len(table.sites) == 2
    assert any("blocks of the chunk at 0x%x are missing" % first in w for w in table.warnings)
    assert len(list(table.iter_blocks())) < 41


def test_unreadable_thread_record_cuts_the_list():
    backend = small_table().build()
    threads = backend.segments[TableBuilder.THREADS]
    backend.segments[TableBuilder.THREADS] = threads[:64 + 192]
    table = reader.read_table(backend)
    assert len(table.threads) == 1
    assert any("the thread list is cut" in w for w in table.warnings)


def test_unreadable_root():
    backend = small_table().build()
    del backend.segments[TableBuilder.ROOT]
    with pytest.raises(UnreadableMemory, match="trace table root"):
        reader.read_table(backend)


# Every stage of an operation in flight: the block is left out entirely.
@pytest.mark.parametrize("op, done", [(OP_ALLOC, False), (OP_ALLOC, True), (OP_FREE, False),
                                      (OP_FREE, True)])
def test_operation_in_flight_is_left_out(op, done):
    b = small_table()
    target = 0x5000000 + 0x40 * 5
    b.pend(target, op, done)
    table = reader.read_table(b.build())
    addresses = {a for a, _, _, _ in table.iter_blocks()}
    assert target not in addresses and len(addresses) == 40
    assert table.skipped == 1
    site = table.sites[1]
    assert (site.live_count, site.live_bytes) == (39, sum(24 + i for i in range(40)) - 29)
    assert (site.peak_count, site.peak_bytes) == (site.live_count, site.live_bytes)
    assert (site.total_count, site.total_bytes) == (
        (39, site.live_bytes) if op == OP_ALLOC else (40, site.live_bytes + 29))
    assert table.current_bytes == site.live_bytes + 4096
    assert table.warnings == []


def test_thread_behind_a_clear_counts_nothing():
    b = small_table()
    b.clear_gen = 5
    b.stale_threads = (0,)
    table = reader.read_table(b.build())
    blocks = list(table.iter_blocks())
    assert blocks and all(b.thread_of(a) != 0 for a, _, _, _ in blocks)
    assert sum(size for _, size, _, _ in blocks) == table.current_bytes
    assert sum(s.live_bytes for s in table.sites.values()) == table.current_bytes


def test_counters_summed_over_threads_with_negative_shares():
    """A block allocated by one thread and freed by another: the freeing
    thread's share of the site is negative, the sum is right."""
    backend = small_table(nthreads=2).build()
    table = reader.read_table(backend)
    before = table.sites[1].live_count
    directory = table.threads[1].counters
    counters = backend.segments[directory]
    at = 16 + 8 + LAYOUT["counter"][0] * 1   # one page: site 1's live_count
    struct.pack_into("<q", counters, at, struct.unpack_from("<q", counters, at)[0] - 1)
    table = reader.read_table(backend)
    assert table.sites[1].live_count == before - 1


def test_read_root_only(waste):
    waste.after.calls["read_memory"] = 0
    root = reader.read_root(waste.after)
    assert root.current_bytes == 1000000 + 480000 + 80000 + 800
    # fixed header, field table, root, and the thread records with their
    # counters (the exact current is theirs): no depot, no chunks
    assert waste.after.calls["read_memory"] == 3 + 4 * 4
    assert root.sites == {} and root.chunks == []
    assert LAYOUT["root"][0] == 160


def test_huge_corrupt_size_is_not_read_in_one_piece():
    backend = small_table().build()
    depot = backend.segments[TableBuilder.DEPOT]
    put(depot, "mapping", "size", 1 << 36)
    put(depot, "mapping", "used", 1 << 35)
    biggest = []
    original = backend.read_memory

    def read(address, size):
        biggest.append(size)
        return original(address, size)
    backend.read_memory = read
    table = reader.read_table(backend)
    assert max(biggest) <= 8 << 20
    assert table.sites == {}
    assert any("bytes at 0x100000 are readable" in w for w in table.warnings)


def test_find_block():
    b = small_table()
    target = 0x5000000 + 0x40 * 7
    table = reader.read_table(b.build())
    assert table.find_block(target) == (target, 31, 1)
    assert table.find_block(target + 30) == (target, 31, 1)
    assert table.find_block(target + 31) is None          # between blocks
    assert table.find_block(0x6000000 + 4095) == (0x6000000, 4096, 2)
    assert table.find_block(0x10) is None


def test_zero_magic_in_a_core_suggests_a_rebuilt_runtime():
    backend = small_table().build()
    put(backend.segments[TableBuilder.ROOT], "root", "magic", 0, 0)
    with pytest.raises(CorruptTableError, match="bad magic") as live_error:
        reader.read_table(backend)
    assert "same build" not in str(live_error.value)
    backend.live = False
    with pytest.raises(CorruptTableError, match="is libmemsnap.so the same build that wrote this core"):
        reader.read_table(backend)


def _core_file(path, file_size, segment_offset, segment_size):
    """A minimal ELF64 core: one writable PT_LOAD of segment_size bytes at
    segment_offset, the file cut (or padded) to file_size bytes."""
    header = elf.ELF_HEADER.pack(b"\x7fELF\x02\x01\x01" + bytes(9), elf.ET_CORE, 62, 1, 0,
                                 elf.ELF_HEADER.size, 0, 0, elf.ELF_HEADER.size,
                                 elf.PROGRAM_HEADER.size, 1, 0, 0, 0)
    load = elf.PROGRAM_HEADER.pack(elf.PT_LOAD, elf.PF_R | elf.PF_W, segment_offset, 0x10000,
                                   0, segment_size, segment_size, 0x1000)
    data = (header + load).ljust(file_size, b"\0")[:file_size]
    path.write_bytes(data)
    return str(path)


def test_truncated_core_is_named_instead_of_runtime_not_loaded(tmp_path):
    backend = small_table().build()
    del backend.symbols["memsnap_root"]
    backend.live = False
    backend.core_path = _core_file(tmp_path / "core", 0x1800, 0x1000, 0x2000)
    with pytest.raises(UnreadableMemory) as err:
        reader.read_table(backend)
    assert str(err.value) == ("memsnap_root not found: the core file %s is truncated "
                              "(6144 of 12288 bytes; 6144 missing)" % backend.core_path)


def test_core_missing_writable_memory_is_incomplete():
    backend = small_table().build()
    del backend.symbols["memsnap_root"]
    backend.live = False
    backend.region_list = [Region(0x1000, 0x2000, True, True, False, "", True),
                           Region(0x5000, 0x9000, True, True, False, "", False)]
    with pytest.raises(UnreadableMemory) as err:
        reader.read_table(backend)
    assert str(err.value) == ("memsnap_root not found: the core file is incomplete: 1 of its 2 "
                              "memory regions are missing, the first at 0x5000")


def test_complete_core_without_the_runtime_says_not_loaded(tmp_path):
    backend = small_table().build()
    del backend.symbols["memsnap_root"]
    backend.live = False
    backend.core_path = _core_file(tmp_path / "core", 0x3000, 0x1000, 0x2000)
    with pytest.raises(RuntimeNotLoadedError):
        reader.read_table(backend)


def test_fuzzed_tables_give_a_table_or_one_memsnap_error():
    """Random bytes of a small layout 2 table overwritten (the root, the
    thread records, the counter pages, the depot, the chunks), 400 times:
    the reader returns a table (perhaps with warnings) or raises one of
    memsnap's errors; never another exception, never a hang (the suite's
    timeout), and whatever it returns is self-consistent enough to list."""
    import random
    from memsnap.errors import MemsnapError
    rng = random.Random(20261205)
    pristine = small_table(nthreads=3).build()
    outcomes = {"table": 0, "error": 0}
    for _ in range(400):
        backend = small_table(nthreads=3).build()
        for _ in range(rng.randint(1, 6)):
            start = rng.choice([a for a in backend.segments if a != TableBuilder.FIELDS])
            data = backend.segments[start]
            at = rng.randrange(min(len(data), 8192))
            width = rng.choice((1, 4, 8))
            data[at:at + width] = rng.randbytes(width)[:len(data) - at]
        try:
            table = reader.read_table(backend)
        except MemsnapError:
            outcomes["error"] += 1
            continue
        outcomes["table"] += 1
        list(table.iter_blocks())
        table.find_block(0x5000000 + 0x45)
        assert all(s.live_count >= 0 and s.live_bytes >= 0 for s in table.sites.values())
    assert outcomes["table"] and outcomes["error"], outcomes
    assert len(list(reader.read_table(pristine).iter_blocks())) == 41
