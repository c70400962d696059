"""target/types.py over types given as data: the words of a type named as C writes them.

A small C type set (the types of tests/debuggers/programs/retain_paths.c,
a union, a C++ class with a base, typedefs' sizes) is handed out by a
backend of two primitives, type_members and type_target, the way gdb's and
LLDB's backends hand out theirs (backend.DataType and Member); the rules
checked: members, nested arrays, the pointer member of a union, base
classes not written, blocks as arrays of their type, void * saying nothing.
"""

from memsnap.target import types
from memsnap.target.backend import (TYPE_ARRAY, TYPE_OTHER, TYPE_POINTER, TYPE_STRUCT, TYPE_UNION,
                                    DataType, Member)

VOID = DataType("void", TYPE_OTHER, 0)
CHAR = DataType("char", TYPE_OTHER, 1)
INT = DataType("int", TYPE_OTHER, 4)
LONG = DataType("unsigned long", TYPE_OTHER, 8)
PAYLOAD = DataType("struct payload", TYPE_STRUCT, 24)
ENTRY = DataType("struct entry", TYPE_STRUCT, 24)
TABLE = DataType("struct table", TYPE_STRUCT, 264)
WORD = DataType("union word", TYPE_UNION, 8)
BASE = DataType("Base", TYPE_STRUCT, 16)
DERIVED = DataType("Derived", TYPE_STRUCT, 32)


def pointer(to):
    return DataType(to.name + " *", TYPE_POINTER, 8, ("pointer", to))


def array(of, count):
    return DataType("%s [%d]" % (of.name, count), TYPE_ARRAY, of.size * count, ("array", of))


MEMBERS = {
    "struct payload": [Member("id", 0, INT), Member("name", 4, array(CHAR, 20))],
    "struct entry": [Member("key", 0, LONG), Member("next", 8, pointer(ENTRY)),
                     Member("payload", 16, pointer(PAYLOAD))],
    "struct table": [Member("nbuckets", 0, INT), Member("buckets", 8, array(pointer(ENTRY), 32))],
    "union word": [Member("bits", 0, LONG), Member("entry", 0, pointer(ENTRY))],
    "Base": [Member("vptr_free", 0, LONG), Member("owner", 8, pointer(TABLE))],
    "Derived": [Member("Base", 0, BASE, is_base=True), Member("words", 16, array(WORD, 2))],
}


class TypesBackend:
    """The two type primitives over the data above."""

    def type_members(self, datatype):
        return MEMBERS.get(datatype.name, [])

    def type_target(self, datatype):
        return datatype.handle[1] if datatype.handle else None


B = TypesBackend()


def test_members_and_nested_arrays():
    assert types.member_path(B, TABLE, 8 + 17 * 8) == (".buckets[17]", pointer(ENTRY))
    assert types.member_path(B, ENTRY, 16) == (".payload", pointer(PAYLOAD))
    assert types.member_path(B, TABLE, 4) is None            # padding
    assert types.member_path(B, PAYLOAD, 8) is None          # inside name[20]: chars
    assert types.member_path(B, ENTRY, 0) == (".key", LONG)
    assert types.member_path(B, pointer(ENTRY), 0) == ("", pointer(ENTRY))
    assert types.member_path(B, TABLE, 264) is None


def test_union_prefers_its_pointer_and_bases_are_not_written():
    assert types.member_path(B, WORD, 0) == (".entry", pointer(ENTRY))
    assert types.member_path(B, DERIVED, 8) == (".owner", pointer(TABLE))
    assert types.member_path(B, DERIVED, 24) == (".words[1].entry", pointer(ENTRY))


def test_step_into_a_block_of_values():
    assert types.step_into(B, ENTRY, 8) == ("->next", pointer(ENTRY))
    assert types.step_into(B, ENTRY, 2 * 24 + 16) == ("[2].payload", pointer(PAYLOAD))
    assert types.step_into(B, pointer(ENTRY), 3 * 8) == ("[3]", pointer(ENTRY))
    assert types.step_into(B, CHAR, 0x18) is None
    assert types.step_into(B, None, 0) is None
    assert types.step_into(B, VOID, 0) is None


def test_pointee():
    assert types.pointee(B, pointer(ENTRY)) == ENTRY
    assert types.pointee(B, pointer(VOID)) is None
    assert types.pointee(B, LONG) is None
    assert types.pointee(B, None) is None
