"""Leak scan rate benchmark (a report, not a test): memleaks' scan of a heap
of >= 1 GiB, on a core dump and on the live process, under each debugger.

Run inside gdb or lldb with memsnap loaded, stopped in leak_checkpoint() of
tests/bench/scan/leak_heap (or with its core open):
    memsnap-gdb -batch -ex 'break leak_checkpoint' -ex run \\
        -ex 'source tests/bench/scan/scan_rate.py' build/tests/bench/scan/leak_heap
    memsnap-gdb -batch -ex 'source tests/bench/scan/scan_rate.py' \\
        build/tests/bench/scan/leak_heap core
    memsnap-lldb --batch -o 'b leak_checkpoint' -o run \\
        -o 'command script import tests/bench/scan/scan_rate.py' build/tests/bench/scan/leak_heap
Prints the bytes scanned, the wall time of each phase, and the rates:
end to end, and of the C scan alone (excluding the debugger's reads).
"""

import time

import memsnap.leaks as leaks
import memsnap.session
from memsnap.model.format import format_size


def report():
    backend = memsnap.session.current.require_backend()
    began = time.monotonic()
    result = leaks.find_leaks(backend)
    total = time.monotonic() - began
    scanned = result.root_bytes + result.block_bytes
    mib = 1024.0 * 1024.0
    print("target: %s, %d live blocks" % ("live process" if backend.is_live() else "core dump",
                                          result.nblocks))
    print("scanned: %s of roots + %s of block contents = %s"
          % (format_size(result.root_bytes), format_size(result.block_bytes), format_size(scanned)))
    t = result.timings
    for name in ("table", "blocks", "read", "scan", "mark", "summary"):
        cpu = t.get(name + "_cpu")
        print("  %-8s %.3f s wall%s" % (name, t.get(name, 0.0),
                                        ", %.3f s CPU" % cpu if cpu is not None else ""))
    print("total: %.3f s wall, %.3f s CPU of the debugger process" % (total, result.timings["cpu"]))
    print("rate end to end: %.0f MiB/s wall, %.0f MiB/s CPU"
          % (scanned / mib / total, scanned / mib / result.timings["cpu"]))
    print("rate of the C scan + mark: %.0f MiB/s wall, %.0f MiB/s CPU"
          % (scanned / mib / (t["scan"] + t["mark"]), scanned / mib / (t["scan_cpu"] + t["mark_cpu"])))
    for category in leaks.CATEGORIES:
        t = result.totals[category]
        print("%s: %d blocks, %s" % (category, t.count, format_size(t.size)))


def __lldb_init_module(debugger, internal_dict):  # lldb: command script import
    report()


if __name__ == "__main__":  # gdb: source scan_rate.py
    report()
