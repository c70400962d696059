#!/usr/bin/env python3
"""The runtime's benchmark, one command for the whole table (a report, never
a pass/fail test; docs/benchmarks.md shows its output).

1. The allocation churn (tests/bench/churn.c: a ring of 10,000 blocks per
   thread, free + malloc of 16..512 bytes through a 3..11-deep noinline call
   chain, -O2 without frame pointers) and churn_diverse (2 allocation sites
   x 256 call paths), each at 1 and 2 threads, untraced and under the
   runtime (DWARF unwinder at depth 16 and 1; frame pointers on the
   frame-pointer build; sampled at 4 KiB, 64 KiB and 512 KiB), side by side
   with LeakSanitizer (clang -fsanitize=leak, its fast frame-pointer
   unwinder) and heaptrack. Every configuration of one workload runs once
   per round, in a different order each round; each cell is the median
   over the rounds of the CPU time (user + sys of the process and all it
   waited for) divided by the untraced CPU time of the same round, with the
   spread (min-max of those ratios) when it is wide.
2. Runtime bytes per live block at 1,048,576 live blocks (live_blocks):
   its mappings (stacks excluded) plus the 16-byte header of every block.
3. Real programs, untraced and traced (DWARF, depth 16), alternating:
   sqlite3 inserting 200,000 rows with an index, jq filtering a 30 MB JSON
   file, python3 (PYTHONMALLOC=malloc, so that its objects are malloc'd)
   building and dumping a dict, sort on a 1.5 MB file; with the walk memo's
   hit rate for sqlite3 and python3 (MEMSNAP_TEST_STATS=1).

`uptime`'s load is printed before every table: the machine may be shared.

Usage (after `meson compile -C BUILD`):
    python3 tests/bench/run_bench.py BUILD [--rounds 5] [--steps 3000000]
        [--skip heaptrack,lsan,real] [--quick] [--against BUILD2]
        [--only REGEX] [--columns REGEX]
`--only` keeps the churn configurations whose names match (and the untraced
ones), `--columns` the churn columns whose titles match: a focused
before/after, e.g. `--against BUILD2 --only sampled --columns "churn, 1"`.
"""
import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SPREAD_WARNING = 1.25  # max/min ratio above which the spread is printed


def uptime():
    return subprocess.run(["uptime"], stdout=subprocess.PIPE, text=True).stdout.strip()


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MEMSNAP") and k != "LD_PRELOAD"}
    env.update(extra)
    return env


class RunFailed(Exception):
    pass


