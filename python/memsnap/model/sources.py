"""Frame sources: what a snapshot's stack references stand for, resolved lazily.

A site's stack is a tuple of references; a frame source maps one reference
to its Frames, innermost inlined level first, and says whether that is
already known (cached). PcFrames serves stacks of return addresses, through
the target's symbolizer (target/symbolize.py), keeping the Frames in the
target's one cache, and tells target/sourcelines.py which files this
session symbolized; FrameList serves stacks given as frames (tracemalloc's
constructor, snapshot files), each distinct frame tuple kept once.
"""

from ..target import sourcelines
from ..target.target import Target
from .frames import frames_at


class PcFrames:
    """References are return addresses; their Frames come from the symbolizer."""

    addresses = True            # references are return addresses

    def __init__(self, target):
        self.symbolizer = Target.of(target).symbolizer
        self._frames = self.symbolizer.target.cache.table("objfile", "pc frames")

    def frames(self, pc):
        frames = self._frames.get(pc)
        if frames is None:
            frames = self._frames[pc] = frames_at(pc, self.symbolizer.levels(pc))
            for frame in frames:
                sourcelines.symbolized(frame.filename)
        return frames

    def cached(self, pc):
        return pc in self._frames


class FrameList:
    """References are indexes into a list of frame tuples (innermost first)."""

    addresses = False

    def __init__(self, entries=()):
        self._entries = [tuple(entry) for entry in entries]
        self._index = {}
        for i, entry in enumerate(self._entries):
            self._index[tuple(f.as_tuple() for f in entry)] = i

    def add(self, frames):
        """Reference for a tuple of Frames, reusing an equal entry."""
        frames = tuple(frames)
        key = tuple(f.as_tuple() for f in frames)
        ref = self._index.get(key)
        if ref is None:
            ref = self._index[key] = len(self._entries)
            self._entries.append(frames)
        return ref

    def frames(self, ref):
        return self._entries[ref]

    def filenames(self):
        """The file names of every frame of every entry."""
        return {frame.filename for entry in self._entries for frame in entry}

    def cached(self, ref):
        return True
