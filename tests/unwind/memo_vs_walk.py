#!/usr/bin/env python3
"""The verified walk memo (runtime/walk_memo.c) never answers differently
from a walk: runs programs under the runtime with MEMSNAP_TEST_STATS=2, which
makes the runtime walk again on every memo hit and count the sites that
differ, and checks that the memo was used (hits) and never wrong. The
programs: threads loading and unloading two builds of a library at one
address while forking (stress_reload_fork: the rules' generation must
retire entries of unloaded code), a C++ workload with threads
(cxx_workload), and Debian's python3 with PYTHONMALLOC=malloc. (Not
coreutils: they close stderr before the runtime can print.)

usage: memo_vs_walk.py LIBMEMSNAP STRESS_RELOAD_FORK PLUGIN1 PLUGIN2 CXX_WORKLOAD
"""
import os
import re
import subprocess
import sys

PYTHON_WORK = ("import json, collections\n"
               "d = {str(i): list(range(i % 50)) for i in range(30000)}\n"
               "c = collections.Counter(len(v) for v in d.values())\n"
               "print(len(json.dumps(d)), sorted(c.items())[:3])")


def memo_counts(lib, argv):
    """(hits, wrong) summed over every process the run made."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSNAP")}
    env.update(LD_PRELOAD=lib, MEMSNAP="16", MEMSNAP_UNWIND="dwarf", MEMSNAP_TEST_STATS="2",
               PYTHONMALLOC="malloc")
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=300)
    err = done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise SystemExit("%s exited with %d:\n%s" % (argv[0], done.returncode, err))
    hits = sum(int(n) for n in re.findall(r"walk memo: lookups=\d+ hits=(\d+)", err))
    wrong = [int(n) for n in re.findall(r"wrong=(\d+)", err)]
    if not wrong:
        raise SystemExit("%s: the runtime printed no memo counts:\n%s" % (argv[0], err))
    return hits, sum(wrong)


def main():
    if len(sys.argv) != 6:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    lib, stress, plugin1, plugin2, cxx = sys.argv[1:]
    cases = [("stress_reload_fork", [stress, plugin1, plugin2]),
             ("cxx_workload", [cxx]),
             ("python3", ["/usr/bin/python3", "-c", PYTHON_WORK])]
    failures = 0
    for name, argv in cases:
        hits, wrong = memo_counts(lib, argv)
        ok = hits > 0 and wrong == 0
        failures += not ok
        print("%s %-20s %8d memo hits, %d wrong" % ("ok  " if ok else "FAIL", name, hits, wrong))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
