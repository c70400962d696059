"""The thread records of a layout 2 table: their counters summed per site, their operations in flight left out.

docs/layout.md (sections 3, 5 and 6) is the contract followed here: every
thread that called the runtime has a record (struct memsnap_thread) linked
from root.threads; only records whose clear_gen is the root's count. A
record's per-site counters (a directory of pages of memsnap_counter) are
its thread's share: the site's counts are the sums over the current
records, modulo 2^64. Each record may have one operation in flight
(pend_op); InFlight decides, by comparing each counter with its value
before the operation, what of it is done, so that the reader can leave the
operation out entirely: its slot skipped, its counter changes taken back.
reader.py reads the rest of the table and calls read_records and
sum_counters; nothing here knows about sites' stacks or blocks' sizes.

The peak snapshot (layout 2.1, docs/layout.md "the peak snapshot"): a
counter's live pair at the last peak is its peak pair when the counter's
peak_gen is the root's, and its live pair otherwise; summed like the
others, with an operation in flight left out of it where the peak is the
live pair. A 2.0 table has no peak fields: PeakFields.known is False.
"""

import struct
from dataclasses import dataclass
from typing import Dict, List

from . import layout, linked
from ..errors import CorruptTableError

THREAD_FIELDS = ("next", "tid", "status", "clear_gen", "counters", "pend_op", "pend_slot",
                 "pend_addr", "pend_meta", "pend_count", "pend_bytes", "current",
                 "pend_current", "pend_live", "pend_total")
COUNTER_FIELDS = ("live_count", "live_bytes", "total_count", "total_bytes")
PEAK_FIELDS = ("peak_count", "peak_bytes", "peak_gen")
U64 = 1 << 64


def signed(value):
    """A uint64 read from the table as the int64 the runtime wrote."""
    value %= U64
    return value - U64 if value >= U64 >> 1 else value


@dataclass
class ThreadRecord:
    """One struct memsnap_thread, as read."""
    address: int
    tid: int
    status: int
    current_record: bool        # its clear_gen is the root's: it counts
    counters: int               # address of its counter directory, 0 = none
    pend_op: int
    pend_slot: int
    pend_meta: int
    pend_count: int
    pend_bytes: int
    current: int                # signed
    pend_current: int           # signed
    pend_live: int
    pend_total: int

    @property
    def in_flight(self):
        return self.current_record and self.pend_op != layout.OP_NONE


@dataclass
class InFlight:
    """What to take out of the sums to leave one operation out: 1 or 0 times
    its weights per counter (docs/layout.md, section 6): what an ALLOC
    already added, what a FREE has not taken out yet; and out of the peak
    sums, the same as of the live ones where the site's peak is its live
    pair (a valid peak pair never holds the operation)."""
    site_id: int
    live: int
    total: int
    current: int
    peak: int = 0


@dataclass(frozen=True)
class PeakFields:
    """Whether the table keeps a peak snapshot (2.1 and later), and the
    root.peak_gen a counter's peak pair must be stamped with to hold it."""
    known: bool
    gen: int = 0


def read_records(reader, fields, head, clear_gen):
    """The thread records from root.threads, newest first (a cycle or an
    impossible length is a CorruptTableError; an unreadable record cuts the
    list with a warning)."""
    size = fields.record_size("thread")
    unpack = fields.compile("thread", THREAD_FIELDS)
    records = []
    for address, raw in linked.walk(reader, head, size, lambda raw: unpack.unpack_from(raw)[0],
                                    "thread record", layout.MAX_THREADS,
                                    "the counts of later threads are missing"):
        values = dict(zip(THREAD_FIELDS, unpack.unpack_from(raw)))
        records.append(ThreadRecord(
            address, values["tid"], values["status"], values["clear_gen"] == clear_gen,
            values["counters"], values["pend_op"], values["pend_slot"], values["pend_meta"],
            values["pend_count"], values["pend_bytes"], signed(values["current"]),
            signed(values["pend_current"]), values["pend_live"], values["pend_total"]))
    return records


