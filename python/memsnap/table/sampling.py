"""A sampled table's per-block weights, computed by a reader as the runtime computes them.

When root.sample_bytes = R > 0, a heap block of `size` bytes was recorded
with probability p = 1 - exp(-size / R) and added to its counters not 1
and its size but its weights: floor(1/p + u) blocks and floor(size/p + u)
bytes, u a dither in [0, 1) drawn from the block's address
(docs/layout.md section 7; runtime/sampling.c). Sums over a subset of
blocks (model/age.py) use the same weights, so they stay the unbiased
estimates the site counters are. Blocks of other domains carry weight 1.
"""

import math

from . import layout

_MASK = (1 << 64) - 1


def dither(address):
    """u in [0, 1) of the block at `address` (murmur3's 64-bit finalizer)."""
    x = address & _MASK
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & _MASK
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & _MASK
    x ^= x >> 33
    return (x >> 11) * 2.0 ** -53


def block_weights(address, size, domain, interval):
    """(count, bytes) a block adds to its counters in a table sampled with
    mean interval `interval` (0: not sampled)."""
    if not interval or domain != layout.DOMAIN_HEAP:
        return 1, size
    if size == 0:
        return 1, 0
    p = -math.expm1(-size / interval)
    u = dither(address)
    return int(1.0 / p + u), int(size / p + u)
