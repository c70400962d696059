"""Benchmark (a report, not a test): `memsnap` + `memstat` on a large table.

Builds a fake target with 1M live blocks over 10k sites (16 frames each; a
fifth of the sites allocate through libc's strdup, so the key frame is one
level deeper), then times, with a fresh session (cold PC cache):
  memsnap NAME   (read root, field table, depot, thread counters; build the snapshot)
  memstat NAME   (group by lineno incl. symbolization, top 10, format)
and the same again warm, plus -k traceback and the first access to
snapshot.traces. Run: /usr/bin/python3 tests/bench/core/bench_snapshot.py [blocks] [sites]
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path[:0] = [os.path.join(ROOT, "python"), os.path.join(ROOT, "tests", "support")]

from fake_target import TableBuilder  # noqa: E402
from memsnap import session  # noqa: E402
from memsnap.views import commands  # noqa: E402

LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
PROG = "/build/bench"


def build(nblocks, nsites):
    b = TableBuilder(nthreads=4, depot_capacity=(nsites * 208) + 4096)
    b.add_location(0x7f0000001020, ("strdup", None, 0, LIBC))
    shared = [0x500000 + 0x10 * i for i in range(15)]
    for i, pc in enumerate(shared):
        b.add_location(pc, ("caller%d" % i, "/src/callers.c", 100 + i, PROG))
    sites = []
    for i in range(nsites):
        own = 0x400000 + 0x10 * i
        b.add_location(own, ("function%d" % (i % 2000), "/src/file%d.c" % (i % 100), 10 + i, PROG))
        if i % 5 == 0:
            pcs = (0x7f0000001020, own) + tuple(shared[:14])
        else:
            pcs = (own,) + tuple(shared)
        sites.append(b.add_site(pcs))
    for n in range(nblocks):
        b.add_block(0x10000000 + 0x40 * n, 16 + (n % 7) * 8, sites[n % nsites])
    return b.build()


def timed(label, fn):
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    print("%-44s %8.3f s" % (label, elapsed))
    return result, elapsed


def main():
    nblocks = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    nsites = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    print("building a fake table: %d blocks, %d sites ..." % (nblocks, nsites))
    backend = build(nblocks, nsites)
    session.current = session.Session()
    print("python %s" % sys.version.split()[0])
    _, a = timed("memsnap s1 (cold)", lambda: commands.run("memsnap", "s1", backend))
    out, b = timed("memstat s1 (cold PC cache, lineno)", lambda: commands.run("memstat", "s1", backend))
    print("  -> memsnap + memstat, first time: %.3f s (%d symbolize calls)"
          % (a + b, backend.calls["symbolize"]))
    print("\n".join("  | " + line for line in out.split("\n")[:3]))
    timed("memsnap s2 (warm)", lambda: commands.run("memsnap", "s2", backend))
    timed("memstat s2 (warm)", lambda: commands.run("memstat", "s2", backend))
    timed("memdiff s1 s2", lambda: commands.run("memdiff", "s1 s2", backend))
    timed("memstat s2 -k traceback -n 1", lambda: commands.run("memstat", "s2 -k traceback -n 1", backend))
    timed("memstat s2 -k function -c", lambda: commands.run("memstat", "s2 -k function -c", backend))
    snap = session.current.get("s2")
    timed("len(snapshot.traces) (1 Trace per block)", lambda: len(snap.traces))


if __name__ == "__main__":
    main()
