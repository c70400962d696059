"""The multipleinheritance heuristic's vtable test (memsnap.leaks.second_bases)
without a debugger: a hand-made address space of a module's code and
read-only data, an anonymous mapping and a heap, read through a fake target.
"""

import struct

from memsnap.errors import UnreadableMemory
from memsnap.leaks.second_bases import _VtableTest
from memsnap.target.backend import Region

CODE = 0x400000
RODATA = 0x401000
ANON = 0x500000
HEAP = 0x600000
PAGE = 0x1000


class FakeTarget:
    """read() over a dict of {start: bytearray}."""

    def __init__(self, memory):
        self.memory = memory

    def read(self, address, size):
        for start, data in self.memory.items():
            if start <= address and address + size <= start + len(data):
                return bytes(data[address - start:address - start + size])
        raise UnreadableMemory(address, size)


def words(*values):
    return bytearray(struct.pack("<%dQ" % len(values), *values))


REGIONS = [Region(CODE, CODE + PAGE, True, False, True, "/bin/prog"),
           Region(RODATA, RODATA + PAGE, True, False, False, "/bin/prog"),
           Region(ANON, ANON + PAGE, True, True, False, ""),
           Region(HEAP, HEAP + PAGE, True, True, False, "[heap]")]


def vtable_test(rodata, anon=b""):
    memory = {RODATA: bytearray(rodata.ljust(PAGE, b"\0")),
              ANON: bytearray(bytes(anon).ljust(PAGE, b"\0"))}
    return _VtableTest(FakeTarget(memory), REGIONS)


def test_two_code_pointers_make_a_vtable():
    test = vtable_test(words(0, 0, CODE + 0x10, 0, CODE + 0x20))
    assert test.looks_like_vtable(RODATA)            # zeros skipped
    assert test.looks_like_vtable(RODATA + 16)


def test_one_code_pointer_or_a_data_pointer_is_not():
    test = vtable_test(words(CODE + 0x10) + bytes(8 * 30) + words(CODE + 0x20))
    assert not test.looks_like_vtable(RODATA)        # the second is 31 words on
    test = vtable_test(words(CODE + 0x10, HEAP + 8, CODE + 0x20))
    assert not test.looks_like_vtable(RODATA)        # a non-code word comes first


def test_twenty_words_after_the_first_are_looked_at():
    test = vtable_test(words(CODE + 0x10) + bytes(8 * 19) + words(CODE + 0x20))
    assert test.looks_like_vtable(RODATA)


def test_the_mapping_end_bounds_the_words():
    rodata = bytes(PAGE - 8) + words(CODE + 0x10)
    test = vtable_test(rodata)
    assert not test.looks_like_vtable(RODATA + PAGE - 8)


def test_only_aligned_addresses_in_file_mappings():
    test = vtable_test(words(CODE + 0x10, CODE + 0x20), anon=words(CODE + 0x10, CODE + 0x20))
    assert not test.looks_like_vtable(RODATA + 4)
    assert not test.looks_like_vtable(ANON)          # anonymous memory
    assert not test.looks_like_vtable(16)            # page 0
    assert not test.looks_like_vtable(0x900000)      # unmapped


class Blocks:
    """LiveBlocks.holding() over one heap block."""

    def holding(self, address):
        return (HEAP, 64, 1) if HEAP <= address < HEAP + 64 else None


def test_second_base_needs_both_vtable_words():
    memory = {RODATA: bytearray(words(CODE + 0x10, CODE + 0x20).ljust(PAGE, b"\0")),
              HEAP: bytearray(words(RODATA, 7, RODATA, HEAP + 8).ljust(PAGE, b"\0"))}
    test = _VtableTest(FakeTarget(memory), REGIONS)
    assert test.is_second_base(HEAP + 16, RODATA, Blocks())       # word at +16 is a vtable
    assert not test.is_second_base(HEAP + 8, RODATA, Blocks())    # word at +8 is 7
    assert not test.is_second_base(HEAP + 24, RODATA, Blocks())   # a heap pointer
    assert not test.is_second_base(HEAP + 16, HEAP, Blocks())     # first word not a vtable
