#!/usr/bin/env python3
"""Peer benchmark: memsnap against the untraced program and its peers, run in
one go on this machine. Builds the allocation churn (churn.c, -O2 without
frame pointers; a LeakSanitizer build with clang -fsanitize=leak) and the
unwinder microbenchmark (unwind_ns_per_frame.c), runs each configuration
single-threaded and with 2 threads, RUNS times, and prints the median CPU
time (user+sys of the process and everything it waited for), its ratio to
the untraced run, the median wall time, the peak RSS, the 2-thread/1-thread
throughput ratio (from wall times: meaningful only on an otherwise idle
machine with 2 free cores) and the 2-thread/1-thread CPU time per
operation (1.00 = no contention between the threads), then the unwinders'
nanoseconds per frame (warm; for DWARF also in code without frame pointers). Valgrind
runs STEPS/VALGRIND_SCALE steps and is compared with the untraced program at
that same step count. A report, not a test: nothing here passes or fails.

Usage (from the source tree, after `meson compile -C BUILD`):
    python3 tests/bench/peers/run_peers.py --build build-unwind [--runs 5]
        [--steps 5000000] [--valgrind-scale 20] [--skip heaptrack,valgrind]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
NO_FP = ["-O2", "-g", "-fomit-frame-pointer"]


def build(workdir):
    """Compiles the workload and the microbenchmark; returns their paths."""
    churn_c = os.path.join(HERE, "churn.c")
    out = {"churn": os.path.join(workdir, "churn"),
           "churn_lsan": os.path.join(workdir, "churn_lsan"),
           "harness": os.path.join(workdir, "libunwind_bench.so"),
           "ns_per_frame": os.path.join(workdir, "unwind_ns_per_frame"),
           "ns_per_frame_nofp": os.path.join(workdir, "unwind_ns_per_frame_nofp")}
    run = lambda cmd: subprocess.run(cmd, check=True)
    run(["gcc"] + NO_FP + ["-o", out["churn"], churn_c, "-lpthread"])
    if shutil.which("clang"):
        run(["clang"] + NO_FP + ["-fsanitize=leak", "-o", out["churn_lsan"], churn_c,
                                 "-lpthread"])
    runtime = os.path.join(SOURCE_ROOT, "runtime")
    run(["gcc", "-O2", "-fPIC", "-shared", "-fno-omit-frame-pointer",
         "-iquote", runtime, "-I", os.path.join(SOURCE_ROOT, "include"),
         "-o", out["harness"], os.path.join(runtime, "unwind_dwarf.c"),
         os.path.join(runtime, "unwind_fp.c"),
         os.path.join(SOURCE_ROOT, "tests", "unwind", "unwind_harness.c"),
         os.path.join(HERE, "harness_fp_tls.c"),
         "-ldw", "-lelf", "-ldl", "-lpthread"])
    run(["gcc", "-O2", "-fno-omit-frame-pointer", "-iquote", runtime, "-o", out["ns_per_frame"],
         os.path.join(HERE, "unwind_ns_per_frame.c"), out["harness"],
         "-Wl,-rpath," + workdir])
    # The same recursion without frame pointers: the DWARF unwinder's
    # common case in such code (CFA = rsp + offset); fp cannot walk it.
    run(["gcc", "-O2", "-fomit-frame-pointer", "-iquote", runtime, "-o",
         out["ns_per_frame_nofp"], os.path.join(HERE, "unwind_ns_per_frame.c"),
         out["harness"], "-Wl,-rpath," + workdir])
    return out


def measure(argv, env, scratch):
    """(cpu seconds, wall seconds, peak RSS KiB) of one run. GNU time does
    the waiting: its own child starts small, so the peak RSS is the
    program's (and its helpers'), not this interpreter's."""
    report = os.path.join(scratch, "time.out")
    proc = subprocess.run(["/usr/bin/time", "-q", "-f", "%e %U %S %M", "-o", report] + argv,
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError("%s exited with %d" % (" ".join(argv), proc.returncode))
    with open(report) as f:
        wall, user, system, rss = f.read().split()[-4:]
    return float(user) + float(system), float(wall), int(rss)


def configurations(bins, lib, workdir, skip):
    """name -> function(steps, threads) -> (argv, env)."""
    base = dict(os.environ)
    for key in ("LD_PRELOAD", "MEMSNAP", "MEMSNAP_UNWIND"):
        base.pop(key, None)

    def plain(steps, threads):
        return [bins["churn"], str(steps), str(threads)], base

    def memsnap(unwinder):
        def make(steps, threads):
            env = dict(base, LD_PRELOAD=lib, MEMSNAP_UNWIND=unwinder)
            return [bins["churn"], str(steps), str(threads)], env
        return make

    def lsan(steps, threads):
        return [bins["churn_lsan"], str(steps), str(threads)], base

    def heaptrack(steps, threads):
        return (["heaptrack", "-o", os.path.join(workdir, "heaptrack.out"), bins["churn"],
                 str(steps), str(threads)], base)

    def valgrind(steps, threads):
        return (["valgrind", "--tool=memcheck", "--leak-check=no", "--quiet", bins["churn"],
                 str(steps), str(threads)], base)

    configs = [("untraced", plain), ("memsnap (dwarf)", memsnap("dwarf")),
               ("memsnap (fp)", memsnap("fp"))]
    if os.path.exists(bins["churn_lsan"]):
        configs.append(("LeakSanitizer", lsan))
    if shutil.which("heaptrack"):
        configs.append(("heaptrack", heaptrack))
    if shutil.which("valgrind"):
        configs.append(("valgrind memcheck", valgrind))
    return [(n, f) for n, f in configs if n.split()[0].lower() not in skip]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True, help="meson build directory (has runtime/libmemsnap.so)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=5_000_000, help="malloc/free pairs per thread")
    ap.add_argument("--valgrind-scale", type=int, default=20)
    ap.add_argument("--skip", default="", help="comma-separated: heaptrack,valgrind,leaksanitizer")
    args = ap.parse_args()
    lib = os.path.abspath(os.path.join(args.build, "runtime", "libmemsnap.so"))
    if not os.path.exists(lib):
        sys.exit("run_peers: no %s (build first)" % lib)
    skip = {s.strip().lower() for s in args.skip.split(",") if s.strip()}

    workdir = tempfile.mkdtemp(prefix="memsnap-peers-")
    try:
        bins = build(workdir)
        configs = configurations(bins, lib, workdir, skip)
        small = max(1, args.steps // args.valgrind_scale)
        results = {}  # (name, threads) -> (cpu, wall, rss, steps)
        baseline_small = {}
        for threads in (1, 2):
            for name, make in configs:
                steps = small if name.startswith("valgrind") else args.steps
                samples = [measure(*make(steps, threads), workdir) for _ in range(args.runs)]
                results[name, threads] = (statistics.median(s[0] for s in samples),
                                          statistics.median(s[1] for s in samples),
                                          max(s[2] for s in samples), steps)
                print("  measured %-18s %d thread(s): cpu %.2fs" % (name, threads,
                      results[name, threads][0]), file=sys.stderr)
            if any(n.startswith("valgrind") for n, _ in configs):
                plain = dict(configs)["untraced"]
                samples = [measure(*plain(small, threads), workdir) for _ in range(args.runs)]
                baseline_small[threads] = (statistics.median(s[0] for s in samples),
                                           statistics.median(s[1] for s in samples))

        npf = subprocess.run([bins["ns_per_frame"], "32", "200000"], capture_output=True,
                             text=True, check=True).stdout
        npf_nofp = subprocess.run([bins["ns_per_frame_nofp"], "32", "200000"],
                                  capture_output=True, text=True, check=True).stdout
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print("allocation churn: %d malloc/free pairs per thread, ~10k live, 15-frame stacks, "
          "-O2 without frame pointers; median of %d runs; valgrind at 1/%d of the steps"
          % (args.steps, args.runs, args.valgrind_scale))
    print("load average at the end: %.2f %.2f %.2f (wall times and throughput need idle cores)"
          % os.getloadavg())
    print("%-18s %7s %8s %8s %8s %10s %12s %12s" % ("tool", "threads", "cpu s", "x cpu", "wall s",
                                                   "peak MiB", "2T/1T thrpt", "2T cpu/op"))
    for threads in (1, 2):
        for name, _ in configs:
            cpu, wall, rss, steps = results[name, threads]
            if name.startswith("valgrind"):
                ratio = cpu / baseline_small[threads][0]
            else:
                ratio = cpu / results["untraced", threads][0]
            c1, w1, _, s1 = results[name, 1]
            c2, w2, _, s2 = results[name, 2]
            scaling = (2 * s2 / w2) / (s1 / w1)
            cpu_per_op = (c2 / (2 * s2)) / (c1 / s1)
            print("%-18s %7d %8.2f %8.2f %8.2f %10.1f %12s %12s" % (
                name, threads, cpu, ratio, wall, rss / 1024.0,
                "%.2f" % scaling if threads == 2 else "",
                "%.2f" % cpu_per_op if threads == 2 else ""))
    dw = results.get(("memsnap (dwarf)", 1))
    ht = results.get(("heaptrack", 1))
    if dw and ht:
        print("heaptrack / memsnap (dwarf) cpu, 1 thread: %.1fx" % (ht[0] / dw[0]))
    for line in npf.splitlines():
        m = re.match(r"(\w+) ([\d.]+) ns/frame \((\d+) frames\)", line)
        if m:
            print("unwinder %-5s %6s ns per frame, warm (%s frames deep)" % m.groups())
    for line in npf_nofp.splitlines():
        m = re.match(r"(dwarf) ([\d.]+) ns/frame \((\d+) frames\)", line)
        if m:
            print("unwinder %-5s %6s ns per frame, warm (%s frames deep, "
                  "code without frame pointers)" % m.groups())


if __name__ == "__main__":
    main()
