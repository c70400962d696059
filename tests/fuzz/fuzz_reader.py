"""Fuzz the pure reader and the snapshot file loader with mutants of a real table (issue 13).

Starts tests/unit/python/programs/stop_after_waste under the runtime (it
stops itself holding 20,101 blocks), captures the bytes the reader reads
through /proc (table_mutants.py), then for every mutant runs what a user
runs, over a fake backend holding the mutant's bytes (a core-like target:
nothing is written): memtrace, memstat by line and by traceback, memsnap
and memwhere. Then mutants of a compact snapshot file of the same table
are loaded and shown: bytes flipped, zeroed or cut anywhere, and the
decompressed metadata and block arrays changed with the file rebuilt
around them, so that the loader's own checks are reached. Each must give its output or one MemsnapError line
within TIME_LIMIT seconds, under a MEMORY_CAP address-space limit; any
other exception, a hang, or running out of memory is a failure, printed
with the mutant's name and the seed. The log gets the counts: tried,
clean, refused (by message kind). Exit status 0 when none failed.
Usage: fuzz_reader.py [--seed S] [--random N]
(MEMSNAP_FUZZ_RANDOM sets N for longer runs; default 400.)
"""

import argparse
import collections
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, "python"), os.path.join(ROOT, "tests", "support"), HERE]

from fake_target import FakeBackend                      # noqa: E402
from procfs_backend import ProcfsBackend                 # noqa: E402
from memsnap import Snapshot, session                    # noqa: E402
from memsnap.errors import MemsnapError                  # noqa: E402
from memsnap.model import snapshot_file                  # noqa: E402
from memsnap.target.backend import Location              # noqa: E402
from memsnap.views import commands                       # noqa: E402
from table_mutants import TableCapture, apply, mutants   # noqa: E402

TIME_LIMIT = 10
MEMORY_CAP = 3 << 30
COMMANDS = [("memtrace", ""), ("memstat", "-n 3"), ("memstat", "-k traceback -n 1"),
            ("memsnap", "fuzzed"), ("memwhere", None)]


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def locate(address):
    return [Location("f%x" % (address & 0xFFF), "/src/fuzzed.c", address & 0xFF, None, None,
                     address)]


