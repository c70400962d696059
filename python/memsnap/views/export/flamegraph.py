"""Flame graph export: a self-contained, interactive SVG file.

The tree of python/memsnap/views/export/flame_tree.py drawn as a flame graph: the
root ("all") at the bottom, callers below callees, each frame as wide as
the live bytes below it (for a comparison, the larger of old and new). The
drawing is complete without scripts (any SVG viewer shows it, labels
clipped to their frames); python/memsnap/views/export/flamegraph.js, embedded in
the file, adds the interaction in a browser: hover shows a frame's details
(also its native tooltip), a click zooms into a frame, the search box (or
'/') highlights frames whose name matches a regular expression and shows
their share, and the zoom and search live in the URL's fragment
(#zoom=f12&search=malloc) so a view can be shared or scripted. Colours: user
code warm, system libraries and allocator wrappers (keyframe.py's rule,
with the profile's --alloc-fn globs) cool; for a comparison, red
for growth and blue for shrinking, the deeper the larger the change
relative to the frame (full red: all new; full blue: all gone).
"""

import os
import zlib
from xml.sax.saxutils import escape

from ...model.format import format_size
from ...model.keyframe import KeyRule
from .flame_tree import build_tree, depth

WIDTH = 1200                 # the whole image, in px
MARGIN = 10
FRAME_HEIGHT = 17
FONT_SIZE = 12
HEADER = 74                  # title, subtitle, controls
FOOTER = 28                  # the details line
MIN_FRAME_PX = 0.3           # narrower frames (and what they hold) are not drawn
MIN_LABEL_PX = 22            # narrower frames show no label
_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flamegraph.js")

_STYLE = """
text { font-family: "DejaVu Sans Mono", monospace; font-size: %dpx; fill: #000; }
.frame { cursor: pointer; }
.frame rect { stroke: #fff; stroke-width: 0.5; }
.frame:hover rect { stroke: #000; stroke-width: 1; }
.frame.narrow text { display: none; }
.frame.hidden { display: none; }
.frame.above rect { opacity: 0.45; }
.frame.match rect { fill: #e040fb; }
#title { font-size: 17px; font-weight: bold; }
.button { fill: #1a57b5; text-decoration: underline; cursor: pointer; }
.button.inactive { fill: #999; cursor: default; text-decoration: none; }
""" % FONT_SIZE


def export_flamegraph(profile, base=None):
    """The SVG text of `profile`'s flame graph (compared to `base`)."""
    root = build_tree(profile, base)
    levels = depth(root)
    rule = KeyRule(False, profile.allocator_functions)
    plot = _Plot(root.width, levels, base is not None, rule)
    frames = plot.frames(root)
    title = profile.title if base is None else "%s compared to %s" % (profile.title, base.title)
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" '
        'viewBox="0 0 %d %d">' % (WIDTH, plot.height, WIDTH, plot.height),
        '<style><![CDATA[%s]]></style>' % _STYLE,
        '<rect width="100%" height="100%" fill="#fbfbf6"/>',
        _text('title', WIDTH / 2, 24, title, 'text-anchor="middle"'),
        _text('subtitle', WIDTH / 2, 44, _subtitle(root, base is not None), 'text-anchor="middle"'),
        _text('reset', MARGIN, 64, "Reset zoom", 'class="button inactive"'),
        _text('matched', WIDTH - MARGIN - 270, 64, "", 'text-anchor="end"'),
        '<foreignObject x="%d" y="50" width="260" height="22"><input '
        'xmlns="http://www.w3.org/1999/xhtml" id="search" type="search" '
        'placeholder="search (regular expression)" '
        'style="width:254px;font:12px monospace"/></foreignObject>' % (WIDTH - MARGIN - 260),
        '<g id="frames" data-left="%d" data-width="%d" data-total="%d" data-min-label="%d">'
        % (MARGIN, plot.width, root.width, MIN_LABEL_PX),
        *frames,
        '</g>',
        _text('details', MARGIN, plot.height - 10, _help(plot.skipped)),
        '<script><![CDATA[%s]]></script>' % _script(),
        '</svg>', ''])


