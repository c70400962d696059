"""Growth across N snapshots: the keys whose size grew at every step.

growth(snapshots, key_type) groups each snapshot's statistics by key_type
(snapshot.py's grouping, so --cumulative and the key-frame rule of
keyframe.py apply) and keeps the keys whose size strictly grew from each
snapshot to the next: the leak suspects of a program observed at several
checkpoints. Most suspicious first: the fastest growth per step, then the
biggest last size. A Growth prints as one line in the spirit of
tracemalloc's StatisticDiff (format.py's sizes).
"""

from ..errors import InvalidArgumentError
from .format import format_size


class Growth:
    """One key that grew at every step: its sizes and counts per snapshot."""

    __slots__ = ("traceback", "sizes", "counts")

    def __init__(self, traceback, sizes, counts):
        self.traceback = traceback
        self.sizes = tuple(sizes)
        self.counts = tuple(counts)

    @property
    def size(self):
        """Bytes in the last snapshot."""
        return self.sizes[-1]

    @property
    def count(self):
        """Blocks in the last snapshot."""
        return self.counts[-1]

    @property
    def size_growth(self):
        """Bytes gained from the first snapshot to the last."""
        return self.sizes[-1] - self.sizes[0]

    @property
    def rate(self):
        """Mean bytes gained per step (between consecutive snapshots)."""
        return self.size_growth / (len(self.sizes) - 1)

    def _sort_key(self):
        return (self.rate, self.sizes[-1], self.counts[-1], self.traceback._key())

    def format_line(self, where):
        """The line naming `where`: last size and count, growth, rate, every size."""
        return "%s: size=%s (%s), count=%i (%+i), growth=%s/step, sizes: %s" % (
            where, format_size(self.sizes[-1]), format_size(self.size_growth, True),
            self.counts[-1], self.counts[-1] - self.counts[0], format_size(self.rate, True),
            " -> ".join(format_size(s) for s in self.sizes))

    def __str__(self):
        return self.format_line(str(self.traceback))

    def __repr__(self):
        return "<Growth traceback=%r sizes=%r counts=%r>" % (self.traceback, self.sizes,
                                                            self.counts)


def growth(snapshots, key_type, cumulative=False, raw=False):
    """The Growths of the keys whose size grew between every two consecutive
    `snapshots` (oldest first, at least two), most suspicious first; a key
    absent from a snapshot has size 0 there."""
    snapshots = list(snapshots)
    if len(snapshots) < 2:
        raise InvalidArgumentError("growth needs at least two snapshots, not %d" % len(snapshots))
    groups = [s._group_by(key_type, cumulative, raw) for s in snapshots]
    found = []
    for key, last in groups[-1].items():
        stats = [group.get(key) for group in groups]
        sizes = [s.size if s else 0 for s in stats]
        if all(a < b for a, b in zip(sizes, sizes[1:])):
            found.append(Growth(last.traceback, sizes, [s.count if s else 0 for s in stats]))
    found.sort(key=Growth._sort_key, reverse=True)
    return found
