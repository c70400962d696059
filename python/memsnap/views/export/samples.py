"""The exporters' input: a profile as plain stack samples.

Every exporter in python/memsnap/views/export/ reads a Profile and nothing else,
so none of them knows about snapshots, tables or debuggers. A Profile is a
title, StackSamples and the loaded Mappings. A StackSample is one allocation
site: its whole traceback as Locations (oldest first), its domain, and four
plain numbers — live blocks and bytes (inuse), and blocks and bytes ever
allocated there (alloc, the depot's per-site totals). The numbers are final
values: when a table is sampled, the estimates are computed once, where the
samples are made, and exporters never scale. A Location is one return
address and the source frames it resolves to (memsnap Frames from
python/memsnap/model/frames.py, caller first; more than one when calls were
inlined). `paired` gives every exporter the same rows, with or without a
base profile for the differential exports, and `frame_name` is the one
spelling of a frame in folded stacks, flame graphs and speedscope files.
"""

from typing import NamedTuple, Optional, Tuple

VALUE_NAMES = ("inuse_count", "inuse_bytes", "alloc_count", "alloc_bytes")
INUSE_COUNT, INUSE_BYTES, ALLOC_COUNT, ALLOC_BYTES = range(len(VALUE_NAMES))
NO_VALUES = (0, 0, 0, 0)


class Location(NamedTuple):
    address: Optional[int]     # the return address as recorded, None if unknown
    frames: Tuple              # Frames at this address, caller first


class StackSample(NamedTuple):
    stack: Tuple               # Locations, oldest (outermost) first
    domain: int
    inuse_count: int
    inuse_bytes: int
    alloc_count: int
    alloc_bytes: int

    @property
    def values(self):
        return (self.inuse_count, self.inuse_bytes, self.alloc_count, self.alloc_bytes)


class Mapping(NamedTuple):
    start: int                 # first address of the loaded object's mapping
    limit: int                 # one past its last address
    offset: int                # file offset of `start`
    path: str
    build_id: Optional[str]    # lower-case hex, None if the object has none


class Profile(NamedTuple):
    title: str                 # e.g. "memstat snap1" (shown by the viewers)
    samples: Tuple
    mappings: Tuple = ()
    time: Optional[float] = None      # when the snapshot was taken (Unix time)
    comments: Tuple = ()              # notes for the reader (reader warnings)
    allocator_functions: Tuple = ()   # --alloc-fn globs (with keyframe.py's built-in list:
                                      # the frames the flame graph colours as allocators)


class PairedSample(NamedTuple):
    stack: Tuple
    domain: int
    old: Tuple                 # VALUE_NAMES in the base profile (zeros if absent)
    new: Tuple                 # VALUE_NAMES in the new profile (zeros if absent)


def paired(new, base=None):
    """The samples as PairedSamples. Without a base, each sample as it is
    (old = zeros). With one, the two profiles matched by (domain, stack):
    new's stacks in its order, then the stacks only the base has."""
    if base is None:
        return [PairedSample(s.stack, s.domain, NO_VALUES, s.values) for s in new.samples]
    old, now = _summed(base.samples), _summed(new.samples)
    keys = list(now) + [key for key in old if key not in now]
    return [PairedSample(key[1], key[0], old.get(key, NO_VALUES), now.get(key, NO_VALUES))
            for key in keys]


def _summed(samples):
    totals = {}
    for sample in samples:
        key = (sample.domain, sample.stack)
        previous = totals.get(key, NO_VALUES)
        totals[key] = tuple(a + b for a, b in zip(previous, sample.values))
    return totals


def source_frames(stack):
    """A stack's frames, oldest first, inlined levels expanded."""
    return [frame for location in stack for frame in location.frames]


def frame_name(frame):
    """'function (file:line)' for a frame with line information, else the
    text output's 'module(function+0xOFF)', which keeps functions and call
    sites apart."""
    if frame.label:
        return str(frame)
    if frame.function:
        return "%s (%s:%d)" % (frame.function, frame.filename, frame.lineno)
    return str(frame)


UNKNOWN_STACK_NAME = "[unknown stack]"


def stack_names(stack):
    """The frame names of a stack, oldest first (never empty)."""
    return [frame_name(f) for f in source_frames(stack)] or [UNKNOWN_STACK_NAME]
