"""GDB script of the traceback test: runs traceback_cases with libmemsnap.so
preloaded, stops at each case's allocation (the first allocation hook hit
after case_armed()), records GDB's own backtrace of it and the block the
hook returns, and at cases_done() reads the trace table through the
documented layout (memsnap_root, its field table, thread records, block
chunks, depot) to check that each block's recorded traceback equals GDB's
frame by frame (up to the traceback limit), that the total depths agree
(unknown past the limit, where the walk stops), and that GDB's frames
contain the case's line marked `CASE <name>` in the sources. Exits GDB with
status 0 when every case passes, 1 otherwise.

Usage: MEMSNAP_TEST_PRELOAD=libmemsnap.so MEMSNAP_TEST_SOURCES=dir
       gdb -batch -nx -x traceback_vs_gdb.py --args traceback_cases P1 P2
"""
import os
import re
import struct

import gdb

PRELOAD = os.environ["MEMSNAP_TEST_PRELOAD"]
SOURCES = os.environ["MEMSNAP_TEST_SOURCES"]
DEPTH = os.environ.get("MEMSNAP_TEST_DEPTH", "48")
UNWINDER = os.environ.get("MEMSNAP_TEST_UNWIND", "dwarf")
HOOKS = ["malloc", "calloc", "realloc", "operator new(unsigned long)",
         "operator new[](unsigned long)"]
EXPECTED_CASES = {"strdup": 1, "fopen": 1, "asprintf": 1, "qsort": 1, "vector": 1,
                  "string": 1, "map": 1, "signal": 1, "recursion": 1, "plugin": 2,
                  "thread": 3}


def marker_lines():
    """CASE name -> set of (file basename, line) from the sources."""
    found = {}
    for name in sorted(os.listdir(SOURCES)):
        if not name.endswith((".c", ".cpp")):
            continue
        with open(os.path.join(SOURCES, name)) as f:
            for lineno, text in enumerate(f, 1):
                m = re.search(r"/\* CASE (\w+) \*/", text)
                if m:
                    found.setdefault(m.group(1), set()).add((name, lineno))
    return found


def in_runtime(pc):
    name = gdb.solib_name(pc)
    return name is not None and "libmemsnap" in os.path.basename(name)


def gdb_frames():
    """Return addresses as the table stores them, innermost first, outside
    the runtime (GDB's inline and tail-call frames are not stack frames);
    plus the (file, line) of every frame GDB shows."""
    pcs, lines = [], []
    frame = gdb.newest_frame()
    after_signal = False
    while frame is not None:
        kind = frame.type()
        real = kind not in (gdb.INLINE_FRAME, gdb.TAILCALL_FRAME)
        if real and not in_runtime(frame.pc()):
            pcs.append(frame.pc() + 1 if after_signal else frame.pc())
        if real:
            after_signal = kind == gdb.SIGTRAMP_FRAME
        sal = frame.find_sal()
        if sal.symtab is not None:
            lines.append((os.path.basename(sal.symtab.filename), sal.line))
        frame = frame.older()
    return pcs, lines


def describe(pc):
    text = gdb.execute("info symbol %#x" % pc, to_string=True).strip()
    return text.split(" in section")[0]


class Table:
    """Reads the trace table of the inferior through the layout."""

    def __init__(self):
        self.mem = gdb.selected_inferior()
        self.root = int(gdb.parse_and_eval("(unsigned long)&memsnap_root"))
        magic, major, minor, root_size, fields, count, fsize = struct.unpack(
            "<QHHIQII", self.read(self.root, 32))
        if magic != 0x0050414E534D454D or major != 2:
            raise gdb.GdbError("not a memsnap 2.x root")
        self.f = {}
        raw = self.read(fields, count * fsize)
        for i in range(count):
            name, off, size = struct.unpack_from("<40sII", raw, i * fsize)
            self.f[name.rstrip(b"\0").decode()] = (off, size)

    def read(self, addr, size):
        return bytes(self.mem.read_memory(addr, size))

    def get(self, base, field):
        off, size = self.f[field]
        return int.from_bytes(self.read(base + off, size), "little")

    def size_of(self, record):
        return self.f[record][1]

    def current_records(self):
        """Addresses of the thread records whose blocks count (not cleared)."""
        gen = self.get(self.root, "root.clear_gen")
        out, at = set(), self.get(self.root, "root.threads")
        while at:
            if self.get(at, "thread.clear_gen") == gen:
                out.add(at)
            at = self.get(at, "thread.next")
        return out

    def block_containing(self, addr):
        """(start, site id) of the live block containing addr, or None."""
        owners = self.current_records()
        bits = self.get(self.root, "root.site_id_bits")
        step = self.size_of("slot")
        a_off, m_off = self.f["slot.addr"][0], self.f["slot.meta"][0]
        mapping = self.get(self.root, "root.mappings")
        while mapping:
            if self.get(mapping, "mapping.kind") == 2 and self.get(mapping, "chunk.owner") in owners:
                high = self.get(mapping, "chunk.high")
                raw = self.read(mapping + self.f["chunk.slot"][0], high * step)
                for j in range(high):
                    a = int.from_bytes(raw[j * step + a_off:j * step + a_off + 8], "little")
                    if a == 0 or a > addr:
                        continue
                    meta = int.from_bytes(raw[j * step + m_off:j * step + m_off + 8], "little")
                    if addr < a + max(1, meta >> bits):
                        return a, meta & ((1 << bits) - 1)
            mapping = self.get(mapping, "mapping.next")
        return None

    def sites(self):
        """id -> (pcs, total_nframes) of every site in the depot."""
        out = {}
        mapping = self.get(self.root, "root.mappings")
        header = self.size_of("mapping")
        site_size = self.size_of("site")
        pcs_off = self.f["site.pcs"][0]
        while mapping:
            if self.get(mapping, "mapping.kind") == 1:
                used = self.get(mapping, "mapping.used")
                at = mapping + header
                while at + site_size <= mapping + used:
                    n = self.get(at, "site.nframes")
                    pcs = struct.unpack("<%dQ" % n, self.read(at + pcs_off, 8 * n))
                    out[self.get(at, "site.id")] = (list(pcs), self.get(at, "site.total_nframes"))
                    at += (site_size + 8 * n + 15) // 16 * 16
            mapping = self.get(mapping, "mapping.next")
        return out