def start_program(program, library):
    env = dict(os.environ, LD_PRELOAD=library, MEMSNAP="16")
    proc = subprocess.Popen([program], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        with open("/proc/%d/stat" % proc.pid) as handle:
            if handle.read().rsplit(")", 1)[1].split()[0] == "T":
                return proc
        time.sleep(0.01)
    proc.kill()
    raise SystemExit("the program did not stop itself")


def run_commands(segments, root, block):
    backend = FakeBackend(segments=segments, symbols={"memsnap_root": root}, live=False,
                          locate=locate)
    session.current.kept.clear()
    for name, args in COMMANDS:
        commands.run(name, args if args is not None else hex(block + 5), backend)


def load_file(path):
    snapshot = Snapshot.load(path)
    snapshot.statistics("traceback")
    list(snapshot.iter_blocks())


class Tally:
    def __init__(self):
        self.tried = self.clean = 0
        self.refused = collections.Counter()
        self.failures = []

    def attempt(self, name, function, *args):
        self.tried += 1
        signal.alarm(TIME_LIMIT)
        try:
            function(*args)
            self.clean += 1
        except MemsnapError as err:
            text = str(err)
            if "\n" in text.strip() or not text.strip():
                self.failures.append("%s: not one line: %r" % (name, text))
            self.refused[type(err).__name__] += 1
        except Timeout:
            self.failures.append("%s: no answer within %d s" % (name, TIME_LIMIT))
        except MemoryError:
            self.failures.append("%s: ran out of the %d GiB cap" % (name, MEMORY_CAP >> 30))
        except Exception as err:       # what a user would see as an internal error
            self.failures.append("%s: %s: %s" % (name, type(err).__name__, err))
        finally:
            signal.alarm(0)

    def report(self, what):
        print("%s: %d mutants tried, %d read cleanly, %d refused with one line (%s), %d failed"
              % (what, self.tried, self.clean, sum(self.refused.values()),
                 ", ".join("%s %d" % kv for kv in sorted(self.refused.items())) or "none",
                 len(self.failures)))
        for failure in self.failures[:20]:
            print("  FAIL " + failure)


def _streams(data):
    """The file's header bytes and its streams as [width, decompressed bytes]."""
    position = len(snapshot_file.MAGIC) + snapshot_file.HEADER.size
    streams = []
    while position < len(data):
        length, width = snapshot_file.STREAM.unpack_from(data, position)
        start = position + snapshot_file.STREAM.size
        streams.append([width, zlib.decompress(data[start:start + length])])
        position = start + length
    return data[:len(snapshot_file.MAGIC) + snapshot_file.HEADER.size], streams


def _rebuilt(head, streams):
    out = bytearray(head)
    for width, raw in streams:
        packed = zlib.compress(bytes(raw))
        out += snapshot_file.STREAM.pack(len(packed), width) + packed
    return bytes(out)


def inner_mutants(data, rng, count):
    """Mutants whose zlib streams stay valid: a decompressed stream (the
    metadata JSON or a block array) flipped, zeroed or given another item
    width, then compressed again."""
    head, streams = _streams(data)
    for _ in range(count):
        index = rng.randrange(len(streams))
        changed = [[w, bytearray(raw)] for w, raw in streams]
        width, raw = changed[index]
        kind = rng.choice(("flip", "flip", "zero", "width"))
        at = rng.randrange(max(len(raw), 1))
        if kind == "flip" and raw:
            raw[at] ^= 1 << rng.randrange(8)
        elif kind == "zero" and raw:
            raw[at:at + 8] = bytes(len(raw[at:at + 8]))
        else:
            changed[index][0] = rng.choice((0, 1, 2, 3, 4, 8, 16, 255))
        yield "stream %d %s at %d" % (index, kind, at), _rebuilt(head, changed)


def file_mutants(data, rng, count):
    yield from inner_mutants(data, rng, count // 2)
    for _ in range(count - count // 2):
        kind = rng.choice(("flip", "cut", "zero"))
        mutant = bytearray(data)
        at = rng.randrange(len(data))
        if kind == "flip":
            mutant[at] ^= 1 << rng.randrange(8)
        elif kind == "zero":
            mutant[at:at + 8] = bytes(len(mutant[at:at + 8]))
        else:
            mutant = mutant[:at]
        yield "%s at %d" % (kind, at), bytes(mutant)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--random", type=int,
                        default=int(os.environ.get("MEMSNAP_FUZZ_RANDOM", "400")))
    options = parser.parse_args()
    program = os.path.join(os.environ["MEMSNAP_PY_PROGRAMS"], "stop_after_waste")
    proc = start_program(program, os.environ["MEMSNAP_LIB"])
    try:
        capture = TableCapture(ProcfsBackend(proc.pid))
    finally:
        proc.kill()
        proc.wait()
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    signal.signal(signal.SIGALRM, _alarm)
    block = next(capture.table.iter_blocks())[0]
    began = time.monotonic()
    print("seed %d; table of %d blocks, %d sites, %d records in %d captured segments"
          % (options.seed, sum(1 for _ in capture.table.iter_blocks()), len(capture.table.sites),
             len(capture.records), len(capture.segments)))
    tables = Tally()
    tables.attempt("pristine", run_commands, capture.segments, capture.root, block)
    if tables.clean != 1:
        tables.report("tables")
        return 1
    for name, patch in mutants(capture, options.seed, options.random):
        tables.attempt(name, run_commands, apply(capture.segments, patch), capture.root, block)
    tables.report("tables (%.1f s)" % (time.monotonic() - began))

    began = time.monotonic()
    files = Tally()
    with tempfile.TemporaryDirectory() as work:
        pristine = os.path.join(work, "pristine.memsnap")
        run_commands(capture.segments, capture.root, block)
        session.current.get("fuzzed").dump(pristine)
        with open(pristine, "rb") as handle:
            data = handle.read()
        for index, (name, mutant) in enumerate(file_mutants(data, random.Random(options.seed),
                                                            options.random)):
            path = os.path.join(work, "m%d.memsnap" % index)
            with open(path, "wb") as handle:
                handle.write(mutant)
            files.attempt("file " + name, load_file, path)
            os.unlink(path)
    files.report("snapshot files (%.1f s)" % (time.monotonic() - began))
    return 1 if tables.failures or files.failures else 0


if __name__ == "__main__":
    sys.exit(main())
