"""Typed memory, written once for every debugger: which member of a type holds a word, and what a pointer points to.

Over the backend's type primitives (backend.py: type_members, type_target)
and its DataType records. member_path() names the pointer-sized word at an
offset inside a value of a type as C writes it (".buckets[17]",
".hdr.next", "[3]"), descending through struct and union members, C++
base classes (whose names C++ does not write) and arrays; in a union the
member whose word is a pointer wins. step_into() names the word at an
offset into a heap block seen as an array of its pointee type ("->next",
"[2].next"). pointee() is the type a pointer declares for what it points
to, or None where it says nothing (void *, an incomplete type).
"""

from .backend import TYPE_ARRAY, TYPE_POINTER, TYPE_STRUCT, TYPE_UNION

MAX_DEPTH = 32      # nesting of members and arrays followed
_WORD = 8           # a pointer's size: a smaller scalar (char, int) cannot hold one


def member_path(backend, datatype, offset, depth=0):
    """(text, leaf DataType) of the word at `offset` bytes into a value of
    `datatype`: ("", datatype) at offset 0 of a pointer or a word-sized
    scalar; None where no member lies there or one too small for a pointer
    (a char buffer's bytes are not named)."""
    if depth > MAX_DEPTH or offset < 0:
        return None
    if datatype.kind == TYPE_ARRAY:
        return _element_path(backend, datatype, offset, depth)
    if datatype.kind in (TYPE_STRUCT, TYPE_UNION):
        return _member_path(backend, datatype, offset, depth)
    return ("", datatype) if offset == 0 and datatype.size >= _WORD else None


def _element_path(backend, datatype, offset, depth):
    element = backend.type_target(datatype)
    if element is None or element.size <= 0 or (datatype.size and offset >= datatype.size):
        return None
    index, inner = divmod(offset, element.size)
    rest = member_path(backend, element, inner, depth + 1)
    return None if rest is None else ("[%d]%s" % (index, rest[0]), rest[1])


def _member_path(backend, datatype, offset, depth):
    found = None
    for member in backend.type_members(datatype):
        if not member.offset <= offset < member.offset + max(member.type.size, 1):
            continue
        rest = member_path(backend, member.type, offset - member.offset, depth + 1)
        if rest is None:
            continue
        text = rest[0] if member.is_base or not member.name else "." + member.name + rest[0]
        if rest[1].kind == TYPE_POINTER:
            return text, rest[1]
        found = found or (text, rest[1])
    return found


def step_into(backend, datatype, offset):
    """(text, leaf DataType) of the word at `offset` into a heap block holding
    values of `datatype` (a block may hold an array of them): "->next" in
    the first, "[2].next" in the third; None when the type says nothing."""
    if datatype is None or datatype.size <= 0:
        return None
    index, inner = divmod(offset, datatype.size)
    found = member_path(backend, datatype, inner)
    if found is None:
        return None
    text, leaf = found
    if index == 0 and text.startswith("."):
        return "->" + text[1:], leaf
    return "[%d]%s" % (index, text), leaf


def pointee(backend, datatype):
    """The type `datatype` (a pointer) declares for what it points to, or None."""
    if datatype is None or datatype.kind != TYPE_POINTER:
        return None
    target = backend.type_target(datatype)
    if target is None or target.size <= 0:
        return None
    return target