def main():
    markers = marker_lines()
    for command in ["set pagination off", "set confirm off", "set startup-with-shell off",
                    "set backtrace past-main on", "set backtrace past-entry on",
                    "set backtrace limit unlimited", "set breakpoint pending on",
                    "set print thread-events off",
                    "handle SIGUSR1 nostop noprint pass",
                    "set environment LD_PRELOAD " + PRELOAD,
                    "set environment MEMSNAP " + DEPTH,
                    "set environment MEMSNAP_UNWIND " + UNWINDER]:
        gdb.execute(command)
    stops = [gdb.Breakpoint(f, internal=True) for f in ("case_armed", "case_disarmed", "cases_done")]
    hook_bps = [gdb.Breakpoint(h, internal=True) for h in HOOKS]
    for bp in stops + hook_bps:
        bp.silent = True

    def watch(on):
        for bp in hook_bps:
            bp.enabled = on

    watch(False)
    cases = []  # (name, kept pointer, [(block, gdb pcs, gdb lines)])
    failures = []
    name, allocations = None, []
    gdb.execute("run", to_string=True)
    while True:
        try:
            frame = gdb.newest_frame()
        except gdb.error:
            failures.append("program ended before cases_done()")
            break
        where = frame.name()
        if where == "case_armed":
            name, allocations = gdb.parse_and_eval("case_name").string(), []
            watch(True)
        elif where == "case_disarmed":
            watch(False)
            kept = int(gdb.parse_and_eval("(unsigned long)case_keep[(case_kept - 1) % 64]"))
            cases.append((name, kept, allocations))
            name = None
        elif where == "cases_done":
            break
        elif name is not None and in_runtime(frame.pc()):
            pcs, lines = gdb_frames()
            watch(False)
            gdb.execute("finish", to_string=True)
            block = int(gdb.parse_and_eval("(unsigned long)$rax"))
            allocations.append((block, pcs, lines))
            watch(True)
        gdb.execute("continue", to_string=True)

    table = Table()
    limit = table.get(table.root, "root.traceback_limit")
    unwinder = table.get(table.root, "root.unwinder")
    want_unwinder = {"dwarf": 2, "fp": 1}[UNWINDER]
    if unwinder != want_unwinder:
        failures.append("root.unwinder is %d, expected %d" % (unwinder, want_unwinder))
    sites = table.sites()
    seen = {}
    for name, kept, allocations in cases:
        seen[name] = seen.get(name, 0) + 1
        label = "%s #%d" % (name, seen[name])
        found = table.block_containing(kept)
        if found is None or found[1] not in sites:
            failures.append("%s: no live block holds %#x" % (label, kept))
            continue
        start, site_id = found
        mine = [a for a in allocations if a[0] == start]
        if not mine:
            failures.append("%s: block %#x was not allocated during the case" % (label, start))
            continue
        _, pcs, lines = mine[-1]
        recorded, total = sites[site_id]
        want = pcs[:limit]
        want_total = len(pcs) if len(pcs) <= limit else 0xFFFFFFFF  # unknown past the limit
        problems = []
        if not any(where in lines for where in markers.get(name, ())):
            problems.append("GDB's backtrace lacks the CASE line (test program broken?)")
        if recorded != want or total != want_total:
            problems.append("recorded %d of %d frames, GDB has %d:" % (len(recorded), total, len(pcs)))
            for i in range(max(len(recorded), len(want))):
                r = recorded[i] if i < len(recorded) else None
                w = want[i] if i < len(want) else None
                problems.append("%s %2d recorded %-16s gdb %-16s %s" % (
                    "  " if r == w else "!=", i, "%#x" % r if r else "-", "%#x" % w if w else "-",
                    describe(w or r)))
        print("%s %-12s %3d frames (%d stored)" % ("ok  " if not problems else "FAIL",
                                                  label, len(pcs), len(recorded)))
        for p in problems:
            print("       " + p)
        if problems:
            failures.append(label + ": " + problems[0])
    for name, count in EXPECTED_CASES.items():
        if seen.get(name, 0) != count:
            failures.append("case %s ran %d times, expected %d" % (name, seen.get(name, 0), count))
    for f in failures:
        print("FAIL " + f)
    print("%d cases, %d failures" % (len(cases), len(failures)))
    gdb.execute("kill")
    gdb.execute("quit %d" % (1 if failures else 0))


try:
    main()
except Exception as e:  # one clear line, non-zero exit
    print("FAIL traceback test: %s: %s" % (type(e).__name__, e))
    gdb.execute("quit 1")
