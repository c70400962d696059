"""Fuzz memsnap in real debuggers with mutated core dumps (issue 13): a bounded, seeded sample.

Runs waste_memory under memsnap-gdb to its "after" checkpoint and writes a
gcore. The core's table is captured through a pure backend over the core's
PT_LOAD segments (table_mutants.py), its mutants are made the same way as
fuzz_reader.py's, and a seeded sample of them is written into copies of
the core file (a patch lands at its file offset; a cut truncates the core
there). Each copy is opened by `memsnap-gdb -batch` and `memsnap-lldb
--batch`, which run memtrace, memstat and memsnap on it. A debugger that
crashes, hangs past TIME_LIMIT, or shows a Python traceback or an internal
error fails the test; printing statistics or one error line passes. The
log gets per debugger: tried, statistics shown, refused.
Usage: fuzz_cores.py BUILD_DIR [--seed S] [--sample N]
(MEMSNAP_FUZZ_SAMPLE sets N for longer runs; default 12 per debugger.)
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

from elftools.elf.elffile import ELFFile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, "python"), os.path.join(ROOT, "tests", "support"), HERE]

from fake_target import FakeBackend                      # noqa: E402
from table_mutants import TableCapture, mutants          # noqa: E402

TIME_LIMIT = 60
COMMANDS = ["memtrace", "memstat -n 3", "memsnap fuzzed"]
BAD_SIGNS = ("Traceback (most recent call last)", "internal error")


def make_core(build, work):
    """(program, core path, address of memsnap_root) of a gcore of waste_memory."""
    program = os.path.join(build, "tests", "programs", "waste_memory")
    core = os.path.join(work, "waste.core")
    out = subprocess.run(
        [os.path.join(build, "gdb", "memsnap-gdb"), "-batch", "-ex", "break checkpoint",
         "-ex", "run", "-ex", "continue", "-ex", "gcore " + core,
         "-ex", 'python print("ROOT=%d" % int(gdb.parse_and_eval("&memsnap_root")))', program],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIME_LIMIT)
    roots = [line for line in out.stdout.splitlines() if line.startswith("ROOT=")]
    if not roots or not os.path.exists(core):
        raise SystemExit("no gcore made:\n" + out.stdout[-2000:] + out.stderr[-2000:])
    return program, core, int(roots[0][5:])


def core_segments(path):
    """[(vaddr, file offset, bytes)] of the core's PT_LOAD segments with bytes."""
    with open(path, "rb") as handle:
        elf = ELFFile(handle)
        found = []
        for segment in elf.iter_segments():
            if segment["p_type"] == "PT_LOAD" and segment["p_filesz"]:
                found.append((segment["p_vaddr"], segment["p_offset"], segment.data()))
    return found


def library_segments(library, root):
    """{address: bytes} of libmemsnap.so's loadable segments where the core's
    process had them (the core holds only their written pages; the field
    table is in read-only data), placed by memsnap_root's address."""
    with open(library, "rb") as handle:
        elf = ELFFile(handle)
        symbol = elf.get_section_by_name(".dynsym").get_symbol_by_name("memsnap_root")[0]
        base = root - symbol["st_value"]
        return {base + segment["p_vaddr"]: segment.data() for segment in elf.iter_segments()
                if segment["p_type"] == "PT_LOAD" and segment["p_filesz"]}


def file_offset(segments, address):
    for vaddr, offset, data in segments:
        if vaddr <= address < vaddr + len(data):
            return offset + address - vaddr
    return None


def write_mutant(core, segments, patch, path):
    offset = file_offset(segments, patch[1])
    if offset is None:
        return False
    with open(core, "rb") as handle:
        data = bytearray(handle.read())
    if patch[0] == "write":
        data[offset:offset + len(patch[2])] = patch[2]
    else:
        del data[offset:]
    with open(path, "wb") as handle:
        handle.write(data)
    return True


def run_debugger(build, debugger, program, core):
    if debugger == "gdb":
        argv = [os.path.join(build, "gdb", "memsnap-gdb"), "-batch"]
        for command in COMMANDS:
            argv += ["-ex", command]
        argv += [program, core]
    else:
        argv = [os.path.join(build, "lldb", "memsnap-lldb"), "--batch", "-c", core]
        for command in COMMANDS:
            argv += ["-o", command]
        argv += [program]
    try:
        out = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             errors="replace", timeout=TIME_LIMIT)
    except subprocess.TimeoutExpired:
        return "hang", "no answer within %d s" % TIME_LIMIT
    text = out.stdout + out.stderr
    if out.returncode < 0:
        return "crash", "killed by signal %d" % -out.returncode
    for sign in BAD_SIGNS:
        if sign in text:
            at = text.index(sign)
            return "bad", text[max(0, at - 300):at + 700]
    return ("statistics" if ": size=" in text else "refused"), ""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--sample", type=int,
                        default=int(os.environ.get("MEMSNAP_FUZZ_SAMPLE", "12")))
    options = parser.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory() as work:
        program, core, root = make_core(options.build, work)
        segments = core_segments(core)
        memory = {v: d for v, _, d in segments}       # the core's bytes come first
        for address, data in library_segments(
                os.path.join(options.build, "runtime", "libmemsnap.so"), root).items():
            memory.setdefault(address, data)
        backend = FakeBackend(segments=memory, symbols={"memsnap_root": root}, live=False)
        capture = TableCapture(backend)
        rng = random.Random(options.seed)
        every = list(mutants(capture, options.seed, 200))
        sample = [("pristine", None)] + rng.sample(every, min(options.sample, len(every)))
        print("seed %d; %d mutants of the core's table, %d sampled" % (options.seed, len(every),
                                                                      len(sample) - 1))
        for debugger in ("gdb", "lldb"):
            began = time.monotonic()
            counts = {}
            for index, (name, patch) in enumerate(sample):
                path = os.path.join(work, "m%d.core" % index)
                if patch is None:
                    path = core
                elif not write_mutant(core, segments, patch, path):
                    continue
                outcome, detail = run_debugger(options.build, debugger, program, path)
                counts[outcome] = counts.get(outcome, 0) + 1
                if outcome not in ("statistics", "refused") or (patch is None and
                                                                outcome != "statistics"):
                    failures += 1
                    print("  FAIL %s, %s: %s %s" % (debugger, name, outcome, detail))
                if path != core:
                    os.unlink(path)
            print("%s (%.0f s): %d cores tried: %s" % (
                debugger, time.monotonic() - began, sum(counts.values()),
                ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
