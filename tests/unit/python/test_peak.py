"""The peak snapshot (layout 2.1) over fake tables: how the reader sums the
counters' peak pairs (stamped with root.peak_gen, else the live pair),
what a 2.0 table says, the bound it states, and memstat --peak / memsnap
NAME --peak / files. (An operation in flight is left out of an unstamped
peak as of the live sums: test_reader's in-flight cases.)"""

import json
import stat

import pytest

from fake_target import OP_ALLOC, TableBuilder, put
from memsnap import session
from memsnap.errors import MemsnapError, UsageError
from memsnap.model.from_table import peak_sites
from memsnap.table import layout, reader
from memsnap.views import commands
from waste_scenario import PC_DATA, PC_GETDATA_CALL, PC_LIBC, PC_MAIN_CALL, PC_OBJECT, \
    PC_RUN_CALL, SRC, Waste

from test_reader import small_table

SIZES = [24 + i for i in range(40)]        # small_table's blocks of site 1


def shares(b, site_id, skip_thread=None):
    """(count, bytes) of a site's blocks over the threads, but one."""
    blocks = [(a, s) for a, s, i in b.blocks if i == site_id and b.thread_of(a) != skip_thread]
    return len(blocks), sum(s for _, s in blocks)


def test_without_stamps_the_peak_is_the_live_heap():
    table = reader.read_table(small_table().build())
    assert table.peak_known
    for site in table.sites.values():
        assert (site.peak_count, site.peak_bytes) == (site.live_count, site.live_bytes)


def test_a_stamped_peak_pair_replaces_its_threads_live_pair():
    b = small_table()
    b.set_peak(1, 100, 5000)
    table = reader.read_table(b.build())
    others = shares(b, 1, skip_thread=0)
    assert (table.sites[1].peak_count, table.sites[1].peak_bytes) == (100 + others[0],
                                                                      5000 + others[1])
    assert table.sites[1].live_count == 40            # the live sums are untouched
    # the peak reported is at least the snapshot's total (a current the process had)
    assert table.peak_bytes == 5000 + others[1] + 4096


def test_a_pair_stamped_with_an_older_peak_is_not_read():
    b = small_table()
    b.set_peak(1, 100, 5000)
    backend = b.build()
    b.peak_gen += 1                               # a newer peak since: the pair is stale
    put(backend.segments[TableBuilder.ROOT], "root", "peak_gen", b.peak_gen)
    table = reader.read_table(backend)
    assert table.sites[1].peak_count == table.sites[1].live_count == 40


def test_a_stamped_peak_pair_is_not_corrected_for_an_operation_in_flight():
    b = small_table()
    target = next(a for a, _, i in b.blocks if i == 1 and b.thread_of(a) == 0)
    b.pend(target, OP_ALLOC, True)
    b.set_peak(1, 7, 700)                         # saved before the operation began
    table = reader.read_table(b.build())
    others = shares(b, 1, skip_thread=0)
    assert (table.sites[1].peak_count, table.sites[1].peak_bytes) == (7 + others[0],
                                                                      700 + others[1])


def test_a_layout_2_0_table_has_no_peak_snapshot():
    table = reader.read_table(small_table(minor=0, peak_fields=False).build())
    assert not table.peak_known
    assert table.sites[1].live_count == 40        # read with its 32-byte counters
    with pytest.raises(MemsnapError) as err:
        peak_sites(table)
    assert str(err.value) == ("this trace table (layout 2.0) keeps no peak snapshot: the "
                              "runtime (libmemsnap.so) is older than layout 2.1")


def test_the_live_heap_when_it_holds_more_than_the_recorded_peak():
    b = small_table()
    b.set_peak(1, 1, 10)                          # a recorded peak below the heap now
    sites = peak_sites(reader.read_table(b.build()))
    assert {s.id: (s.count, s.size) for s in sites} == {1: (40, sum(SIZES)), 2: (1, 4096)}
    assert all(s.total_size is None for s in sites)


def test_the_bound_is_zero_until_the_runtime_folds_with_drift():
    assert reader.read_table(small_table().build()).peak_bound == 0
    table = reader.read_table(small_table(state=0x3 | layout.STATE_DRIFT).build())
    assert table.peak_bound == (2 * 4 - 1) * 65536    # 4 thread records, 64 KiB folds


# ---- the commands, over a waste_memory whose heap rose and fell back ----

