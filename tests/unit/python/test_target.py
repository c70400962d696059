"""The policy the core applies to every debugger's target (python/memsnap/target/):
the one cache and what each debugger event forgets, the /proc/PID/mem fast
path and its safety rule (read against this very process's memory), chunked
reads that report what is missing, and core regions named after the
debugger's."""

import ctypes
import os

import pytest

from fake_target import FakeBackend
from memsnap.errors import UnreadableMemory
from memsnap.target import corefile
from memsnap.target.backend import Generation, Location, Region, ThreadState
from memsnap.target.cache import TargetCache
from memsnap.target.memory import MIN_PIECE, Memory
from memsnap.target.target import Target


def test_each_event_forgets_what_it_may_change():
    cache = TargetCache()
    symbols, regions = cache.table("objfile", "symbols"), cache.table("stop", "regions")
    cache.observe(Generation("process 1", objfiles=3, stops=7))
    symbols["main"], regions["list"] = 0x401000, ["r"]
    cache.observe(Generation("process 1", objfiles=3, stops=7))
    assert symbols and regions
    cache.observe(Generation("process 1", objfiles=3, stops=8))      # the program ran
    assert symbols == {"main": 0x401000} and regions == {}
    regions["list"] = ["r"]
    cache.observe(Generation("process 1", objfiles=4, stops=8))      # a library was loaded
    assert symbols == {} and regions == {}
    symbols["main"], regions["list"] = 0x401000, ["r"]
    cache.observe(Generation("process 2", objfiles=4, stops=8))      # another process
    assert symbols == {} and regions == {}


def test_symbolizer_asks_the_debugger_once_per_pc_until_objfiles_change():
    backend = FakeBackend(locations={0x1fff: [Location("f", "/src/a.c", 3, "/bin/p", 0x1fff, 0x1fff)]})
    target = Target(backend).refresh()
    assert target.symbolizer.levels(0x2000)[0].lineno == 3
    assert Target.of(backend).symbolizer.levels(0x2000)[0].function == "f"
    assert backend.calls["symbolize"] == 1
    backend.events = Generation(backend.pid(), objfiles=0, stops=1)
    target.refresh()
    target.symbolizer.levels(0x2000)
    assert backend.calls["symbolize"] == 1
    backend.events = Generation(backend.pid(), objfiles=1, stops=1)
    target.refresh()
    target.symbolizer.levels(0x2000)
    assert backend.calls["symbolize"] == 2


def probe_process(debugger_bytes):
    """A fake debugger of this very process (local_pid), whose thread's stack
    pointer is a buffer here; it shows `debugger_bytes` there."""
    probe = ctypes.create_string_buffer(bytes(range(64)) * 2, 128)
    backend = FakeBackend(segments={ctypes.addressof(probe): debugger_bytes}, pid=os.getpid(),
                          threads=[ThreadState(1, {"rsp": ctypes.addressof(probe)})])
    backend.local = os.getpid()
    return backend, probe


def test_proc_mem_is_read_once_it_shows_what_the_debugger_shows():
    backend, probe = probe_process(bytes(range(64)) * 2)
    elsewhere = ctypes.create_string_buffer(b"only in this process's memory", 64)
    memory = Memory(backend)
    assert memory.read(ctypes.addressof(elsewhere), 29) == b"only in this process's memory"
    assert backend.calls["read_memory"] == 1                   # the probe, nothing else


def test_proc_mem_is_not_read_when_it_shows_other_bytes():
    backend, probe = probe_process(b"\xff" * 128)             # a stale pid, another machine...
    elsewhere = ctypes.create_string_buffer(b"only in this process's memory", 64)
    memory = Memory(backend)
    with pytest.raises(UnreadableMemory):
        memory.read(ctypes.addressof(elsewhere), 29)          # the debugger cannot: refused
    assert memory.read(ctypes.addressof(probe), 4) == b"\xff" * 4


def test_chunked_reads_report_missing_parts_and_never_take_them_as_empty():
    start = 0x100000
    backend = FakeBackend(segments={start: b"a" * (4 * MIN_PIECE),
                                    start + 5 * MIN_PIECE: b"b" * (3 * MIN_PIECE)})
    missing = []
    pieces = list(Memory(backend).pieces(start, start + 8 * MIN_PIECE,
                                         lambda s, e: missing.append((s, e)), piece=8 * MIN_PIECE))
    assert sum(len(data) for _, data in pieces) == 7 * MIN_PIECE
    assert missing == [(start + 4 * MIN_PIECE, start + 5 * MIN_PIECE)]
    assert all(data == (b"a" if address < start + 4 * MIN_PIECE else b"b") * len(data)
               for address, data in pieces)


def test_core_segments_are_named_after_the_debuggers_file_mappings():
    segments = [Region(0x1000, 0x3000, True, False, True), Region(0x3000, 0x4000, True, True, False),
                Region(0x9000, 0xa000, True, True, False, in_core=False)]
    listed = [Region(0x1000, 0x4000, True, False, True, "/bin/p", offset=0x2000),
              Region(0x5000, 0x6000, True, False, False, "/lib/skipped.so")]
    named = corefile.named_segments(segments, listed)
    assert [(r.start, r.name, r.offset, r.in_core) for r in named] == [
        (0x1000, "/bin/p", 0x2000, True), (0x3000, "/bin/p", 0x4000, True),
        (0x5000, "/lib/skipped.so", 0, False), (0x9000, "", 0, False)]


def test_call_expression_strings_and_pointer_results():
    from memsnap.target.runtime_calls import call_expression
    assert call_expression("memsnap_start", [16]) == "((int(*)(long))memsnap_start)(16L)"
    assert call_expression("memsnap_stop", []) == "((int(*)(void))memsnap_stop)()"
    # what target/attach.py passes to dlopen: every byte outside printable
    # ASCII, the quote and the backslash as octal escapes
    assert call_expression("dlopen", ['/a "b\\c/\u00e9', 4098], "long") == \
        '((long(*)(const char *, long))dlopen)("/a \\042b\\134c/\\303\\251", 4098L)'
    assert call_expression("f", [-2]) == "((int(*)(long))f)((-2L))"
