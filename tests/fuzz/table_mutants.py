"""Mutants of a real trace table: what the fuzz drivers feed the readers (tests/fuzz/).

A table is captured once from a real traced process as the exact bytes the
reader read (TableCapture: every read through a recording backend, merged
into segments). Its records are found as the reader finds them — the root,
the field table, every thread record, mapping header and block chunk
header — and each record's fields come from the table's own field table
(python/memsnap/table/layout.py), so the targets follow the layout rather
than offsets written here. mutants() yields seeded, named mutants:
  - field: one field of one record set to 0, all ones, a huge count, the
    record's own address (a cycle, for pointers) or one page on;
  - flip / zero: random bytes flipped, or a range zeroed, in a record;
  - cut: a segment truncated at a record boundary or a random offset;
  - version: other major and minor layout versions.
Each mutant is (name, patch): ("write", address, bytes) or ("cut", address)
(nothing from `address` to the end of its segment); apply() makes the
mutant's {start: bytes} segments, and the debugger driver writes the same
patch into a core file.
"""

import random

from memsnap.table import layout, reader
from memsnap.target.backend import Backend



class RecordingBackend(Backend):
    """Wraps a backend and remembers every range read."""
    name = "recording"

    def __init__(self, inner):
        self.inner = inner
        self.ranges = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def has_target(self):
        return self.inner.has_target()

    def is_live(self):
        return False        # a capture never advances the epoch

    def pid(self):
        return self.inner.pid()

    def read_memory(self, address, size):
        data = self.inner.read_memory(address, size)
        self.ranges.append((address, address + len(data)))
        return data

    def lookup_symbol(self, name):
        return self.inner.lookup_symbol(name)

    def symbolize(self, address):
        return self.inner.symbolize(address)


class TableCapture:
    """The bytes a reader read from a live table, and where its records are."""

    def __init__(self, backend):
        recording = RecordingBackend(backend)
        self.table = reader.read_table(recording)
        self.root = self.table.root_address
        self.segments = _merge(recording.ranges, backend)
        self.fields = self._field_table()
        self.records = self._records()

    def _read(self, address, size):
        for start, data in self.segments.items():
            if start <= address and address + size <= start + len(data):
                return data[address - start:address - start + size]
        raise KeyError(hex(address))

    def _field_table(self):
        header = self._read(self.root, layout.FIXED_HEADER_SIZE)
        _, _, _, _, fields_addr, count, size = layout.FIXED_HEADER.unpack_from(header)
        self.field_table = (fields_addr, count * size)
        raw = self._read(fields_addr, count * size)
        return layout.FieldTable.parse(raw, count, size)

    def _records(self):
        """(kind, address) of every record the reader went through."""
        found = [("root", self.root)]
        found += [("thread", t.address) for t in self.table.threads]
        found += [("mapping", m.address) for m in self.table.mappings]
        found += [("chunk", c.address) for c in self.table.chunks]
        return found

    def fields_of(self, kind):
        """(name, offset, size) of a record kind's fields."""
        prefix = kind + "."
        out = []
        for name in self.fields.names():
            if name.startswith(prefix):
                offset, size = self.fields.field(kind, name[len(prefix):])
                out.append((name, offset, size))
        return out


def _merge(ranges, backend):
    """{start: bytes} of the ranges read, overlapping or touching ones joined."""
    merged = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return {start: bytes(backend.read_memory(start, end - start)) for start, end in merged}


def apply(segments, patch):
    """The {start: bytes} segments with `patch` applied (None when the patch
    falls outside them)."""
    kind, address = patch[0], patch[1]
    for start, segment in segments.items():
        if kind == "cut" and start <= address < start + len(segment):
            out = dict(segments)
            if address == start:
                del out[start]
            else:
                out[start] = segment[:address - start]
            return out
        if kind == "write" and start <= address and address + len(patch[2]) <= start + len(segment):
            out = dict(segments)
            changed = bytearray(segment)
            changed[address - start:address - start + len(patch[2])] = patch[2]
            out[start] = bytes(changed)
            return out
    return None


def _captured(capture, address, size):
    try:
        capture._read(address, size)
        return True
    except KeyError:
        return False


def _field_values(size, own_address, old):
    top = (1 << (8 * size)) - 1
    values = {"zero": 0, "ones": top, "huge": min(top, 1 << 40) if size >= 4 else top // 2,
              "plus-one": (old + 1) & top}
    if size == 8:
        values["self"] = own_address
        values["page-on"] = (old + 4096) & top
    return values


def field_mutants(capture, per_kind=2):
    """Every field of up to `per_kind` records of each kind, set to each value."""
    seen = {}
    for kind, address in capture.records:
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] > per_kind:
            continue
        for name, offset, size in capture.fields_of(kind):
            if size not in (1, 2, 4, 8):
                continue
            try:
                old = int.from_bytes(capture._read(address + offset, size), "little")
            except KeyError:
                continue
            for label, value in _field_values(size, address, old).items():
                if value == old:
                    continue
                yield ("field %s@0x%x=%s" % (name, address, label),
                       ("write", address + offset, value.to_bytes(size, "little")))


def random_mutants(capture, rng, count):
    """`count` seeded flips, zeroed ranges and truncations."""
    starts = sorted(capture.segments)
    records = capture.records + [("fields", capture.field_table[0])]
    made = 0
    while made < count:
        kind = rng.choice(("flip", "flip", "zero", "cut", "cut-at-record"))
        if kind in ("flip", "zero"):
            what, address = rng.choice(records)
            if kind == "flip":
                address += rng.randrange(0, 64)
                if not _captured(capture, address, 1):
                    continue
                data = bytes([capture._read(address, 1)[0] ^ (1 << rng.randrange(8))])
            else:
                address += rng.randrange(0, 64, 8)
                data = bytes(8 * rng.randrange(1, 4))
                if not _captured(capture, address, len(data)):
                    continue
            made += 1
            yield "%s %s+0x%x" % (kind, what, address), ("write", address, data)
            continue
        start = rng.choice(starts)
        end = start + len(capture.segments[start])
        if kind == "cut-at-record":
            inside = [a for _, a in records if start <= a < end]
            if not inside:
                continue
            address = min(rng.choice(inside) + rng.choice((0, 8, 32)), end - 1)
        else:
            address = rng.randrange(start, end)
        made += 1
        yield "cut 0x%x at 0x%x" % (start, address), ("cut", address)


def version_mutants(capture):
    """The fixed header's major and minor versions changed."""
    header = capture._read(capture.root, layout.FIXED_HEADER_SIZE)
    values = list(layout.FIXED_HEADER.unpack_from(header))
    major, minor = values[1], values[2]
    for label, new_major, new_minor in (("major-1", major - 1, minor), ("major+1", major + 1, minor),
                                        ("minor+7", major, minor + 7), ("minor=0", major, 0)):
        changed = values[:1] + [new_major & 0xFFFF, new_minor & 0xFFFF] + values[3:]
        yield "version " + label, ("write", capture.root, layout.FIXED_HEADER.pack(*changed))


def mutants(capture, seed, random_count):
    """Every field and version mutant, then `random_count` random ones."""
    yield from version_mutants(capture)
    yield from field_mutants(capture)
    yield from random_mutants(capture, random.Random(seed), random_count)
