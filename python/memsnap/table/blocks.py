"""Live blocks as (start, size): which one contains an address, written once.

A block of size 0 still contains its own start (malloc(0) returns a unique
address a program may hold). contains() is the rule; holder() applies it to
blocks sorted by start, by bisection over their starts. The trace table's
reader, the model's Snapshot.find_block and the leak engine use these.
"""

import bisect


def contains(start, size, address):
    """True when the block [start, start + size) holds `address`."""
    return start <= address < start + max(size, 1)


def holder(starts, block, address):
    """Index of the block holding `address`, or None: `starts` are the
    blocks' sorted start addresses (a sequence), block(i) -> (start, size, ...)."""
    index = bisect.bisect_right(starts, address) - 1
    if index < 0:
        return None
    start, size = block(index)[:2]
    return index if contains(start, size, address) else None