def fallen_waste(drift=False):
    """waste_memory after its heap fell back to nothing: its peak held
    10000 data buffers (100 B) and 10000 objects (48 B)."""
    b = TableBuilder(state=0x3 | (layout.STATE_DRIFT if drift else 0))
    Waste.locations(b)
    tail = (PC_GETDATA_CALL, PC_RUN_CALL, PC_MAIN_CALL, PC_LIBC)
    data = b.add_site((PC_DATA,) + tail)
    obj = b.add_site((PC_OBJECT,) + tail)
    b.set_peak(data, 10000, 1000000)
    b.set_peak(obj, 10000, 480000)
    b.peak = 1480000
    backend = b.build()
    backend.sources = Waste().sources
    return backend


PEAK_LINES = [SRC + ":29: size=977 KiB, count=10000, average=100 B",
              SRC + ":28: size=469 KiB, count=10000, average=48 B"]


def test_memstat_peak():
    out = commands.run("memstat", "--peak", fallen_waste()).split("\n")
    assert out == PEAK_LINES + ["note: the heap at the peak of traced memory (peak=1445 KiB)"]
    assert commands.run("memstat", "", fallen_waste()) == "no traced blocks"


def test_memstat_peak_with_drift_states_the_bound():
    out = commands.run("memstat", "--peak", fallen_waste(drift=True)).split("\n")
    assert out == PEAK_LINES + [
        "note: the heap near the peak of traced memory (peak=1445 KiB; with several threads "
        "it may miss up to 448 KiB of the exact peak: docs/production.md)"]


def test_memsnap_peak_is_kept_diffed_and_saved(tmp_path):
    backend = fallen_waste()
    assert commands.run("memsnap", "P --peak", backend).split("\n") == [
        "snapshot P (peak): size=1445 KiB, count=20000, sites=2",
        "note: the heap at the peak of traced memory (peak=1445 KiB)"]
    assert commands.run("memdiff", "P", backend).split("\n")[:2] == [
        SRC + ":29: size=0 B (-977 KiB), count=0 (-10000)",
        SRC + ":28: size=0 B (-469 KiB), count=0 (-10000)"]
    path = str(tmp_path / "peak.memsnap")
    commands.run("memsnap", "--save P %s" % path, backend)
    assert stat.S_IMODE((tmp_path / "peak.memsnap").stat().st_mode) == 0o600
    session.current.delete("P")
    assert commands.run("memsnap", "--load %s Q" % path, backend) == (
        "loaded 'Q' from %s: Q (peak): size=1445 KiB, count=20000, sites=2" % path)
    assert commands.run("memstat", "Q", backend).split("\n") == PEAK_LINES + [
        "note: the heap at the peak of traced memory (peak=1445 KiB)"]
    listed = json.loads(commands.run("memsnap", "--list --json", backend))
    assert listed[0]["name"] == "Q" and listed[0]["peak"] is True


def test_peak_snapshot_exports_and_json():
    backend = fallen_waste()
    folded = commands.run("memstat", "--peak -f folded", backend).split("\n")
    assert sum(int(line.rsplit(" ", 1)[1]) for line in folded) == 1480000
    data = json.loads(commands.run("memstat", "--peak --json", backend))
    assert data["total"] == {"size": 1480000, "count": 20000}
    assert data["warnings"] == ["note: the heap at the peak of traced memory (peak=1445 KiB)"]


@pytest.mark.parametrize("name, args, message", [
    ("memstat", "P --peak", "memstat: --peak is the peak now; a kept snapshot is shown by NAME "
                            "alone (keep the peak with memsnap NAME --peak)"),
    ("memstat", "--peak --since P", "memstat: --peak cannot be combined with --since: the peak "
                                    "snapshot keeps each site's counts, not its blocks and "
                                    "their births"),
    ("memsnap", "--list --peak", "memsnap: --peak only applies when taking a snapshot"),
])
def test_peak_usage_errors(name, args, message):
    backend = fallen_waste()
    commands.run("memsnap", "P", backend)
    with pytest.raises(UsageError) as err:
        commands.run(name, args, backend)
    assert str(err.value) == message


def test_since_a_peak_snapshot_is_refused():
    backend = fallen_waste()
    commands.run("memsnap", "P --peak", backend)
    with pytest.raises(MemsnapError, match="'P' has no allocation epoch \\(a snapshot of the peak"):
        commands.run("memstat", "--since P", backend)
