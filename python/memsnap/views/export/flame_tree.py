"""The call tree a flame graph draws, built from a Profile's samples.

Each node is one frame name (samples.frame_name) reached by one path from
the root; it sums the live bytes and blocks of every stack through it, in
the base profile (old) and in the profile (new). Its width is what it is
drawn as: the new bytes for one snapshot; for a comparison, the larger of
old and new per stack, so memory that vanished still shows. Children are
ordered heaviest first. Used by python/memsnap/views/export/flamegraph.py.
"""

from .samples import INUSE_BYTES, INUSE_COUNT, UNKNOWN_STACK_NAME, frame_name, paired, \
    source_frames


class FlameNode:
    __slots__ = ("name", "frame", "children", "width", "old_bytes", "new_bytes",
                 "old_count", "new_count")

    def __init__(self, name, frame):
        self.name = name
        self.frame = frame            # a Frame with this name, None for the root
        self.children = {}            # name -> FlameNode
        self.width = 0
        self.old_bytes = self.new_bytes = self.old_count = self.new_count = 0

    def child(self, name, frame):
        node = self.children.get(name)
        if node is None:
            node = self.children[name] = FlameNode(name, frame)
        return node

    def add(self, width, row):
        self.width += width
        self.old_bytes += row.old[INUSE_BYTES]
        self.new_bytes += row.new[INUSE_BYTES]
        self.old_count += row.old[INUSE_COUNT]
        self.new_count += row.new[INUSE_COUNT]

    def ordered_children(self):
        return sorted(self.children.values(), key=lambda n: (-n.width, n.name))


def build_tree(profile, base=None, root_name="all"):
    """The root FlameNode of `profile` (compared to `base`)."""
    root = FlameNode(root_name, None)
    for row in paired(profile, base):
        width = row.new[INUSE_BYTES] if base is None else \
            max(row.old[INUSE_BYTES], row.new[INUSE_BYTES])
        if not width:
            continue
        node = root
        node.add(width, row)
        frames = source_frames(row.stack)
        if not frames:
            node = node.child(UNKNOWN_STACK_NAME, None)
            node.add(width, row)
        for frame in frames:
            node = node.child(frame_name(frame), frame)
            node.add(width, row)
    return root


def depth(node):
    """Number of levels below and including `node`."""
    return 1 + max((depth(child) for child in node.children.values()), default=0)
