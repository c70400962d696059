"""The layout reader over fake tables: what it reads, the in-flight rule,
and every error: no target, runtime not loaded, bad magic, unknown major,
corrupt pointers/counts/sizes, missing memory (kept partial, with warnings),
truncated or incomplete cores, and a core read with a rebuilt runtime."""

import struct

import pytest

from fake_target import LAYOUT, TableBuilder, put
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
    assert table.major == 1 and table.minor == 0 and table.tracing and not table.truncated
    assert table.traceback_limit == 16 and table.nshards == 4
    assert {s.id: (s.live_count, s.live_bytes) for s in table.sites.values()} == {
        1: (10000, 1000000), 2: (10000, 480000), 3: (100, 80000), 4: (1, 800)}
    assert table.sites[1].pcs[0] == 0x401105 and table.sites[1].domain == 0
    blocks = list(table.iter_blocks())
    assert len(blocks) == 20101
    assert sum(1 for _, size, site in blocks if site == 1 and size == 100) == 10000
    assert table.skipped == 0 and table.warnings == []


def test_sites_are_read_in_one_read_per_depot_mapping(waste):
    waste.after.calls["read_memory"] = 0
    reader.read_table(waste.after)
    # fixed header, field table, root, 5 mapping headers, 1 depot, shard array,
    # 4 x (slot header + slot array)
    assert waste.after.calls["read_memory"] == 1 + 1 + 1 + 5 + 1 + 1 + 8


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
    pytest.param(TableBuilder.ROOT, "root", "nshards", 3, 0, "power of two",
                 id="nshards_not_power_of_two"),
    pytest.param(TableBuilder.DEPOT, "mapping", "next", TableBuilder.DEPOT, 0, "cycle",
                 id="mapping_cycle"),
    pytest.param(TableBuilder.DEPOT, "mapping", "size", 1 << 50, 0, "impossible size",
                 id="impossible_mapping_size"),
    pytest.param(TableBuilder.DEPOT, "site", "nframes", 200, 32, "runs past",
                 id="site_running_past_used"),
    pytest.param(TableBuilder.DEPOT, "site", "id", 0, 32, "impossible id 0", id="bad_site_id"),
    pytest.param(TableBuilder.SHARDS, "shard", "count", 1 << 20, 0, "blocks and 0 tombstones",
                 id="count_beyond_capacity"),
]


@pytest.mark.parametrize("segment, record, field, value, offset, message", CORRUPT_FIELDS)
def test_corrupt_field_is_refused(segment, record, field, value, offset, message):
    backend = small_table().build()
    put(backend.segments[segment], record, field, value, offset)
    with pytest.raises(CorruptTableError, match=message):
        reader.read_table(backend)


def test_unknown_major_version():
    backend = small_table(major=2).build()
    with pytest.raises(LayoutVersionError) as err:
        reader.read_table(backend)
    assert str(err.value) == "trace table layout 2.0 is not supported by this memsnap (knows 1.x)"


def test_newer_minor_with_appended_fields_is_read():
    backend = small_table(minor=7).build()
    table = reader.read_table(backend)
    assert table.minor == 7 and len(table.sites) == 2


def test_fields_found_by_name_not_position():
    """Move root.state elsewhere in the root (a later minor may): still read."""
    b = small_table(state=0x7)
    backend = b.build()
    root = backend.segments[TableBuilder.ROOT]
    # grow the root: put state at offset 136 (a reserved word) and say so
    set_field_entry(backend, b"root.state", offset=136, size=4)
    struct.pack_into("<I", root, 32, 0)
    struct.pack_into("<I", root, 136, 0x7)
    table = reader.read_table(backend)
    assert table.truncated and table.tracing


def test_missing_field_in_table():
    backend = small_table().build()
    set_field_entry(backend, b"site.nframes", name=b"site.renamed")
    with pytest.raises(CorruptTableError, match="lacks 'site.nframes'"):
        reader.read_table(backend)


def test_field_outside_its_record():
    backend = small_table().build()
    set_field_entry(backend, b"shard.count", offset=60, size=8)
    with pytest.raises(CorruptTableError, match="outside its 64-byte record"):
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


def test_capacity_not_power_of_two():
    backend = small_table().build()
    slots = min(a for a in backend.segments if a >= TableBuilder.SLOTS_BASE)
    put(backend.segments[slots], "slots", "capacity", 48)
    with pytest.raises(CorruptTableError, match="impossible capacity 48"):
        reader.read_table(backend)


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


def test_unreadable_slot_array_keeps_the_rest():
    backend = small_table().build()
    first = min(a for a in backend.segments if a >= TableBuilder.SLOTS_BASE)
    header = backend.segments[first][:48]
    backend.segments[first] = header
    table = reader.read_table(backend)
    assert len(table.sites) == 2
    assert any("blocks of shard" in w for w in table.warnings)
    assert len(list(table.iter_blocks())) < 41


def test_unreadable_root():
    backend = small_table().build()
    del backend.segments[TableBuilder.ROOT]
    with pytest.raises(UnreadableMemory, match="trace table root"):
        reader.read_table(backend)


def test_locked_shard_skips_the_pending_block():
    b = small_table()
    target = 0x5000000 + 0x40 * 5
    b.locks[b.shard_of(target)] = (1234, 1, target)
    table = reader.read_table(b.build())
    addresses = {a for a, _, _ in table.iter_blocks()}
    assert target not in addresses and len(addresses) == 40
    assert table.skipped == 1


def test_locked_shard_without_pending_op_skips_nothing():
    b = small_table()
    b.locks[0] = (1234, 0, 0)
    table = reader.read_table(b.build())
    assert table.skipped == 0 and len(list(table.iter_blocks())) == 41


def test_read_root_only(waste):
    waste.after.calls["read_memory"] = 0
    root = reader.read_root(waste.after)
    assert root.current_bytes == 1000000 + 480000 + 80000 + 800
    assert waste.after.calls["read_memory"] == 3
    assert LAYOUT["root"][0] == 144


def test_all_shards_locked_is_reported():
    b = small_table()
    for index in range(b.nshards):
        b.locks[index] = (99, 0, 0)
    table = reader.read_table(b.build())
    assert table.skipped == 0
    assert any("every shard was locked" in w for w in table.warnings)


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