class CounterPages:
    """Reads the counter pages of one record's directory, each page once."""

    def __init__(self, reader, fields, per_page, peak):
        self.reader = reader
        self.per_page = per_page
        self.peak = peak
        self.names = COUNTER_FIELDS + (PEAK_FIELDS if peak.known else ())
        self.counter = fields.compile("counter", self.names)
        self.counter_size = fields.record_size("counter")
        self.npages_unpack = fields.compile("counters", ("npages",))
        self.header_size = fields.record_size("counters")
        self.page_offset, page_size = fields.field("counters", "page")
        if page_size != 8:
            raise CorruptTableError("counters.page has %d-byte entries, not 8" % page_size)
        self._read = {}

    def pages(self, directory):
        """[(first site id, raw page bytes)] of a directory's non-zero pages."""
        if directory not in self._read:
            self._read[directory] = self._pages(directory)
        return self._read[directory]

    def _pages(self, directory):
        head = self.reader.try_read(directory, self.header_size,
                                    "the counter directory at 0x%x" % directory)
        if head is None:
            return []
        (npages,) = self.npages_unpack.unpack_from(head)
        if npages > layout.MAX_COUNTER_PAGES:
            raise CorruptTableError("the counter directory at 0x%x has %d pages"
                                    % (directory, npages))
        if not npages:
            return []
        raw = self.reader.try_read(directory + self.page_offset, 8 * npages,
                                   "the %d page addresses at 0x%x" % (npages, directory))
        if raw is None:
            return []
        pages = []
        for index, page in enumerate(memoryview(raw).cast("Q")):
            if not page:
                continue
            data = self.reader.try_read(page, self.per_page * self.counter_size,
                                        "the counter page at 0x%x" % page)
            if data is not None:
                pages.append((index * self.per_page, data))
        return pages

    def counter_of(self, directory, site_id):
        """The record's counter of one site as read (the values of
        self.names), zeros when it has none."""
        for first, data in self.pages(directory) if directory else ():
            if first <= site_id < first + self.per_page:
                return self.counter.unpack_from(data, (site_id - first) * self.counter_size)
        return (0,) * len(self.names)

    def peak_saved(self, values):
        """True when a counter's peak pair holds its value at the peak."""
        return self.peak.known and values[6] == self.peak.gen

    def _with_peak(self, values):
        """(live, total, peak) pairs of a counter as read: its peak pair
        where its stamp is the root's, else its live pair."""
        if self.peak_saved(values):
            return values[:6]
        return values[:4] + values[:2]

    def add_into(self, sums, directory):
        """Adds every counter of the directory to sums: site id -> [6 ints]."""
        with_peak = self._with_peak
        for first, data in self.pages(directory):
            for i, values in enumerate(self._counters(data), first):
                values = with_peak(values)
                if values[0] or values[2] or values[4]:     # never used: all zeros
                    total = sums.get(i)
                    if total is None:
                        sums[i] = list(values)
                    else:
                        for k, value in enumerate(values):
                            total[k] += value

    def _counters(self, data):
        """Every counter of a page as the values of self.names: at C speed
        when those fields are the record's first words."""
        size = self.counter_size
        if self.counter.packed and self.counter.size <= size:
            whole = struct.Struct(self.counter.struct.format + "%dx" % (size - self.counter.size))
            return whole.iter_unpack(data[:len(data) // size * size])
        return (self.counter.unpack_from(data, offset)
                for offset in range(0, len(data) - size + 1, size))


def in_flight(record, pages, site_mask):
    """What of `record`'s operation in flight is counted and must be taken
    back out: an ALLOC's done updates, a FREE's updates not yet done."""
    site_id = record.pend_meta & site_mask
    now = pages.counter_of(record.counters, site_id)
    live_done = now[0] != record.pend_live
    total_done = now[2] != record.pend_total
    current_done = record.current != record.pend_current
    if record.pend_op == layout.OP_ALLOC:
        share = InFlight(site_id, live_done, total_done, current_done)
    elif record.pend_op == layout.OP_FREE:
        share = InFlight(site_id, not live_done, 0, not current_done)
    else:
        return InFlight(site_id, 0, 0, 0)   # an unknown operation: nothing to take back
    if not pages.peak_saved(now):
        share.peak = share.live
    return share


def sum_counters(reader, fields, records, per_page, site_mask, peak):
    """(sums, current, skipped_slots): every site's counters summed over
    the current records (site id -> [live_count, live_bytes, total_count,
    total_bytes, peak_count, peak_bytes], signed; the peak pair is the live
    one when `peak`, a PeakFields, is not known), the exact traced bytes
    now, and the slots of the operations in flight, which the blocks leave
    out."""
    if not 0 < per_page <= 1 << 16:
        raise CorruptTableError("root.counters_per_page %d is impossible" % per_page)
    pages = CounterPages(reader, fields, per_page, peak)
    sums: Dict[int, List[int]] = {}
    current = 0
    skipped_slots = set()
    for record in records:
        if not record.current_record:
            continue
        if record.counters:
            pages.add_into(sums, record.counters)
        current += record.current
        if record.pend_op == layout.OP_NONE:
            continue
        skipped_slots.add(record.pend_slot)
        share = in_flight(record, pages, site_mask)
        total = sums.setdefault(share.site_id, [0, 0, 0, 0, 0, 0])
        total[0] -= share.live * record.pend_count
        total[1] -= share.live * record.pend_bytes
        total[2] -= share.total * record.pend_count
        total[3] -= share.total * record.pend_bytes
        total[4] -= share.peak * record.pend_count
        total[5] -= share.peak * record.pend_bytes
        current -= share.current * record.pend_bytes
    return {site: values if _all_small(values) else [signed(v) for v in values]
            for site, values in sums.items()}, current, skipped_slots


def _all_small(values, limit=1 << 63):
    """True when every value is a non-negative int64 as it is (signed() would
    change nothing): a sum of a few threads' counters, nearly always."""
    return 0 <= min(values) and max(values) < limit
