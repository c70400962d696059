"""Frame: one level of a call stack, tracemalloc's Frame plus what C needs.

A frame with line information is identified, like tracemalloc's, by
(filename, lineno) and prints as "file:line". A frame without line
information (no debug info, stripped code, unknown address) must still tell
functions and call sites apart, so it carries a `label`: its filename is the
module's base name ("libc.so.6", "??" for no module), its lineno is 0, and
the label names the place inside the module ("malloc+0x1a", "malloc
[+0x9a0b1]", "+0x9a0b1", or "0x7f12..." for an unknown address); it prints
as "libc.so.6(malloc+0x1a)". Identity, ordering and hashing use
(filename, lineno, label); function, address and module are extras that do
not split groups. frames_at() makes the Frames of a return address from
what the target's symbolizer found there (target/symbolize.py).
"""

from functools import total_ordering

from ..target.modules import module_basename

_TUPLE_LEN = 6


@total_ordering
class Frame:
    """Frame of a traceback: filename, lineno (+ function, address, module, label)."""

    __slots__ = ("_frame", "_key")

    def __init__(self, frame):
        # frame: (filename, lineno) as in tracemalloc, or the full
        # (filename, lineno, function, address, module, label).
        data = tuple(frame)
        if len(data) == 2:
            data = data + (None, None, None, "")
        elif len(data) != _TUPLE_LEN:
            raise TypeError("a frame is (filename, lineno) or "
                            "(filename, lineno, function, address, module, label)")
        if data[5] is None:
            data = data[:5] + ("",)
        self._frame = data
        self._key = (data[0], data[1], data[5])

    @classmethod
    def _of(cls, data):
        """From a full 6-tuple whose label is a str (frames_at's, no checks)."""
        frame = cls.__new__(cls)
        frame._frame = data
        frame._key = (data[0], data[1], data[5])
        return frame

    @property
    def filename(self):
        return self._frame[0]

    @property
    def lineno(self):
        return self._frame[1]

    @property
    def function(self):
        """Function name (demangled), None if unknown."""
        return self._frame[2]

    @property
    def address(self):
        """The return address recorded in the stack (not minus one), or None."""
        return self._frame[3]

    @property
    def module(self):
        """Path of the loaded object holding the code, or None."""
        return self._frame[4]

    @property
    def label(self):
        """Place inside the module for frames without line info, else ""."""
        return self._frame[5]

    @property
    def has_line(self):
        return not self._frame[5]

    def as_tuple(self):
        return self._frame

    def __eq__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        return self._key == other._key

    def __lt__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        return self._key < other._key

    def __hash__(self):
        return hash(self._key)

    def __str__(self):
        if self._frame[5]:
            return "%s(%s)" % (self._frame[0], self._frame[5])
        return "%s:%s" % (self._frame[0], self._frame[1])

    def __repr__(self):
        text = "<Frame filename=%r lineno=%r" % (self._frame[0], self._frame[1])
        if self._frame[2] is not None:
            text += " function=%r" % (self._frame[2],)
        if self._frame[5]:
            text += " label=%r" % (self._frame[5],)
        return text + ">"


UNKNOWN_FRAME = Frame(("<unknown>", 0))


def frames_at(pc, levels):
    """The Frames of return address `pc`, from its CodeLevels, innermost first."""
    return tuple(_frame(pc, level) for level in levels)


def _frame(pc, level):
    if level.filename:
        return Frame._of((level.filename, level.lineno, level.function, pc, level.module, ""))
    label = label_for(level.function, level.function_offset, level.module_offset, pc)
    return Frame._of((module_basename(level.module), 0, level.function, pc, level.module, label))


def label_for(function, function_offset, module_offset, address):
    """The label of a frame without line info (see the module docstring)."""
    if function and function_offset is not None:
        return "%s+0x%x" % (function, function_offset)
    if function and module_offset is not None:
        return "%s [+0x%x]" % (function, module_offset)
    if function:
        return function
    if module_offset is not None:
        return "+0x%x" % module_offset
    return "0x%x" % address


class TypeFrame(Frame):
    """The key of a statistic by type (Snapshot.statistics("type"), memsnap
    extra): a block's type name, or "?" with where the block was allocated
    (`allocated_at`, a key frame's text) when its type is unknown. Prints as
    "struct MyObject" or "? (waste_memory.c:52)"."""

    __slots__ = ()

    def __init__(self, name, allocated_at=""):
        super().__init__((name, 0, None, None, None, allocated_at))

    def __str__(self):
        return "%s (%s)" % (self.filename, self.label) if self.label else self.filename