class _Plot:
    """Positions frames: x from the bytes before them, y from their depth."""

    def __init__(self, total, levels, differential, rule):
        self.rule = rule            # which frames are not the user's (keyframe.py)
        self.total = total
        self.width = WIDTH - 2 * MARGIN
        self.height = HEADER + levels * FRAME_HEIGHT + FOOTER
        self.bottom = HEADER + (levels - 1) * FRAME_HEIGHT      # the root's row
        self.differential = differential
        self.skipped = 0

    def frames(self, root):
        """SVG elements of every frame wide enough to draw, root first."""
        out = []
        pending = [(root, 0, 0)]
        while pending:
            node, level, offset = pending.pop()
            pixels = self.width * node.width / self.total if self.total else 0
            if pixels < MIN_FRAME_PX:
                self.skipped += 1
                continue
            out.append(self._frame(len(out), node, level, offset, pixels))
            start = offset
            children = []
            for child in node.ordered_children():
                children.append((child, level + 1, start))
                start += child.width
            pending.extend(reversed(children))
        return out

    def _frame(self, number, node, level, offset, pixels):
        x = MARGIN + self.width * offset / self.total
        y = self.bottom - level * FRAME_HEIGHT
        classes = "frame" + (" narrow" if pixels < MIN_LABEL_PX else "")
        return ('<svg class="%s" id="f%d" x="%.2f" y="%d" width="%.2f" height="%d" '
                'data-x="%d" data-w="%d" data-depth="%d"><title>%s</title>'
                '<rect width="100%%" height="100%%" fill="%s"/>'
                '<text x="3" y="%d">%s</text></svg>'
                % (classes, number, x, y, pixels, FRAME_HEIGHT - 1, offset, node.width, level,
                   escape(self._details(node)), self._colour(node),
                   FRAME_HEIGHT - 5, escape(node.name)))

    def _details(self, node):
        lines = [node.name]
        if node.frame is not None and node.frame.module:
            lines.append("in " + node.frame.module)
        if self.differential:
            lines.append("%s -> %s (%s), blocks %d -> %d (%+d)" % (
                format_size(node.old_bytes), format_size(node.new_bytes),
                format_size(node.new_bytes - node.old_bytes, True),
                node.old_count, node.new_count, node.new_count - node.old_count))
        else:
            lines.append("%s (%.2f%%), %d blocks" % (
                format_size(node.new_bytes), 100.0 * node.new_bytes / self.total,
                node.new_count))
        return "\n".join(lines)

    def _colour(self, node):
        if self.differential:
            return _change_colour(node)
        if node.frame is None:
            return "#c9c9c1"
        seed = zlib.crc32((node.frame.function or node.name).encode("utf-8"))
        if self.rule.skips(node.frame):
            return "hsl(%d,45%%,%d%%)" % (190 + seed % 40, 62 + (seed >> 8) % 14)
        return "hsl(%d,88%%,%d%%)" % (seed % 52, 55 + (seed >> 8) % 12)


def _change_colour(node):
    largest = max(node.old_bytes, node.new_bytes)
    ratio = (node.new_bytes - node.old_bytes) / largest if largest else 0.0
    fade = int(round(235 - 185 * abs(ratio) ** 0.5))
    if ratio > 0:
        return "rgb(245,%d,%d)" % (fade, fade)
    if ratio < 0:
        return "rgb(%d,%d,245)" % (fade, fade)
    return "rgb(235,235,230)"


def _subtitle(root, differential):
    if not root.width:
        return "no traced blocks"
    if differential:
        return ("live: %s -> %s (%s), blocks %d -> %d; red grew, blue shrank; "
                "width: the larger of old and new" % (
                    format_size(root.old_bytes), format_size(root.new_bytes),
                    format_size(root.new_bytes - root.old_bytes, True),
                    root.old_count, root.new_count))
    return "live: %s in %d blocks; width: live bytes" % (format_size(root.new_bytes),
                                                          root.new_count)


def _help(skipped):
    text = "hover a frame for details, click to zoom, / to search"
    if skipped:
        text += " (%d call path%s narrower than %.1f px not drawn)" % (
            skipped, "" if skipped == 1 else "s", MIN_FRAME_PX)
    return text


def _text(element_id, x, y, content, extra=""):
    return '<text id="%s" x="%s" y="%s" %s>%s</text>' % (element_id, x, y, extra, escape(content))


def _script():
    with open(_SCRIPT, encoding="utf-8") as handle:
        script = handle.read()
    if "]]>" in script:
        raise AssertionError("flamegraph.js must not contain ']]>'")
    return script
