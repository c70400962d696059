"""Benchmark (by hand, not a test): time of `memsnap` + `memstat` in GDB on 1M live blocks.

Runs many_blocks (1,000,000 live blocks over 10,000 distinct stacks) under
memsnap-gdb, stops at its checkpoint, and times inside gdb the first
`memsnap` (reading the table and symbolizing every PC: nothing is cached
yet), the `memstat` after it, then a second `memsnap` + `memstat` (PC
cache warm), and `memstat -k traceback` (every frame of every stack). Prints one line per figure. Usage:

    /usr/bin/python3 tests/integration/bench/snapshot_time.py [BUILD_DIR] [BLOCKS_PER_STACK]
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

INSIDE_GDB = r'''
import time, gdb
gdb.execute("break checkpoint", to_string=True)
gdb.execute("run", to_string=True)
def timed(command):
    start = time.perf_counter()
    out = gdb.execute(command, to_string=True)
    return time.perf_counter() - start, out
t_snap, snap_out = timed("memsnap first")
t_stat, out = timed("memstat first -n 5")
t_snap2, _ = timed("memsnap second")
t_stat2, _ = timed("memstat second -n 5")
t_tb, _ = timed("memstat first -k traceback -n 5")
status = gdb.execute("memtrace", to_string=True)
print("BENCH first memsnap: %.3f s" % t_snap)
print("BENCH first memstat: %.3f s" % t_stat)
print("BENCH first memsnap + memstat: %.3f s" % (t_snap + t_stat))
print("BENCH second memsnap + memstat: %.3f s" % (t_snap2 + t_stat2))
print("BENCH memstat -k traceback (all frames of every stack): %.3f s" % t_tb)
for line in (snap_out + out + status).splitlines():
    print("BENCH | " + line)
'''


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE_ROOT, "build")
    per_stack = sys.argv[2] if len(sys.argv) > 2 else "100"
    launcher = os.path.join(build, "gdb", "memsnap-gdb")
    program = os.path.join(build, "tests", "integration", "programs", "many_blocks")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(INSIDE_GDB)
    try:
        proc = subprocess.run([launcher, "-batch", "-nx", "-x", script.name,
                               "--args", program, per_stack],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    finally:
        os.unlink(script.name)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("BENCH")]
    print("\n".join(lines) if lines else proc.stdout)
    return 0 if lines else 1


if __name__ == "__main__":
    sys.exit(main())
