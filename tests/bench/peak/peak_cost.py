#!/usr/bin/env python3
"""What the peak snapshot costs (docs/benchmarks.md): the runtime against the same runtime without peak tracking.

  python3 tests/bench/peak/peak_cost.py BUILD --baseline LIB [--rounds 7]
      [--steps 3000000] [--callgrind-steps 200000] [--callgrind-runs 3]
      [--skip-callgrind] [--skip-timed]

LIB is a libmemsnap.so without the peak snapshot: the runtime of layout
2.0, e.g. built from the commit before it (git worktree add DIR REV;
meson setup DIR/build DIR; meson compile -C DIR/build memsnap). Both run
with the DWARF unwinder at depth 16.

1. Callgrind instruction counts (repeatable under load): the churn
   (tests/bench/churn.c, S steps per thread) at 1 and 2 threads, and
   live_blocks with 1,000,000 blocks, where every allocation raises the
   peak: the worst case, in which every traced operation saves its
   counter's pair (runtime/peak.h). Each count is the median of N runs
   (min-max shown when they differ): with two threads valgrind's
   scheduling changes what the walk memo finds, by a few percent. Both
   libraries are copied to paths of the same length first: LD_PRELOAD's
   length moves the initial stack, and with it which memo entries collide
   (a difference of 0.6% in memo_find alone).
2. CPU time of the churn at 1 and 2 threads, untraced, baseline and peak
   runtime run once per round in a shuffled order; medians over the
   rounds of the ratio to the round's untraced run (min-max when wide),
   and the median of the per-round peak/baseline ratio.
Prints `uptime`'s load before and after. A report, never a test.
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "attach"))

from attach_bench import instructions  # noqa: E402
from run_bench import alternate, clean_env, cpu_seconds, ratio_cell, uptime  # noqa: E402

TRACED = {"MEMSNAP": "16", "MEMSNAP_UNWIND": "dwarf"}


NAMES = ("baseline (no peak snapshot)", "peak snapshot")


def same_length_copies(build, baseline, workdir):
    """The baseline and the build's runtime, copied to workdir/0 and workdir/1."""
    copies = []
    for index, lib in enumerate((baseline, os.path.join(build, "runtime", "libmemsnap.so"))):
        os.mkdir(os.path.join(workdir, str(index)))
        copies.append(shutil.copy(lib, os.path.join(workdir, str(index), "libmemsnap.so")))
    return copies


def workloads(build, steps):
    churn = os.path.join(build, "tests", "bench", "churn")
    return [("churn, 1 thread", [churn, str(steps), "1"]),
            ("churn, 2 threads", [churn, str(steps), "2"]),
            ("live_blocks 1M (every allocation a new peak)",
             [os.path.join(build, "tests", "bench", "live_blocks"), "1000000"])]


def count_cell(counts, untraced=None):
    """Median instruction count [min-max when they differ] (× untraced)."""
    cell = "{:,}".format(int(statistics.median(counts)))
    if min(counts) != max(counts):
        cell += " [{:,}–{:,}]".format(min(counts), max(counts))
    if untraced:
        cell += " (%.2f×)" % (statistics.median(counts) / untraced)
    return cell


def instruction_table(build, baseline, peak, steps, runs):
    print("\n## 1. Callgrind instructions (churn: %d steps per thread; DWARF, depth 16; "
          "median of %d runs)\n" % (steps, runs))
    print("| workload | untraced | baseline | peak snapshot | peak vs baseline |")
    print("|---|---|---|---|---|")
    for title, argv in workloads(build, steps):
        untraced = instructions(argv, clean_env())
        counts = ([], [])
        for _ in range(runs):
            for lib, found in zip((baseline, peak), counts):
                found.append(instructions(argv, clean_env(LD_PRELOAD=lib, **TRACED)))
        base, mine = (statistics.median(found) for found in counts)
        print("| %s | %s | %s | %s | %+.2f%% |" % (
            title, "{:,}".format(untraced), count_cell(counts[0], untraced),
            count_cell(counts[1], untraced), 100.0 * (mine - base) / base))


def timed_table(build, baseline, peak, steps, rounds, rng):
    print("\n## 2. CPU time × untraced (median of %d rounds, %d steps per thread)\n"
          % (rounds, steps))
    print("| workload | baseline | peak snapshot | peak / baseline (median of rounds) |")
    print("|---|---|---|---|")
    for title, argv in workloads(build, steps)[:2]:
        configs = [("untraced", lambda argv=argv: cpu_seconds(argv, clean_env()))]
        for name, lib in zip(NAMES, (baseline, peak)):
            configs.append((name, lambda argv=argv, lib=lib: cpu_seconds(
                argv, clean_env(LD_PRELOAD=lib, **TRACED))))
        ratios, _ = alternate(configs, rounds, rng, {})
        base, mine = (ratios[name] for name in NAMES)
        print("| %s | %s | %s | %s |" % (title, ratio_cell(base), ratio_cell(mine),
                                         ratio_cell([m / b for m, b in zip(mine, base)])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build")
    parser.add_argument("--baseline", required=True, help="libmemsnap.so without peak tracking")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3000000)
    parser.add_argument("--callgrind-steps", type=int, default=200000)
    parser.add_argument("--callgrind-runs", type=int, default=3)
    parser.add_argument("--skip-callgrind", action="store_true")
    parser.add_argument("--skip-timed", action="store_true")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    print("load before:", uptime())
    with tempfile.TemporaryDirectory(prefix="memsnap-peak-bench-") as workdir:
        baseline, peak = same_length_copies(build, os.path.abspath(args.baseline), workdir)
        if not args.skip_callgrind:
            instruction_table(build, baseline, peak, args.callgrind_steps, args.callgrind_runs)
        if not args.skip_timed:
            timed_table(build, baseline, peak, args.steps, args.rounds, random.Random(1))
    print("\nload after:", uptime())


if __name__ == "__main__":
    main()
