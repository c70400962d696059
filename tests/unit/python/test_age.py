"""Snapshot.filter_since (model/age.py) without a debugger: snapshots built
from sites and per-block rows with births, as the session builds them."""

import pytest

from memsnap.errors import MemsnapError, UsageError
from memsnap.model.info import SnapshotInfo
from memsnap.model.snapshot import Site, Snapshot
from memsnap.model.sources import FrameList
from memsnap.table.sampling import block_weights
from memsnap import Frame

SOURCE = FrameList()
OLD_LINE = SOURCE.add((Frame(("a.c", 10)),))
NEW_LINE = SOURCE.add((Frame(("a.c", 20)),))


def snapshot(rows, epoch, pid=7, sample_bytes=0):
    """rows: (address, size, site id 1 or 2, birth); site 1 at a.c:10, 2 at a.c:20."""
    sums = {1: [0, 0], 2: [0, 0]}
    for address, size, site, _ in rows:
        count, weight = block_weights(address, size, 0, sample_bytes)
        sums[site][0] += weight
        sums[site][1] += count
    sites = [Site(1, 0, (OLD_LINE,), 1, *sums[1], 999, 99),
             Site(2, 0, (NEW_LINE,), 1, *sums[2], 999, 99)]
    info = SnapshotInfo(live=True, pid=pid, epoch=epoch, sample_bytes=sample_bytes)
    return Snapshot.from_sites(sites, SOURCE, 1, info, lambda: iter(rows))


OLD = snapshot([(0x1000, 10, 1, 0)], epoch=0)
NEW = snapshot([(0x1000, 10, 1, 0), (0x2000, 30, 2, 1), (0x3000, 50, 2, 3), (0x4000, 70, 1, 1)],
               epoch=3)


def test_keeps_blocks_born_after_the_older_epoch():
    young = NEW.filter_since(OLD)
    assert [(str(s.traceback[0]), s.size, s.count) for s in young.statistics("lineno")] == \
        [("a.c:20", 80, 2), ("a.c:10", 70, 1)]
    assert sorted(a for a, _, _ in young.iter_blocks()) == [0x2000, 0x3000, 0x4000]
    assert all(s.total_size is None for s in young.sites())
    assert NEW.filter_since(snapshot([], epoch=1)).total_size == 50
    assert NEW.filter_since(NEW).total_count == 0


def test_sampled_blocks_count_with_their_weights():
    rows = [(0x10000 + 64 * i, 100, 2, 1) for i in range(50)]
    sampled = snapshot(rows + [(0x9000, 100, 1, 0)], epoch=2, sample_bytes=4096)
    young = sampled.filter_since(OLD)
    expected = [block_weights(a, 100, 0, 4096) for a, _, _, _ in rows]
    assert young.total_count == sum(c for c, _ in expected)
    assert young.total_size == sum(b for _, b in expected) > 50 * 100


def test_refusals():
    with pytest.raises(UsageError, match="taken after the newer snapshot"):
        OLD.filter_since(NEW)
    with pytest.raises(UsageError, match=r"different processes \(pid 8, then pid 7\)"):
        NEW.filter_since(snapshot([], epoch=0, pid=8))
    with pytest.raises(MemsnapError, match="the older snapshot has no allocation epoch"):
        NEW.filter_since(snapshot([], epoch=None))
    unknown = snapshot([(0x1000, 10, 1, None)], epoch=3)
    with pytest.raises(MemsnapError, match="does not know when its blocks were allocated"):
        unknown.filter_since(OLD)
    traced = Snapshot([(0, 10, [("a.c", 1)])], 1)
    with pytest.raises(MemsnapError, match="the newer snapshot has no allocation epoch"):
        traced.filter_since(OLD)


def test_births_survive_a_snapshot_file(tmp_path):
    path = str(tmp_path / "new.memsnap")
    NEW.dump(path)
    loaded = Snapshot.load(path)
    assert loaded.info.epoch == 3 and loaded.info.pid == 7
    assert loaded.filter_since(OLD).total_size == NEW.filter_since(OLD).total_size == 150


def test_files_without_births_load_but_cannot_answer(tmp_path):
    from memsnap.model import snapshot_file
    path = tmp_path / "old.memsnap"
    unknown = snapshot([(0x1000, 10, 1, None)], epoch=3)
    unknown.dump(str(path))
    data = bytearray(path.read_bytes())
    start = len(snapshot_file.MAGIC)
    _, count, meta = snapshot_file.HEADER.unpack_from(data, start)
    snapshot_file.HEADER.pack_into(data, start, 2, count, meta)     # as version 2 wrote it
    path.write_bytes(bytes(data))
    loaded = Snapshot.load(str(path))
    assert loaded.total_size == 10
    with pytest.raises(MemsnapError, match="does not know when its blocks were allocated"):
        loaded.filter_since(OLD)
