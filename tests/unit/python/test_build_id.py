"""Build IDs (python/memsnap/target/build_id.py) as `readelf -n` reports them:
from files (a shared library, a position-independent and a fixed-address
program, one linked without a build ID), from images loaded in live
processes (this test's own libc, a stopped fixed-address child), memory
first and the file as fallback, and None — never an error or a blocked
open — for corrupt notes, unreadable memory, FIFOs and directories."""

import os
import re
import struct
import subprocess

import pytest

from memsnap.target import procmaps
from memsnap.target.build_id import (NOTE_HEADER, build_id, build_id_in_file, build_id_in_memory,
                              find_build_id)
from memsnap.errors import UnreadableMemory

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
SOURCE = ("#include <stdio.h>\n"
          "int main(void) { puts(\"ready\"); fflush(stdout); return getchar() == 'x'; }\n")


def readelf_build_id(path):
    text = subprocess.run(["readelf", "-n", path], capture_output=True, text=True,
                          check=True).stdout
    match = re.search(r"Build ID: ([0-9a-f]+)", text)
    return match.group(1) if match else None


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    """name -> path of small programs linked in different ways."""
    directory = tmp_path_factory.mktemp("build-id")
    source = directory / "wait.c"
    source.write_text(SOURCE)
    built = {}
    for name, flags in (("pie", ["-pie", "-fPIE"]), ("fixed", ["-no-pie"]),
                        ("none", ["-Wl,--build-id=none"]), ("md5", ["-Wl,--build-id=md5"])):
        built[name] = str(directory / name)
        subprocess.run(["cc", "-O0", *flags, "-o", built[name], str(source)], check=True)
    return built


def read_process(pid):
    """read(address, size) over a live process's memory."""
    def read(address, size):
        try:
            with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
                mem.seek(address)
                data = mem.read(size)
        except OSError:
            raise UnreadableMemory(address, size)
        if len(data) != size:
            raise UnreadableMemory(address, size)
        return data
    return read


def image_base(pid, path):
    real = os.path.realpath(path)
    return min(m.start for m in procmaps.read_mappings(pid)
               if m.name and os.path.realpath(m.name) == real)


def test_files_match_readelf(programs):
    for path in (LIBC, programs["pie"], programs["fixed"], programs["md5"]):
        expected = readelf_build_id(path)
        assert expected, path
        assert build_id_in_file(path) == expected, path
    assert len(build_id_in_file(programs["md5"])) == 32          # not only sha1's 40


def test_file_without_build_id(programs):
    assert readelf_build_id(programs["none"]) is None
    assert build_id_in_file(programs["none"]) is None


def test_this_process_libc_in_memory():
    pid = os.getpid()
    found = build_id_in_memory(read_process(pid), image_base(pid, LIBC))
    assert found == readelf_build_id(LIBC)


def test_fixed_address_program_in_memory(programs):
    child = subprocess.Popen([programs["fixed"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline() == b"ready\n"      # running: its image is mapped
        base = image_base(child.pid, programs["fixed"])
        assert base < 0x1000000                            # not relocated
        assert build_id_in_memory(read_process(child.pid), base) == \
            readelf_build_id(programs["fixed"])
    finally:
        child.communicate(b"q")


def unreadable(address, size):
    raise UnreadableMemory(address, size)


def test_memory_first_then_file(programs):
    pid = os.getpid()
    assert build_id(unreadable, 0x1000, programs["md5"]) == readelf_build_id(programs["md5"])
    # the loaded image wins over whatever file is named
    assert build_id(read_process(pid), image_base(pid, LIBC), programs["md5"]) == \
        readelf_build_id(LIBC)
    assert build_id(unreadable, 0x1000) is None
    assert build_id(unreadable, 0x1000, programs["none"]) is None


def test_non_files_are_not_opened_for_reading(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert build_id_in_file(str(fifo)) is None             # returns, does not block
    assert build_id_in_file(str(tmp_path)) is None
    assert build_id_in_file(str(tmp_path / "missing")) is None
    (tmp_path / "text").write_text("not an ELF file")
    assert build_id_in_file(str(tmp_path / "text")) is None


def note(owner, note_type, desc, align=4):
    def pad(data):
        return data + b"\0" * (-len(data) % align)
    return NOTE_HEADER.pack(len(owner), len(desc), note_type) + pad(owner) + pad(desc)


def test_notes_parsing():
    wanted = bytes(range(20))
    property_note = note(b"GNU\0", 5, b"\x02\0\0\xc0\x04\0\0\0\x03\0\0\0", align=8)
    assert find_build_id(property_note + note(b"GNU\0", 3, wanted, 8), 8) == wanted.hex()
    assert find_build_id(note(b"GNU\0", 1, b"\0" * 16) + note(b"GNU\0", 3, wanted)) == wanted.hex()
    assert find_build_id(note(b"Xen\0", 3, wanted)) is None        # another owner's type 3
    assert find_build_id(note(b"GNU\0", 3, wanted)[:-1]) is None   # cut short
    assert find_build_id(b"") is None
    huge = struct.pack("<III", 0xFFFFFFFF, 0xFFFFFFFF, 3) + b"GNU\0"
    assert find_build_id(huge) is None
    assert find_build_id(note(b"GNU\0", 3, b"\x01" * 1000)) is None   # not a build ID
