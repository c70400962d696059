"""PcSymbolizer and lazy symbolization: PC-1 lookups, inlined levels as
frames, runtime frames dropped, labels for frames without line info, one
backend call per PC per session, and only as deep as the key needs."""

from fake_target import FakeBackend, TableBuilder
from memsnap.model.sources import PcFrames as PcSymbolizer
from memsnap.target.backend import Location
from memsnap.views import commands

PROG = "/build/prog"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
RT = "/build/runtime/libmemsnap.so"


def loc(function, filename, lineno, module, address, base):
    return Location(function, filename, lineno, module, address - base, address)


def test_lookup_at_pc_minus_one_with_inlined_levels():
    backend = FakeBackend(locations={0x1fff: [
        loc("inner", "/src/h.h", 3, PROG, 0x1fff, 0),
        loc("outer", "/src/a.c", 10, PROG, 0x1fff, 0)]})
    frames = PcSymbolizer(backend).frames(0x2000)
    assert [str(f) for f in frames] == ["/src/h.h:3", "/src/a.c:10"]
    assert frames[0].address == 0x2000 and frames[0].function == "inner"


def test_unresolved_relative_paths_have_one_spelling():
    # gdb gives "./csu/../csu/libc-start.c" where lldb gives "csu/libc-start.c".
    backend = FakeBackend(locations={
        0x1fff: [loc("f", "./csu/../csu/libc-start.c", 360, LIBC, 0x1fff, 0)],
        0x2fff: [loc("f", "csu/libc-start.c", 360, LIBC, 0x2fff, 0)],
        0x3fff: [loc("g", "/src/./a/../b.c", 7, PROG, 0x3fff, 0)]})
    sym = PcSymbolizer(backend)
    assert str(sym.frames(0x2000)[0]) == str(sym.frames(0x3000)[0]) == "csu/libc-start.c:360"
    assert str(sym.frames(0x4000)[0]) == "/src/b.c:7"


def test_runtime_frames_are_dropped():
    backend = FakeBackend(locations={0x1fff: [loc("memsnap_hook", "/src/rt.c", 5, RT, 0x1fff, 0)]})
    assert PcSymbolizer(backend).frames(0x2000) == ()


def test_labels_without_line_info():
    base = 0x7f0000000000
    backend = FakeBackend(
        symbols={"strdup": base + 0x1000},
        locations={base + 0x101d: [loc("strdup", None, 0, LIBC, base + 0x101d, base)],
                   base + 0x201d: [loc("hidden", None, 0, LIBC, base + 0x201d, base)],
                   base + 0x301d: [loc(None, None, 0, LIBC, base + 0x301d, base)]})
    sym = PcSymbolizer(backend)
    assert str(sym.frames(base + 0x101e)[0]) == "libc.so.6(strdup+0x1e)"
    assert str(sym.frames(base + 0x201e)[0]) == "libc.so.6(hidden [+0x201e])"
    assert str(sym.frames(base + 0x301e)[0]) == "libc.so.6(+0x301e)"
    assert str(sym.frames(0x99)[0]) == "??(0x99)"


def test_a_symbol_of_another_module_is_not_a_function_start():
    base = 0x7f0000000000
    backend = FakeBackend(symbols={"malloc": 0x7f9000000000},   # the preloaded runtime's
                          locations={base + 0x501d: [loc("malloc", None, 0, LIBC, base + 0x501d, base)]})
    assert str(PcSymbolizer(backend).frames(base + 0x501e)[0]) == "libc.so.6(malloc [+0x501e])"


def test_cache_one_lookup_per_pc_per_session(waste):
    commands.run("memstat", "", waste.after)
    first = waste.after.calls["symbolize"]
    commands.run("memstat", "", waste.after)
    commands.run("memsnap", "x", waste.after)
    commands.run("memstat", "x -k traceback", waste.after)
    assert first > 0
    # the traceback key resolves the deeper frames once, nothing else is repeated
    assert waste.after.calls["symbolize"] == 8


def test_lineno_key_symbolizes_only_up_to_the_key_frame(waste):
    commands.run("memstat", "", waste.after)
    # 4 sites whose innermost frame is the user's line: one lookup each
    assert waste.after.calls["symbolize"] == 4


def test_key_frame_search_goes_past_system_frames():
    b = TableBuilder()
    b.add_location(0x7f0000001020, ("strdup", None, 0, LIBC))
    b.add_location(0x401020, ("main", "/src/m.c", 7, PROG))
    b.add_location(0x401100, ("__libc_start_main", None, 0, LIBC))
    site = b.add_site((0x7f0000001020, 0x401020, 0x401100))
    b.add_block(0x5000000, 6, site)
    backend = b.build()
    assert commands.run("memstat", "", backend) == "/src/m.c:7: size=6 B, count=1, average=6 B"
    assert backend.calls["symbolize"] == 2
    raw = commands.run("memstat", "--raw", backend)
    assert raw.startswith("libc.so.6(strdup [+0x1020]): size=6 B")
