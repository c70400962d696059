"""Retention path query benchmark (a report, not a test): memwhere --path on a heap of 1M blocks.

Run inside gdb or lldb with memsnap loaded, stopped in leak_checkpoint() of
tests/bench/scan/leak_heap built with 1M blocks (or with its core open):
    memsnap-gdb -batch -ex 'break leak_checkpoint' -ex 'run 1048576 128' \\
        -ex 'source tests/bench/scan/path_query.py' build/tests/bench/scan/leak_heap
    memsnap-lldb --batch -o 'b leak_checkpoint' -o 'run 1048576 128' \\
        -o 'command script import tests/bench/scan/path_query.py' build/tests/bench/scan/leak_heap
Prints, alternating ROUNDS times, the wall time of a leak check without
paths and of the first path query (the leak check with paths, whose graph
is kept), then the time of QUERIES path queries of random live blocks
after it (the graph reused): median and maximum, and the paths' lengths;
then COMMANDS whole `memwhere ADDR --path` commands (each also reads the
trace table for the block's traceback, starting a new epoch).
"""

import random
import statistics
import time

import memsnap.leaks as leaks
import memsnap.session
from memsnap.leaks.retention_names import retention_path
from memsnap.views import commands

ROUNDS = 3
QUERIES = 200
COMMANDS = 10


def report():
    session = memsnap.session.current
    checks, firsts = [], []
    for _ in range(ROUNDS):
        target = session.target()
        target.cache.clear("stop")
        began = time.monotonic()
        result = leaks.find_leaks(target, symbolizer=session.frames)
        checks.append(time.monotonic() - began)
        target.cache.clear("stop")
        blocks = [b for b in result.blocks(leaks.REACHABLE)]
        began = time.monotonic()
        retention_path(target, blocks[0][0], session.frames)
        firsts.append(time.monotonic() - began)
    chosen = random.Random(7).sample(blocks, min(QUERIES, len(blocks)))
    times, lengths = [], []
    for address, _size, _site in chosen:
        began = time.monotonic()
        path = retention_path(target, address, session.frames)
        times.append(time.monotonic() - began)
        lengths.append(len(path.steps))
    print("target: %s, %d live blocks" % ("live process" if target.is_live() else "core dump",
                                          result.nblocks))
    print("leak check without paths: %s s (median %.2f s)"
          % (", ".join("%.2f" % t for t in checks), statistics.median(checks)))
    print("first path query (leak check with paths): %s s (median %.2f s)"
          % (", ".join("%.2f" % t for t in firsts), statistics.median(firsts)))
    print("%d later path queries: median %.2f ms, max %.2f ms; steps per path: median %d, max %d"
          % (len(times), 1000 * statistics.median(times), 1000 * max(times),
             statistics.median(lengths), max(lengths)))
    whole = []
    for address, _size, _site in chosen[:COMMANDS]:
        began = time.monotonic()
        commands.run("memwhere", "0x%x --path" % address, session.backend)
        whole.append(time.monotonic() - began)
    print("%d memwhere --path commands: median %.2f s, max %.2f s"
          % (len(whole), statistics.median(whole), max(whole)))


def __lldb_init_module(debugger, internal_dict):  # lldb: command script import
    report()


if __name__ == "__main__":  # gdb: source path_query.py
    report()
