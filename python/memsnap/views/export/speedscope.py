"""speedscope export: a Profile as a speedscope JSON file.

speedscope's documented file format (https://www.speedscope.app/file-format-schema.json):
an object with "$schema", "shared": {"frames": [{name, file, line}]} and
"profiles", each here of type "sampled" with a name, a unit ("bytes" or
"none" for counts), startValue 0, endValue the total, "samples" (stacks as
frame indexes, outermost first) and their "weights". One file holds several
views of the same stacks: live bytes, live blocks, allocated bytes and
allocated blocks; with a base profile (memdiff), grown bytes and blocks and
shrunk bytes and blocks (speedscope has no negative weights). Frames are
named by samples.frame_name (python/memsnap/views/export/samples.py).
"""

import json

from .samples import (ALLOC_BYTES, ALLOC_COUNT, INUSE_BYTES, INUSE_COUNT, paired,
                      source_frames, frame_name, UNKNOWN_STACK_NAME)

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"

# (profile name, unit, weight of a row) for memstat and for memdiff.
VIEWS = (("live bytes", "bytes", lambda row: row.new[INUSE_BYTES]),
         ("live blocks", "none", lambda row: row.new[INUSE_COUNT]),
         ("allocated bytes", "bytes", lambda row: row.new[ALLOC_BYTES]),
         ("allocated blocks", "none", lambda row: row.new[ALLOC_COUNT]))
DIFF_VIEWS = (("grown bytes", "bytes", lambda row: max(_change(row, INUSE_BYTES), 0)),
              ("grown blocks", "none", lambda row: max(_change(row, INUSE_COUNT), 0)),
              ("shrunk bytes", "bytes", lambda row: max(-_change(row, INUSE_BYTES), 0)),
              ("shrunk blocks", "none", lambda row: max(-_change(row, INUSE_COUNT), 0)))


def _change(row, index):
    return row.new[index] - row.old[index]


class _Frames:
    """The shared frame table: one entry per distinct (name, file, line)."""

    def __init__(self):
        self.entries = []
        self._index = {}

    def index(self, frame):
        if frame is None:
            entry = {"name": UNKNOWN_STACK_NAME}
        elif frame.label:
            entry = {"name": frame_name(frame), "file": frame.module or frame.filename}
        else:
            entry = {"name": frame_name(frame), "file": frame.filename, "line": frame.lineno}
        key = tuple(entry.values())
        position = self._index.get(key)
        if position is None:
            position = self._index[key] = len(self.entries)
            self.entries.append(entry)
        return position

    def stack(self, stack):
        frames = source_frames(stack) or [None]
        return [self.index(frame) for frame in frames]


def export_speedscope(profile, base=None):
    """The speedscope JSON text of `profile` (compared to `base`)."""
    frames = _Frames()
    rows = paired(profile, base)
    stacks = [frames.stack(row.stack) for row in rows]
    title = profile.title if base is None else "%s minus %s" % (profile.title, base.title)
    profiles = []
    for name, unit, weight_of in (VIEWS if base is None else DIFF_VIEWS):
        weights = [weight_of(row) for row in rows]
        kept = [i for i, weight in enumerate(weights) if weight]
        profiles.append({
            "type": "sampled", "name": "%s: %s" % (title, name), "unit": unit,
            "startValue": 0, "endValue": sum(weights),
            "samples": [stacks[i] for i in kept], "weights": [weights[i] for i in kept],
        })
    document = {"$schema": SCHEMA_URL, "shared": {"frames": frames.entries},
                "profiles": profiles, "name": title, "activeProfileIndex": 0,
                "exporter": "memsnap"}
    return json.dumps(document, separators=(",", ":")) + "\n"
