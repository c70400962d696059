"""Which of many address ranges holds an address, by bisection over the ranges sorted once.

Asked for every code address symbolized: the core's module map
(modules.py) which memory region holds it, the LLDB backend which loaded
module section. A range that overlaps another is left out of the
bisection (which one holds the address would depend on their order):
find() does not see it, and `complete` is False so the caller can ask
its own slower way. Pure Python: no debugger.
"""

import bisect


class RangeIndex:
    """find(address) -> the value of the one range holding it, or None."""

    def __init__(self, ranges):
        """`ranges`: (start, end exclusive, value) tuples, in any order."""
        ordered = sorted(ranges, key=lambda r: r[0])
        kept = []
        furthest = 0            # the highest end of the ranges before
        for i, (start, end, value) in enumerate(ordered):
            overlaps = furthest > start or (i + 1 < len(ordered) and ordered[i + 1][0] < end)
            furthest = max(furthest, end)
            if not overlaps:
                kept.append((start, end, value))
        self.complete = len(kept) == len(ordered)
        self._starts = [start for start, _, _ in kept]
        self._ranges = kept

    def find(self, address):
        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0:
            _, end, value = self._ranges[i]
            if address < end:
                return value
        return None
