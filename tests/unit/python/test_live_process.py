"""The reader against bytes written by the real runtime: a real process
running under LD_PRELOAD=libmemsnap.so, stopped by itself (SIGSTOP) or by
the test at random moments, read through /proc by procfs_backend.py.
Needs MEMSNAP_LIB (set by meson) or a built runtime; skipped otherwise."""

import glob
import os
import random
import shutil
import signal
import subprocess
import time

import pytest

from memsnap import session
from memsnap.table import reader
from memsnap.table.sampling import block_weights
from memsnap.views import commands
from procfs_backend import ProcfsBackend

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SOURCE = os.path.join(HERE, "programs", "stop_after_waste.c")


def runtime_library():
    path = os.environ.get("MEMSNAP_LIB")
    if path and os.path.exists(path):
        return path
    found = sorted(glob.glob(os.path.join(ROOT, "build*", "runtime", "libmemsnap.so")),
                   key=os.path.getmtime)
    return found[-1] if found else None


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    built = os.environ.get("MEMSNAP_PY_PROGRAMS")
    if built and os.path.exists(os.path.join(built, "stop_after_waste")):
        return os.path.join(built, "stop_after_waste")
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    out = str(tmp_path_factory.mktemp("prog") / "stop_after_waste")
    subprocess.run([compiler, "-g", "-O0", "-fno-omit-frame-pointer", "-pthread", SOURCE, "-o", out],
                   check=True)
    return out


@pytest.fixture(scope="module")
def library():
    path = runtime_library()
    if path is None:
        pytest.skip("libmemsnap.so is not built (set MEMSNAP_LIB)")
    return path


def state_of(pid):
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().rsplit(")", 1)[1].split()[0]


def wait_stopped(pid, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if state_of(pid) == "T":
            return
        time.sleep(0.01)
    raise AssertionError("process %d did not stop" % pid)


def start(program, library, *args, env=None):
    env = dict(os.environ, LD_PRELOAD=library, MEMSNAP="16", **(env or {}))
    return subprocess.Popen([program] + list(args), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_waste_blocks_read_from_the_real_writer(program, library):
    proc = start(program, library)
    try:
        wait_stopped(proc.pid)
        backend = ProcfsBackend(proc.pid)
        table = reader.read_table(backend)
        assert table.major == 2 and table.tracing and table.warnings == []
        session.current.set_backend(backend)
        snapshot = session.current.take()
        lines = open(SOURCE).read().splitlines()
        data = [s for s in snapshot.statistics("lineno")
                if os.path.realpath(s.traceback[0].filename) == os.path.realpath(SOURCE) and
                "data line" in lines[s.traceback[0].lineno - 1]]
        assert len(data) == 1
        assert data[0].count == 10000 and data[0].size == 1000000
        assert str(data[0]) == "%s:%d: size=977 KiB, count=10000, average=100 B" % (
            data[0].traceback[0].filename, data[0].traceback[0].lineno)
        # per-block data agrees: 10000 blocks of 100 bytes at that stack
        key = data[0].traceback[0]
        blocks = [t for t in snapshot.traces if t.traceback[-1] == key]
        assert len(blocks) == 10000 and {t.size for t in blocks} == {100}
        # the traceback runs main -> run -> get_data -> object_new
        functions = [f.function for f in blocks[0].traceback]
        assert functions[-4:] == ["main", "run", "get_data", "object_new"]
        out = commands.run("memstat", "-k traceback -n 1 -i '*stop_after_waste.c'", backend)
        assert out.split("\n")[0] == str(data[0])
        where = commands.run("memwhere", hex(blocks[0].address + 5), backend)
        assert where.startswith("0x%x is 5 bytes inside a block of 100 B" % (blocks[0].address + 5))
    finally:
        proc.kill()
        proc.wait()


def test_sampling_weights_add_up_to_the_site_counters(program, library):
    """The reader's per-block weights of a sampled table (table/sampling.py)
    are the runtime's: summed per site they equal its live counters exactly."""
    proc = start(program, library, env={"MEMSNAP_SAMPLE": "4096"})
    try:
        wait_stopped(proc.pid)
        table = reader.read_table(ProcfsBackend(proc.pid))
        assert table.sampled and table.sample_bytes == 4096 and table.warnings == []
        sums = {}
        for address, size, site, birth in table.iter_blocks():
            count, weight = block_weights(address, size, table.sites[site].domain, 4096)
            total = sums.setdefault(site, [0, 0])
            total[0] += count
            total[1] += weight
            assert birth == 0
        live = {sid: [s.live_count, s.live_bytes] for sid, s in table.sites.items()
                if s.live_count}
        assert sums == live and len(sums) >= 3
    finally:
        proc.kill()
        proc.wait()


def test_tables_stopped_mid_update_stay_consistent(program, library):
    proc = start(program, library, "churn")
    rng = random.Random(7)
    try:
        time.sleep(0.2)
        skipped = 0
        for _ in range(25):
            time.sleep(rng.uniform(0.001, 0.03))
            os.kill(proc.pid, signal.SIGSTOP)
            wait_stopped(proc.pid)
            table = reader.read_table(ProcfsBackend(proc.pid))
            blocks = list(table.iter_blocks())
            skipped += table.skipped
            assert table.warnings == []
            # no torn record: every block names a site, has a size, is unique
            assert all(site in table.sites and size > 0 for _, size, site, _ in blocks)
            assert len({addr for addr, _, _, _ in blocks}) == len(blocks)
            # site counters agree with the blocks, up to the in-flight ones
            counted = {}
            for _, size, site, _ in blocks:
                count, total = counted.get(site, (0, 0))
                counted[site] = (count + 1, total + size)
            off = sum(abs(s.live_count - counted.get(i, (0, 0))[0])
                      for i, s in table.sites.items())
            assert off <= 2 * table.skipped, (off, table.skipped)
            os.kill(proc.pid, signal.SIGCONT)
        print("in-flight blocks skipped over 25 stops:", skipped)
    finally:
        proc.kill()
        proc.wait()
