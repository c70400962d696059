#!/usr/bin/env python3
"""What a user sees when the runtime ran out of memory for real (issue 13):
tests/c/address_space_probe (small mode) runs under memsnap-gdb with an
address-space limit of its untraced VmPeak + 24 MiB (prlimit as gdb's
exec-wrapper, so only the program is limited); the program prints what it
prints untraced; at its _exit, `memtrace` says it is not tracing, that the
table is truncated, and how many allocations went untraced; gdb saves a core
and memsnap-lldb's `memtrace` on that core says the same.

usage: run_truncated_memtrace.py MEMSNAP_GDB MEMSNAP_LLDB PROBE
"""
import os
import re
import subprocess
import sys
import tempfile

COUNT = "1000000"


def run(argv, **kwargs):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MEMSNAP") and k != "LD_PRELOAD"}
    return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300, **kwargs)


def memtrace_lines(output):
    """The memtrace block of a debugger's output, by its keys."""
    keys = ("tracing:", "truncated:", "untraced allocations:")
    return [line for line in output.splitlines() if line.startswith(keys)]


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    gdb, lldb, probe = (os.path.abspath(p) for p in sys.argv[1:])
    untraced = run([probe, "small", COUNT, "peak"])
    peak_kb = int(re.search(r"^VmPeak (\d+) kB$", untraced.stdout, re.M).group(1))
    program_lines = [l for l in untraced.stdout.splitlines() if not l.startswith("VmPeak")]
    limit = (peak_kb + 24 * 1024) * 1024
    failures = []
    with tempfile.TemporaryDirectory(prefix="memsnap-truncated-") as tmp:
        core = os.path.join(tmp, "probe.core")
        live = run([gdb, "-batch", "-nx", "-ex", f"set exec-wrapper prlimit --as={limit} --",
                    "-ex", "set breakpoint pending on", "-ex", "break _exit", "-ex", "run",
                    "-ex", "memtrace", "-ex", f"gcore {core}", "--args", probe, "small", COUNT],
                   cwd=tmp)
        print(live.stdout)
        for line in program_lines:
            if line not in live.stdout.splitlines():
                failures.append(f"gdb: the program's line {line!r} is missing")
        if "memsnap: out of memory for the trace table" not in live.stdout:
            failures.append("gdb: the runtime did not run out of memory")
        shown = memtrace_lines(live.stdout)
        if (len(shown) != 3 or shown[0] != "tracing: no" or not shown[1].startswith("truncated: yes")
                or not re.fullmatch(r"untraced allocations: [1-9]\d*", shown[2])):
            failures.append(f"gdb memtrace: {shown}")
        from_core = run([lldb, "--batch", "-o", f"target create {probe} --core {core}",
                         "-o", "memtrace"], cwd=tmp)
        print(from_core.stdout)
        if memtrace_lines(from_core.stdout) != shown:
            failures.append(f"lldb memtrace on the core: {memtrace_lines(from_core.stdout)}")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
