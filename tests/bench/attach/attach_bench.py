#!/usr/bin/env python3
"""The attach benchmark (docs/production.md): what attaching costs, and the hot path after it.

  python3 tests/bench/attach/attach_bench.py BUILD [--blocks N] [--rounds R] [--steps S]

1. Attach time: hold_blocks N (started without the runtime, N live blocks
   of 32 bytes) is attached by memsnap-gdb -p and memsnap-lldb -p; the
   debugger times `memtrace start` (dlopen of libmemsnap.so, the GOT
   rewrite of every module, the start) with its own clock, and the script
   the whole debugger run (attach, symbols, memtrace start, detach).
   N live blocks and 0, alternating, R rounds, medians.
2. Hot path after the attach: callgrind instruction counts of the churn
   (tests/bench/churn.c, S steps, 1 thread, DWARF, depth 16) untraced,
   preloaded, and attached the way a debugger attaches (attach_self.c:
   dlopen + memsnap_attach from a constructor, as callgrind cannot follow
   a debugger), also with glibc's optional static TLS set to 0, which
   forces the runtime's TLS into dynamic TLS (the worst case: a process
   whose static TLS surplus other libraries used up).
Prints `uptime`'s load before and after. A report, never a test.
"""

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LD_PRELOAD", "MEMSNAP", "GLIBC_TUNABLES"))}
    env.update(extra)
    return env


def debugger_argv(build, debugger, pid):
    start = "import time; t0 = time.perf_counter()"
    stop = "print('memtrace-start %.4f' % (time.perf_counter() - t0))"
    if debugger == "gdb":
        return [os.path.join(build, "gdb", "memsnap-gdb"), "-p", str(pid), "-batch",
                "-ex", "python " + start, "-ex", "memtrace start", "-ex", "python " + stop,
                "-ex", "detach"]
    return [os.path.join(build, "lldb", "memsnap-lldb"), "-p", str(pid), "--batch",
            "-o", "script " + start, "-o", "memtrace start", "-o", "script " + stop,
            "-o", "process detach"]


def attach_once(build, debugger, blocks):
    """(memtrace start seconds, whole debugger run seconds)."""
    target = subprocess.Popen([os.path.join(build, "tests", "bench", "attach", "hold_blocks"),
                               str(blocks)], stdout=subprocess.PIPE, env=clean_env())
    try:
        assert target.stdout.readline() == b"ready\n"
        began = time.perf_counter()
        done = subprocess.run(debugger_argv(build, debugger, target.pid), env=clean_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        whole = time.perf_counter() - began
        text = done.stdout.decode(errors="replace")
        found = re.search(r"memtrace-start (\d+\.\d+)", text)
        if not found or "tracing started" not in text:
            raise SystemExit("%s: attach failed:\n%s" % (debugger, text[-2000:]))
        return float(found.group(1)), whole
    finally:
        target.kill()
        target.wait()


def attach_times(build, blocks, rounds):
    print("1. attach: memtrace start on hold_blocks (no runtime), medians of %d rounds" % rounds)
    print("%-6s %12s %22s %22s" % ("", "live blocks", "memtrace start (s)", "whole run (s)"))
    for debugger in ("gdb", "lldb"):
        runs = {n: [] for n in (blocks, 0)}
        for _ in range(rounds):
            for n in runs:
                runs[n].append(attach_once(build, debugger, n))
        for n, samples in runs.items():
            starts = [s for s, _ in samples]
            wholes = [w for _, w in samples]
            print("%-6s %12d %13.3f [%.3f-%.3f] %13.3f [%.3f-%.3f]" % (
                debugger, n, statistics.median(starts), min(starts), max(starts),
                statistics.median(wholes), min(wholes), max(wholes)))


def instructions(argv, env):
    with tempfile.TemporaryDirectory(prefix="memsnap-attach-bench-") as tmp:
        out = os.path.join(tmp, "callgrind.out")
        done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
                              + argv, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=3600)
        found = re.search(rb"I\s+refs:\s+([\d,]+)", done.stderr)
        if done.returncode or not found:
            raise SystemExit("callgrind failed: %s" % done.stderr.decode(errors="replace")[-2000:])
        return int(found.group(1).replace(b",", b""))


def hot_path(build, steps):
    lib = os.path.join(build, "runtime", "libmemsnap.so")
    shim = os.path.join(build, "tests", "bench", "attach", "libattach_self.so")
    churn = [os.path.join(build, "tests", "bench", "churn"), str(steps), "1"]
    attached = dict(LD_PRELOAD=shim, MEMSNAP_ATTACH_RUNTIME=lib, MEMSNAP_UNWIND="dwarf")
    configs = [
        ("untraced", clean_env()),
        ("preloaded (MEMSNAP=16)", clean_env(LD_PRELOAD=lib, MEMSNAP="16", MEMSNAP_UNWIND="dwarf")),
        ("attached (dlopen + memsnap_attach)", clean_env(**attached)),
        ("attached, dynamic TLS (worst case)",
         clean_env(GLIBC_TUNABLES="glibc.rtld.optional_static_tls=0", **attached)),
    ]
    print("2. hot path: callgrind instructions, churn %d steps, 1 thread, DWARF, depth 16" % steps)
    counts = [(name, instructions(churn, env)) for name, env in configs]
    base, preloaded = counts[0][1], counts[1][1]
    for name, count in counts:
        print("%-36s %14d  %5.2fx untraced  %+6.1f%% vs preloaded" % (
            name, count, count / base, 100.0 * (count - preloaded) / preloaded))


def load():
    return subprocess.run(["uptime"], stdout=subprocess.PIPE).stdout.decode().strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build")
    parser.add_argument("--blocks", type=int, default=1000000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200000)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    print("load before:", load())
    attach_times(build, args.blocks, args.rounds)
    hot_path(build, args.steps)
    print("load after:", load())


if __name__ == "__main__":
    main()
