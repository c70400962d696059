"""The trace table's constants and its self-describing field table, in Python.

Mirrors include/memsnap/layout.h: the fixed 32-byte header (the only part a
reader hard-codes), the constants of layout major version 2, and FieldTable,
which parses the table root.fields points to ("record.field" -> offset,
size) and compiles struct formats from it, so every other field is found BY
NAME. Nothing here reads memory; reader.py does.
"""

import struct

from ..errors import CorruptTableError

# ---- fixed header (never changes, whatever the version) ----
MAGIC = 0x0050414E534D454D          # "MEMSNAP\0" little-endian
KNOWN_MAJOR = 2
ROOT_SYMBOL = "memsnap_root"
FIXED_HEADER = struct.Struct("<QHHIQII")   # magic major minor root_size fields fields_count field_size
FIXED_HEADER_SIZE = 32
# struct memsnap_field: char name[40]; uint32_t offset; uint32_t size.
# Its shape is part of the fixed contract (it is how the table is read);
# the table's own "field.*" entries are checked against it.
FIELD_RECORD = struct.Struct("<40sII")

# ---- constants of layout major version 2 ----
STATE_INITIALIZED = 0x1
STATE_TRACING = 0x2
STATE_TRUNCATED = 0x4
STATE_SAMPLED = 0x8
STATE_DRIFT = 0x10                   # (2.1) current/peak folded at a bounded drift, not exact

UNWINDER_NAMES = {0: "none", 1: "frame-pointer", 2: "dwarf"}


def unwinder_name(code):
    """The name of root.unwinder's value, as memtrace and snapshots show it."""
    return UNWINDER_NAMES.get(code, "unknown (%d)" % code)


MAP_DEPOT = 1
MAP_CHUNK = 2
MAP_THREADS = 3
MAP_COUNTERS = 4
MAP_MISC = 5

THREAD_LIVE = 1
THREAD_EXITING = 2

OP_NONE = 0
OP_ALLOC = 1
OP_FREE = 2

SLOT_FREE = 0
TOTAL_UNKNOWN = 0xFFFFFFFF           # site.total_nframes: the walk stopped at the limit

DOMAIN_HEAP = 0
MAX_FRAMES_LIMIT = 0xFFFF            # site.nframes is a uint16_t

# Sanity bounds for validation (far above anything real, far below garbage).
MAX_FIELDS = 4096
MAX_FIELD_SIZE = 4096
MAX_ROOT_SIZE = 1 << 16
MAX_RECORD_SIZE = 4096
MAX_MAPPINGS = 1 << 20
MAX_MAPPING_SIZE = 1 << 40
MAX_THREADS = 1 << 20
MAX_CAPACITY = 1 << 36
MAX_COUNTER_PAGES = 1 << 20
READ_CHUNK = 8 << 20                 # bulk reads of big tables go in pieces this size

_INT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


def round_up(value, alignment):
    return (value + alignment - 1) // alignment * alignment


class FieldTable:
    """The parsed field table: record and field offsets/sizes by name."""

    def __init__(self, entries):
        self._entries = dict(entries)   # "record" or "record.field" -> (offset, size)

    @classmethod
    def parse(cls, data, count, field_size):
        """Parse `count` records of `field_size` bytes from `data`."""
        entries = {}
        for i in range(count):
            raw_name, offset, size = FIELD_RECORD.unpack_from(data, i * field_size)
            name = raw_name.split(b"\0", 1)[0]
            try:
                text = name.decode("ascii")
            except UnicodeDecodeError:
                raise CorruptTableError(
                    "field table entry %d has a name that is not ASCII" % i)
            if not text:
                raise CorruptTableError("field table entry %d has an empty name" % i)
            entries[text] = (offset, size)
        table = cls(entries)
        table._check_field_record()
        return table

    def _check_field_record(self):
        expected = {"field.name": (0, 40), "field.offset": (40, 4), "field.size": (44, 4)}
        for name, where in expected.items():
            if name in self._entries and self._entries[name] != where:
                raise CorruptTableError(
                    "field table says %s is at %d (%d bytes); layout 2.x has it at %d (%d bytes)"
                    % (name, self._entries[name][0], self._entries[name][1], where[0], where[1]))

    def names(self):
        return list(self._entries)

    def has(self, name):
        return name in self._entries

    def record_size(self, record):
        """sizeof(struct memsnap_<record>) as the writer declared it."""
        try:
            offset, size = self._entries[record]
        except KeyError:
            raise CorruptTableError("the field table does not describe record '%s'" % record)
        if size <= 0 or size > MAX_RECORD_SIZE:
            raise CorruptTableError("record '%s' has an impossible size %d" % (record, size))
        return size

    def field(self, record, name):
        """(offset, size) of record.name, checked to lie inside the record."""
        key = "%s.%s" % (record, name)
        try:
            offset, size = self._entries[key]
        except KeyError:
            raise CorruptTableError("the field table lacks '%s'" % key)
        rsize = self.record_size(record)
        # Flexible array members (site.pcs, chunk.slot, counters.page) start at the record's
        # end; whatever size the writer gives them, they are not bounded by it.
        if offset != rsize and offset + size > rsize:
            raise CorruptTableError(
                "field '%s' (offset %d, %d bytes) lies outside its %d-byte record"
                % (key, offset, size, rsize))
        return offset, size

    def offset(self, record, name):
        return self.field(record, name)[0]

    def compile(self, record, names):
        """A struct.Struct unpacking the integer fields `names` (in that order
        of the result) from one `record`, plus the order to reorder by."""
        placed = []
        for name in names:
            offset, size = self.field(record, name)
            if size not in _INT_CODES:
                raise CorruptTableError(
                    "field '%s.%s' has size %d, not an integer size" % (record, name, size))
            placed.append((offset, size, name))
        placed.sort()
        fmt = ["<"]
        position = 0
        for offset, size, name in placed:
            if offset < position:
                raise CorruptTableError("fields of record '%s' overlap at offset %d" % (record, offset))
            if offset > position:
                fmt.append("%dx" % (offset - position))
            fmt.append(_INT_CODES[size])
            position = offset + size
        return RecordStruct(struct.Struct("".join(fmt)), [p[2] for p in placed], list(names))


class RecordStruct:
    """Unpacks named integer fields of one record; returns them in the
    order they were asked for."""

    def __init__(self, compiled, placed_order, wanted_order):
        self.struct = compiled
        self.size = compiled.size
        index = {name: i for i, name in enumerate(placed_order)}
        self._reorder = [index[name] for name in wanted_order]
        self._identity = self._reorder == list(range(len(self._reorder)))
        # the fields asked for, in that order, fill the record from offset 0
        self.packed = self._identity and compiled.format.lstrip("<").isalpha()

    def unpack_from(self, data, offset=0):
        values = self.struct.unpack_from(data, offset)
        if self._identity:
            return values
        return tuple(values[i] for i in self._reorder)