def cpu_seconds(argv, env, stdin_path=None, cwd=None):
    """CPU seconds (user + sys) of a run and of everything it waited for."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(argv, env=env, stdin=stdin, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, cwd=cwd)
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.stderr.close()
    finally:
        if stdin_path:
            stdin.close()
    if status != 0:
        last = err.decode(errors="replace").strip().splitlines()[-3:]
        raise RunFailed("%s: status %d: %s" % (os.path.basename(argv[0]), status, " / ".join(last)))
    return usage.ru_utime + usage.ru_stime


def ratio_cell(ratios):
    if not ratios:
        return "failed"
    mid = statistics.median(ratios)
    low, high = min(ratios), max(ratios)
    cell = "%.2f×" % mid
    if low > 0 and high / low > SPREAD_WARNING:
        cell += " (%.2f–%.2f)" % (low, high)
    return cell


def alternate(configs, rounds, rng, failures):
    """{name: [ratio per round]}: each round runs every config once, in a
    shuffled order; ratios are to the round's "untraced" run. A config that
    fails (a peer crashing) is dropped, its error kept in failures."""
    ratios = {name: [] for name, _ in configs}
    base_seconds = []
    for _ in range(rounds):
        order = [c for c in configs if c[0] not in failures]
        rng.shuffle(order)
        seconds = {}
        for name, run in order:
            try:
                seconds[name] = run()
            except RunFailed as err:
                if name == "untraced":
                    raise SystemExit(str(err))
                failures[name] = str(err)
        base = seconds["untraced"]
        base_seconds.append(base)
        for name in seconds:
            if name not in failures:
                ratios[name].append(seconds[name] / base)
    for name in failures:
        ratios[name] = []
    return ratios, base_seconds


# ---- 1. the churn ----

def build_lsan(workdir):
    if not shutil.which("clang"):
        return None
    out = os.path.join(workdir, "churn_lsan")
    subprocess.run(["clang", "-O2", "-fomit-frame-pointer", "-fsanitize=leak", "-o", out,
                    os.path.join(HERE, "churn.c"), "-lpthread"], check=True)
    return out


def churn_configs(build, lib, workdir, skip, lsan, steps, threads, diverse, against=None):
    churn = os.path.join(build, "tests", "bench", "churn")
    churn_fp = os.path.join(build, "tests", "bench", "churn_fp")
    args = [str(steps), str(threads)] + (["diverse"] if diverse else [])

    def run(binary, **env):
        return lambda: cpu_seconds([binary] + args, clean_env(**env))

    def traced(binary, **env):
        return run(binary, LD_PRELOAD=lib, **env)

    configs = [("untraced", run(churn)),
               ("memsnap dwarf, depth 16", traced(churn, MEMSNAP="16", MEMSNAP_UNWIND="dwarf")),
               ("memsnap dwarf, depth 1", traced(churn, MEMSNAP="1", MEMSNAP_UNWIND="dwarf")),
               ("untraced, fp build", run(churn_fp)),
               ("memsnap fp, depth 16 (fp build)", traced(churn_fp, MEMSNAP="16", MEMSNAP_UNWIND="fp")),
               ("memsnap fp, depth 1 (fp build)", traced(churn_fp, MEMSNAP="1", MEMSNAP_UNWIND="fp"))]
    for kib in (4, 64, 512):
        configs.append(("memsnap sampled %d KiB" % kib,
                        traced(churn, MEMSNAP="16", MEMSNAP_SAMPLE=str(kib * 1024))))
    if against:
        # the same configurations of another build's runtime, on this
        # build's churn programs, in the same rounds
        other = os.path.join(against, "runtime", "libmemsnap.so")

        def other_traced(binary, **env):
            return run(binary, LD_PRELOAD=other, **env)

        configs += [(name + " [against]", other_traced(binary, **env)) for name, binary, env in (
            ("memsnap dwarf, depth 16", churn, dict(MEMSNAP="16", MEMSNAP_UNWIND="dwarf")),
            ("memsnap dwarf, depth 1", churn, dict(MEMSNAP="1", MEMSNAP_UNWIND="dwarf")),
            ("memsnap fp, depth 16 (fp build)", churn_fp, dict(MEMSNAP="16", MEMSNAP_UNWIND="fp")),
            ("memsnap sampled 64 KiB", churn, dict(MEMSNAP="16", MEMSNAP_SAMPLE="65536")),
            ("memsnap sampled 512 KiB", churn, dict(MEMSNAP="16", MEMSNAP_SAMPLE="524288")))]
    if lsan and "lsan" not in skip:
        configs.append(("LeakSanitizer", run(lsan, LSAN_OPTIONS="detect_leaks=1")))
    if shutil.which("heaptrack") and "heaptrack" not in skip:
        out = os.path.join(workdir, "heaptrack.out")
        configs.append(("heaptrack", lambda: cpu_seconds(
            ["heaptrack", "-o", out, churn] + args, clean_env())))
    return configs


def churn_table(build, lib, workdir, skip, rounds, steps, rng, against=None, only=None,
                column_filter=None):
    lsan = build_lsan(workdir) if "lsan" not in skip else None
    columns = [("churn, 1 thread", 1, False), ("churn, 2 threads", 2, False),
               ("churn_diverse, 1 thread", 1, True), ("churn_diverse, 2 threads", 2, True)]
    columns = [c for c in columns if not column_filter or re.search(column_filter, c[0])]
    results, names, baselines, failed = {}, None, {}, {}
    for title, threads, diverse in columns:
        configs = churn_configs(build, lib, workdir, skip, lsan, steps, threads, diverse, against)
        configs = [c for c in configs
                   if not only or c[0].startswith("untraced") or re.search(only, c[0])]
        names = [n for n, _ in configs]
        failures = {}
        results[title], baselines[title] = alternate(configs, rounds, rng, failures)
        for name, err in failures.items():
            failed["%s, %s" % (name, title)] = err
    print("\n## Churn: CPU time × untraced (median of %d rounds; %d steps per thread)\n"
          % (rounds, steps))
    print("| configuration | " + " | ".join(t for t, _, _ in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name in names:
        fp_row = "fp build" in name
        cells = []
        for title, _, _ in columns:
            ratios = results[title][name]
            if fp_row and not name.startswith("untraced, fp build") and ratios:
                base = results[title]["untraced, fp build"]
                ratios = [r / b for r, b in zip(ratios, base)]
            cells.append(ratio_cell(ratios))
        print("| %s | %s |" % (name, " | ".join(cells)))
    print("| untraced CPU seconds | %s |" % " | ".join(
        "%.2f" % statistics.median(baselines[t]) for t, _, _ in columns))
    print("\nFrame-pointer rows are relative to the untraced frame-pointer build. "
          "2-thread columns are relative to the untraced 2-thread run.")
    if against:
        print("Rows marked [against] are the runtime of %s, run in the same rounds." % against)
    for where, err in failed.items():
        print("\nfailed: %s: %s" % (where, err))


# ---- 2. memory per live block ----

def memory_table(build, lib):
    bench = os.path.join(build, "tests", "bench", "live_blocks")
    out = subprocess.run([bench, "1048576"], env=clean_env(LD_PRELOAD=lib, MEMSNAP="16"),
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    print("\n## Runtime memory at 1,048,576 live blocks\n")
    print("```\n" + out.strip() + "\n```")


# ---- 3. real programs ----

def make_inputs(root):
    rng = random.Random(7)
    sql = os.path.join(root, "insert.sql")
    with open(sql, "w") as f:
        f.write("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);\n"
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200000)\n"
                "INSERT INTO t SELECT i, printf('row %d %s', i, hex(randomblob(16))), i * 0.5 FROM n;\n"
                "CREATE INDEX tb ON t(b);\n"
                "SELECT count(*), sum(c) FROM t WHERE b LIKE 'row 1%';\n")
    js = os.path.join(root, "big.json")
    with open(js, "w") as f:
        f.write("[")
        for i in range(300000):
            f.write('%s{"n": %d, "s": "%s", "t": [%d, %d]}' % (
                "," if i else "", i, "".join(rng.choice("abcdef") for _ in range(40)),
                rng.randrange(1000), rng.randrange(1000)))
        f.write("]\n")
    text = os.path.join(root, "lines.txt")
    with open(text, "w") as f:
        for _ in range(120000):
            f.write("%08x %s\n" % (rng.getrandbits(32), "z" * rng.randrange(20)))
    py = ("import json, collections\n"
          "d = {str(i): list(range(i % 50)) for i in range(150000)}\n"
          "c = collections.Counter(len(v) for v in d.values())\n"
          "print(len(json.dumps(d)), sorted(c.items())[:3])\n")
    return {"sqlite3": (["sqlite3", os.path.join(root, "db.sqlite")], sql, {}),
            "jq": (["jq", "[.[] | select(.n % 3 == 0) | {k: .s, v: (.t | add)}] | length", js],
                   None, {}),
            "python3": (["/usr/bin/python3", "-c", py], None, {"PYTHONMALLOC": "malloc"}),
            "sort": (["sort", text], None, {})}


def memo_rate(lib, argv, stdin_path, env, root):
    done = subprocess.run(argv, env=clean_env(LD_PRELOAD=lib, MEMSNAP="16", MEMSNAP_TEST_STATS="1",
                                              **env),
                          stdin=open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=root)
    m = re.search(r"lookups=(\d+) hits=(\d+)", done.stderr)
    b = re.search(r"bypassed=(\d+)", done.stderr)
    if not m:
        return "-"
    walks = int(m.group(1)) + int(b.group(1) if b else 0)
    return "%.1f%% of %d walks" % (100.0 * int(m.group(2)) / max(walks, 1), walks)


def real_table(lib, rounds, rng):
    print("\n## Real programs: CPU time traced (DWARF, depth 16) × untraced "
          "(median of %d rounds)\n" % rounds)
    print("| program | untraced CPU s | traced × untraced | walk memo hits |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="memsnap-bench-") as root:
        for name, (argv, stdin_path, env) in make_inputs(root).items():
            if not shutil.which(argv[0]):
                print("| %s | not installed | | |" % name)
                continue

            def run(traced):
                if name == "sqlite3" and os.path.exists(argv[1]):
                    os.unlink(argv[1])
                extra = dict(env, LD_PRELOAD=lib, MEMSNAP="16") if traced else env
                return cpu_seconds(argv, clean_env(**extra), stdin_path, cwd=root)

            configs = [("untraced", lambda: run(False)), ("traced", lambda: run(True))]
            ratios, base = alternate(configs, rounds, rng, {})
            rate = "-"
            if name in ("sqlite3", "python3"):
                if name == "sqlite3" and os.path.exists(argv[1]):
                    os.unlink(argv[1])
                rate = memo_rate(lib, argv, stdin_path, env, root)
            print("| %s | %.2f | %s | %s |" % (name, statistics.median(base),
                                                ratio_cell(ratios["traced"]), rate))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", help="meson build directory")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3000000)
    ap.add_argument("--skip", default="", help="comma-separated: heaptrack,lsan,churn,memory,real")
    ap.add_argument("--quick", action="store_true", help="2 rounds, 500,000 steps")
    ap.add_argument("--only", metavar="REGEX",
                    help="only the churn configurations whose names match (and the untraced ones)")
    ap.add_argument("--columns", metavar="REGEX",
                    help="only the churn columns whose titles match")
    ap.add_argument("--against", metavar="BUILD2",
                    help="also run the memsnap rows with BUILD2's runtime (a before/after "
                         "in the same rounds)")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.steps = 2, 500000
    skip = set(filter(None, args.skip.split(",")))
    build = os.path.abspath(args.build)
    lib = os.path.join(build, "runtime", "libmemsnap.so")
    rng = random.Random(2026)
    print("# memsnap runtime benchmark\n")
    print("machine: %s, %d cores" % (re.sub(r"\s+", " ", open("/proc/cpuinfo").read().split(
        "model name")[1].split(":")[1].split("\n")[0].strip()), os.cpu_count()))
    with tempfile.TemporaryDirectory(prefix="memsnap-bench-") as workdir:
        if "churn" not in skip:
            print("\nload before the churn: " + uptime())
            churn_table(build, lib, workdir, skip, args.rounds, args.steps, rng,
                        os.path.abspath(args.against) if args.against else None,
                        args.only, args.columns)
            print("\nload after: " + uptime())
    if "memory" not in skip:
        memory_table(build, lib)
    if "real" not in skip:
        print("\nload before the real programs: " + uptime())
        real_table(lib, args.rounds, rng)
        print("\nload after: " + uptime())
    return 0


if __name__ == "__main__":
    sys.exit(main())
