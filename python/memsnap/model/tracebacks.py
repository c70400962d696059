"""tracemalloc's value types for C: Traceback, Trace, Statistic, StatisticDiff.

Same constructors, properties, equality, sort orders and str()/repr() text
as Python's tracemalloc. A Traceback is a sequence of Frames from the oldest
to the most recent; its constructor, like tracemalloc's, takes frames most
recent first (frame tuples or Frame objects). Snapshot lives in snapshot.py;
source lines come from target/sourcelines.py.
"""

from collections.abc import Sequence
from functools import total_ordering

from ..target import sourcelines
from .format import format_size
from .frames import Frame, UNKNOWN_FRAME


def _as_frame(item):
    return item if isinstance(item, Frame) else Frame(item)


@total_ordering
class Traceback(Sequence):
    """Sequence of Frame instances sorted from the oldest to the most recent."""

    __slots__ = ("_frames", "_total_nframe", "_keys")

    def __init__(self, frames, total_nframe=None):
        # frames: most recent first (as tracemalloc's constructor takes them).
        self._frames = tuple(_as_frame(f) for f in reversed(tuple(frames)))
        self._total_nframe = total_nframe
        self._keys = None

    @classmethod
    def _oldest_first(cls, frames, total_nframe=None):
        """Build from Frames already ordered oldest first (no copying)."""
        tb = cls.__new__(cls)
        tb._frames = frames
        tb._total_nframe = total_nframe
        tb._keys = None
        return tb

    @property
    def total_nframe(self):
        return self._total_nframe

    def _key(self):
        keys = self._keys
        if keys is None:
            keys = self._keys = tuple(f._key for f in self._frames)
        return keys

    def __len__(self):
        return len(self._frames)

    def __getitem__(self, index):
        return self._frames[index]

    def __contains__(self, frame):
        return frame in self._frames

    def __reversed__(self):
        return reversed(self._frames)

    def __hash__(self):
        return hash(self._key())

    def __eq__(self, other):
        if not isinstance(other, Traceback):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other):
        if not isinstance(other, Traceback):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self):
        return str(self[0]) if self._frames else str(UNKNOWN_FRAME)

    def __repr__(self):
        text = "<Traceback %r" % (tuple(self._frames),)
        if self._total_nframe is None:
            return text + ">"
        return text + " total_nframe=%s>" % self._total_nframe

    def format(self, limit=None, most_recent_first=False):
        """Lines '  File "name", line N' each followed by its stripped source
        line when known; frames without line info print '  File "module", in
        label'. limit > 0 keeps the most recent frames, < 0 the oldest."""
        frames = self._frames
        if limit is not None:
            frames = frames[-limit:] if limit > 0 else frames[:limit]
        if most_recent_first:
            frames = tuple(reversed(frames))
        lines = []
        for frame in frames:
            if frame.label:
                lines.append('  File "%s", in %s' % (frame.filename, frame.label))
                continue
            lines.append('  File "%s", line %s' % (frame.filename, frame.lineno))
            text = sourcelines.get_line(frame.filename, frame.lineno)
            if text:
                text = text.strip()
                if text:
                    lines.append("    %s" % text)
        return lines


def _as_traceback(value, total_nframe):
    if isinstance(value, Traceback):
        return value
    return Traceback(value, total_nframe)


class Trace:
    """Trace of one memory block: domain, size, traceback (+ address)."""

    __slots__ = ("_trace",)

    def __init__(self, trace):
        # trace: (domain, size, traceback, total_nframe) as in tracemalloc,
        # optionally + address; traceback is a Traceback or frame tuples
        # most recent first.
        self._trace = tuple(trace)

    @property
    def domain(self):
        return self._trace[0]

    @property
    def size(self):
        return self._trace[1]

    @property
    def traceback(self):
        total = self._trace[3] if len(self._trace) > 3 else None
        return _as_traceback(self._trace[2], total)

    @property
    def address(self):
        """Start address of the block (memsnap extra), None if unknown."""
        return self._trace[4] if len(self._trace) > 4 else None

    def _identity(self):
        trace = self._trace
        tb = trace[2]
        if not isinstance(tb, Traceback):
            tb = _as_traceback(tb, None)
        return (trace[0], trace[1], tb) + tuple(trace[3:])

    def __eq__(self, other):
        if not isinstance(other, Trace):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self):
        return hash(self._identity())

    def __str__(self):
        return "%s: %s" % (self.traceback, format_size(self.size, False))

    def __repr__(self):
        return "<Trace domain=%s size=%s, traceback=%r>" % (
            self.domain, format_size(self.size, False), self.traceback)


class Statistic:
    """Statistic on memory allocations: traceback, size, count."""

    __slots__ = ("traceback", "size", "count")

    def __init__(self, traceback, size, count):
        self.traceback = traceback
        self.size = size
        self.count = count

    def __hash__(self):
        return hash((self.traceback, self.size, self.count))

    def __eq__(self, other):
        if not isinstance(other, Statistic):
            return NotImplemented
        return (self.traceback, self.size, self.count) == \
            (other.traceback, other.size, other.count)

    def __str__(self):
        return self.format_line(str(self.traceback))

    def format_line(self, where):
        """tracemalloc's line for this statistic, naming `where` (memsnap extra)."""
        text = "%s: size=%s, count=%i" % (where, format_size(self.size, False), self.count)
        if self.count:
            text += ", average=%s" % format_size(self.size / self.count, False)
        return text

    def __repr__(self):
        return "<Statistic traceback=%r size=%i count=%i>" % (
            self.traceback, self.size, self.count)

    def _sort_key(self):
        return (self.size, self.count, self.traceback)


class StatisticDiff:
    """Difference of a statistic between an old and a new snapshot."""

    __slots__ = ("traceback", "size", "size_diff", "count", "count_diff")

    def __init__(self, traceback, size, size_diff, count, count_diff):
        self.traceback = traceback
        self.size = size
        self.size_diff = size_diff
        self.count = count
        self.count_diff = count_diff

    def _fields(self):
        return (self.traceback, self.size, self.size_diff, self.count, self.count_diff)

    def __hash__(self):
        return hash(self._fields())

    def __eq__(self, other):
        if not isinstance(other, StatisticDiff):
            return NotImplemented
        return self._fields() == other._fields()

    def __str__(self):
        return self.format_line(str(self.traceback))

    def format_line(self, where):
        """tracemalloc's line for this difference, naming `where` (memsnap extra)."""
        text = "%s: size=%s (%s), count=%i (%+i)" % (
            where, format_size(self.size, False), format_size(self.size_diff, True),
            self.count, self.count_diff)
        if self.count:
            text += ", average=%s" % format_size(self.size / self.count, False)
        return text

    def __repr__(self):
        return "<StatisticDiff traceback=%r size=%i (%+i) count=%i (%+i)>" % (
            self.traceback, self.size, self.size_diff, self.count, self.count_diff)

    def _sort_key(self):
        return (abs(self.size_diff), self.size, abs(self.count_diff), self.count,
                self.traceback)
