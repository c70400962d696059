"""Optimized C++: functions split by GCC into hot and .cold parts keep their inlined frames.

optimized_cxx.cpp (-O2) grows a std::map<int, std::string> in fill_table()
and a std::vector<std::string> in fill_names(); GCC splits both functions
(DW_AT_ranges with a .cold range), and LLDB 14 then has no Function there,
so its backend reads the inline chain from the DWARF itself. Both
debuggers must charge the allocations to the user's lines (not to main's
call line) and print the same frames; under a debugger other than gdb the
exact text is also compared with gdb's for the same session.

Expected sizes (libstdc++'s std::string and std::map on x86-64):
fill_table line: 1000 strings of 101 B + 1000 map nodes of 72 B = 173000 B
(169 KiB, average 86 B); fill_names line: 1000 strings of 41 B + the
vector's final buffer of 1024 * 32 B = 73768 B in 1001 blocks.
"""

import os
import re

import pytest

import debuggers as d
from seed_expectations import marked_line

PROGRAM = "tests/debuggers/programs/optimized_cxx"
SOURCE = os.path.join(d.SOURCE_ROOT, "tests", "debuggers", "programs", "optimized_cxx.cpp")
COMMANDS = ("memstat -n 3", "memstat -k traceback -n 1")


def line_of(fragment):
    return marked_line(SOURCE, fragment)


def steps(path):
    return [d.load(path), d.breakpoint("checkpoint"), d.run()] + [d.command(c) for c in COMMANDS]


def outputs(results):
    assert all(r["ok"] for r in results), [r["error"] for r in results if not r["ok"]]
    return [r["output"] for r in results[3:]]


def test_split_functions_keep_inlined_frames(session, program, runtime):
    stats, traceback = outputs(session(steps(program(PROGRAM))))
    map_line, map_text = line_of("/* map line */")
    vector_line, _ = line_of("/* vector line */")
    call_line, call_text = line_of("/* fill_table call */")

    stat_lines = stats.splitlines()
    assert stat_lines[:2] == [
        "%s:%d: size=169 KiB, count=2000, average=86 B" % (SOURCE, map_line),
        "%s:%d: size=72.0 KiB, count=1001, average=74 B" % (SOURCE, vector_line)]

    lines = traceback.splitlines()
    assert lines[0] == "%s:%d: size=98.6 KiB, count=1000, average=101 B" % (SOURCE, map_line)
    caller = lines.index('  File "%s", line %d' % (SOURCE, call_line))
    assert lines[caller:caller + 4] == [
        '  File "%s", line %d' % (SOURCE, call_line), "    " + call_text,
        '  File "%s", line %d' % (SOURCE, map_line), "    " + map_text]
    # std::string's constructor, inlined into fill_table(), then libstdc++.
    assert re.fullmatch(r'  File "/.*/basic_string\.h", line [1-9][0-9]*', lines[caller + 4])


def test_same_text_as_gdb(driver, program, runtime, tmp_path):
    if driver.name == "gdb":
        pytest.skip("gdb is the reference")
    gdb = d.DRIVERS.get("gdb")
    if gdb is None or gdb.unavailable_reason():
        pytest.skip("gdb is not usable")
    path = program(PROGRAM)
    os.makedirs(tmp_path / "gdb")
    os.makedirs(tmp_path / "other")
    expected = outputs(gdb.run(steps(path), str(tmp_path / "gdb")))
    got = outputs(driver.run(steps(path), str(tmp_path / "other")))
    for command, want, have in zip(COMMANDS, expected, got):
        assert have == want, command
