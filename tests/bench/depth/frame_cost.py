#!/usr/bin/env python3
"""The cost of a recorded frame (a report, never a pass/fail test): runs
deep_alloc (stacks deeper than every depth measured) untraced and under
LD_PRELOAD=libmemsnap.so with MEMSNAP=8, 16, 32, 64, RUNS rounds, the
variants alternating inside each round, and prints the median CPU time
(user + sys of the child) per variant, its ratio to the untraced run, and
the added nanoseconds per allocation and per extra frame against MEMSNAP=8.
Prints `uptime` before and after: the machine is shared. Figures in
docs/commands.md ("Default depth").

usage: frame_cost.py LIBMEMSNAP DEEP_ALLOC [--runs 7] [--steps 1000000] [--depth 80]
"""
import argparse
import os
import statistics
import subprocess

DEPTHS = (8, 16, 32, 64)


def cpu_seconds(argv, env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEMSNAP") and k != "LD_PRELOAD"}
    clean.update(env)
    proc = subprocess.Popen(argv, env=clean, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit("%s failed (status %d)" % (argv[0], status))
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lib")
    parser.add_argument("program")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--steps", type=int, default=1000000)
    parser.add_argument("--depth", type=int, default=80)
    args = parser.parse_args()
    argv = [args.program, str(args.depth), str(args.steps)]
    variants = [("untraced", {})] + [("MEMSNAP=%d" % n, {"LD_PRELOAD": os.path.abspath(args.lib),
                                                         "MEMSNAP": str(n)}) for n in DEPTHS]
    print("uptime before: " + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    times = {name: [] for name, _ in variants}
    for _ in range(args.runs):
        for name, env in variants:
            times[name].append(cpu_seconds(argv, env))
    print("uptime after:  " + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    base = statistics.median(times["untraced"])
    eight = statistics.median(times["MEMSNAP=8"])
    print("%-11s %9s %6s %9s %8s %s" % ("variant", "median s", "ratio", "ns/alloc", "ns/frame",
                                        "min..max s"))
    for name, _ in variants:
        median = statistics.median(times[name])
        per_alloc = (median - base) / args.steps * 1e9
        frames = int(name.split("=")[1]) - 8 if "=" in name else 0
        per_frame = ((median - eight) / args.steps * 1e9 / frames) if frames > 0 else float("nan")
        print("%-11s %9.3f %6.2f %9.0f %8.1f %.3f..%.3f" % (
            name, median, median / base, per_alloc, per_frame, min(times[name]), max(times[name])))


if __name__ == "__main__":
    main()
