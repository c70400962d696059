#!/usr/bin/env python3
"""The runtime's benchmark (a report, never a pass/fail test): runs
bench_alloc's churn (pure malloc/free) and its work variant (each new block
filled and read back) untraced and under LD_PRELOAD=libmemsnap.so (once per
unwinder), RUNS times each, interleaved, and prints the median CPU time
(user + sys of the child) and the traced/untraced ratio; then runs
bench_alloc live with 1M+
blocks under the runtime and prints its memory per live block (stacks, i.e.
depot and index mappings, excluded). Targets: ratio <= 2.0 (frame-pointer
build), <= 48 bytes per live block.

usage: bench_alloc.py LIBMEMSNAP BENCH_ALLOC [--runs 5] [--steps 5000000]
           [--live 4096] [--blocks 1048576]
"""
import argparse
import os
import statistics
import subprocess
import sys


def cpu_seconds(argv, env):
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("MEMSNAP") and k != "LD_PRELOAD"}
    clean.update(env)
    proc = subprocess.Popen(argv, env=clean, stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.stdout.close()
    if status != 0:
        raise SystemExit("%s failed with status %d" % (" ".join(argv), status))
    return usage.ru_utime + usage.ru_stime, out.decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lib")
    parser.add_argument("bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5000000)
    parser.add_argument("--live", type=int, default=4096)
    parser.add_argument("--blocks", type=int, default=1 << 20)
    args = parser.parse_args()
    lib = os.path.abspath(args.lib)
    configs = [("untraced", {}),
               ("memsnap fp", {"LD_PRELOAD": lib, "MEMSNAP_UNWIND": "fp"}),
               ("memsnap default", {"LD_PRELOAD": lib})]
    print("load average: %.2f %.2f %.2f" % os.getloadavg())
    for mode, what in (("churn", "pure churn: free + malloc only"),
                       ("work", "each new block filled and read back")):
        argv = [args.bench, mode, str(args.steps), str(args.live)]
        print("%s: %d malloc/free pairs, %d live, each malloc 14 calls deep "
              "(18 frames, 16 kept), %s; %d runs (median CPU s)"
              % (mode, args.steps, args.live, what, args.runs))
        medians = {}
        outputs = {}
        # Interleaved runs: a change in the machine's load hits every
        # configuration alike.
        times = {name: [] for name, _ in configs}
        for _ in range(args.runs):
            for name, env in configs:
                seconds, out = cpu_seconds(argv, env)
                times[name].append(seconds)
                outputs.setdefault(name, out)
        for name, _ in configs:
            medians[name] = statistics.median(times[name])
        base = medians["untraced"]
        for name, _ in configs:
            print("  %-16s %7.3f s  ratio %5.2f  (%.0f ns per pair)" % (
                name, medians[name], medians[name] / base,
                1e9 * medians[name] / args.steps))
        if len(set(outputs.values())) != 1:
            print("  WARNING: outputs differ between configurations")
    _, out = cpu_seconds([args.bench, "live", str(args.blocks)], {"LD_PRELOAD": lib})
    print("live: " + out.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
