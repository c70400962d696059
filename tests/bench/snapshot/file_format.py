"""Benchmark (by hand, not a test): snapshot files, version 1 (JSON) against version 3 (compact).

Runs many_blocks (tests/debuggers/programs) with BLOCKS live blocks (default
2,690,000 = 10,000 stacks x 269) under build/gdb/memsnap-gdb, stops at its
checkpoint, takes one snapshot and writes it both ways: `memsnap --save`
(version 3) and Snapshot.to_data() as JSON (version 1, what --save wrote
before). Then, for each file, REPEAT fresh Python processes (no debugger)
load it with memsnap.Snapshot.load, alternating the two formats, and
report: file bytes per block, load wall time (median, min-max) per million
blocks, and the RSS the load added per block (median). Usage:

    /usr/bin/python3 tests/bench/snapshot/file_format.py [BUILD_DIR]
        [--per-stack N] [--repeat N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
STACKS = 10000

SAVE_BOTH = """
import json, memsnap
from memsnap import session
snapshot = session.current.get("big")
with open({v1!r}, "w") as handle:
    json.dump(snapshot.to_data(), handle)
"""

LOAD = """
import resource, sys, time
sys.path.insert(0, {python!r})
import memsnap
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
snapshot = memsnap.Snapshot.load({path!r})
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(seconds, (after - before) * 1024, snapshot.total_count)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", nargs="?", default=os.path.join(SOURCE_ROOT, "build"))
    parser.add_argument("--per-stack", type=int, default=269)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    blocks = STACKS * args.per_stack
    with tempfile.TemporaryDirectory(prefix="memsnap-file-bench-") as work:
        files = {"version 1 (JSON)": os.path.join(work, "big.json"),
                 "version 3 (compact)": os.path.join(work, "big.memsnap")}
        script = os.path.join(work, "save_both.py")
        with open(script, "w") as handle:
            handle.write(SAVE_BOTH.format(v1=files["version 1 (JSON)"]))
        subprocess.run([os.path.join(args.build, "gdb", "memsnap-gdb"), "-batch",
                        "-ex", "break checkpoint", "-ex", "run", "-ex", "memsnap big",
                        "-ex", "memsnap --save big %s" % files["version 3 (compact)"],
                        "-ex", "source %s" % script,
                        "--args", os.path.join(args.build, "tests", "debuggers", "programs",
                                               "many_blocks"), str(args.per_stack)],
                       check=True, stdout=subprocess.DEVNULL)
        runs = {label: [] for label in files}
        for _ in range(args.repeat):
            for label, path in files.items():
                code = LOAD.format(python=os.path.join(SOURCE_ROOT, "python"), path=path)
                out = subprocess.run(["/usr/bin/python3", "-c", code], check=True,
                                     capture_output=True, text=True).stdout.split()
                assert int(out[2]) >= blocks, out      # and the program's own array
                runs[label].append((float(out[0]), int(out[1])))
        print("%d live blocks over %d stacks; %d loads each, alternating; load %s"
              % (blocks, STACKS, args.repeat, os.getloadavg()[0]))
        print("%-22s %14s %26s %16s" % ("format", "bytes/block", "load s per 1M blocks",
                                        "RSS bytes/block"))
        for label, path in files.items():
            times = [t / blocks * 1e6 for t, _ in runs[label]]
            rss = statistics.median(r for _, r in runs[label]) / blocks
            print("%-22s %14.2f %12.2f (%.2f-%.2f) %16.0f"
                  % (label, os.path.getsize(path) / blocks, statistics.median(times),
                     min(times), max(times), rss))


if __name__ == "__main__":
    sys.exit(main())
