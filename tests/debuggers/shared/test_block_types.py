"""Blocks grouped by inferred type (`memstat -k type`, Snapshot.statistics('type'), `memwhere --print`), in GDB and LLDB, live and on a core.

retain_shapes keeps a C++ hierarchy reached only through Shape pointers:
each object must be counted under its most derived class (from its
vtable), the pointer array under `Shape *` (the type g_shapes declares),
the Label and its strdup'ed text under the types their pointers declare,
and the buffer behind a void * as `?` with its allocation line; the site
whose records are kept as Points and as Ranges is noted; memwhere
--print shows an object as its class with the debugger's own printer.
On waste_memory the objects and their char buffers fall apart by type.
"""

import os
import re

import debuggers as d

SHAPES = "tests/debuggers/programs/retain_shapes"
SHAPES_SOURCE = os.path.join(d.SOURCE_ROOT, SHAPES + ".cpp")
WASTE = "tests/programs/waste_memory"


def line_of(text):
    with open(SHAPES_SOURCE) as f:
        found = [n for n, line in enumerate(f, 1) if text in line]
    assert len(found) == 1, (text, found)
    return found[0]


SHAPE_TYPES = [
    "Circle: size=72 B, count=3, average=24 B",
    "Shape *: size=64 B, count=1, average=64 B",
    "? (retain_shapes.cpp:%d): size=64 B, count=1, average=64 B"
    % line_of("g_buffer = malloc(64);"),
    "ColoredSquare: size=56 B, count=1, average=56 B",
    "Square: size=48 B, count=2, average=24 B",
    "Range: size=32 B, count=2, average=16 B",
    "Point: size=32 B, count=2, average=16 B",
    "Label: size=16 B, count=1, average=16 B",
    "char: size=8 B, count=1, average=8 B",
    "note: blocks allocated at retain_shapes.cpp:%d have different types: Range (2 blocks), "
    "Point (2 blocks)" % line_of("return calloc(1, 16);"),
]
API = ("import memsnap\n"
       "print([str(s) for s in memsnap.take_snapshot().statistics('type')[:12]])")
COMMANDS = [d.command("memstat -k type -n 0"), d.python(API),
            d.command("memwhere g_shapes[3] --print"), d.command("memwhere g_shapes --print")]


def program_lines(output):
    """memstat's lines of the program's own types and blocks (not libstdc++'s)."""
    output = re.sub(r"(\? \(|allocated at )\S*/retain_shapes\.cpp:", r"\1retain_shapes.cpp:",
                    output)
    return [line for line in output.splitlines() if "libstdc++" not in line]


def check_shapes(results):
    for result in results:
        assert result["ok"], result["error"]
    assert program_lines(results[0]["output"]) == SHAPE_TYPES
    api = results[1]["output"]
    for line in SHAPE_TYPES[:2] + SHAPE_TYPES[3:-1]:
        assert repr(line) in api, api
    printed = results[2]["output"]
    assert "\nas ColoredSquare:\n" in printed, printed
    assert re.search(r"rgb = 16711680", printed) and re.search(r"side = 2\b", printed), printed
    assert "\nas Shape * [8]:\n" in results[3]["output"], results[3]["output"]


def test_shapes_by_most_derived_class(session, program, runtime, tmp_path):
    core = str(tmp_path / "retain_shapes.core")
    start = [d.load(program(SHAPES)), d.breakpoint("shapes_checkpoint"), d.run()]
    live = session(start + COMMANDS + [d.gcore(core)])
    check_shapes(live[len(start):-1])
    assert live[-1]["ok"], live[-1]["error"]
    check_shapes(session([d.open_core(program(SHAPES), core)] + COMMANDS)[1:])


# Every block typed: one array whose first reaching root is a stale stack
# copy takes its type from the deep array's member pointing at it.
WASTE_TYPES = [
    "unsigned char: size=977 KiB, count=10000, average=100 B",
    "struct MyObject: size=469 KiB, count=10000, average=48 B",
    "struct MyObject *: size=78.1 KiB, count=100, average=800 B",
    "struct MyObject **: size=800 B, count=1, average=800 B",
]


def test_waste_memory_objects_and_buffers_apart(session, program, runtime):
    results = session([d.load(program(WASTE)), d.breakpoint("checkpoint"), d.run(), d.cont(),
                       d.command("memstat -k type -n 0")])
    assert results[4]["ok"], results[4]["error"]
    assert results[4]["output"].splitlines() == WASTE_TYPES
