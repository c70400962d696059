"""Inlined functions are frames: a malloc inside an always-inlined helper
(inlined_alloc.c, -O2) shows the caller's call line, then the helper's
malloc line, each with its source text — the statistic is charged to the
helper's line, like any other innermost frame.
"""

import os

import debuggers as d
from seed_expectations import marked_line

PROGRAM = "tests/debuggers/programs/inlined_alloc"
SOURCE = os.path.join(d.SOURCE_ROOT, "tests", "debuggers", "programs", "inlined_alloc.c")


def line_of(fragment):
    return marked_line(SOURCE, fragment)


def test_inlined_frames(session, program, runtime):
    results = session([d.load(program(PROGRAM)), d.breakpoint("checkpoint"), d.run(),
                       d.command("memstat -k traceback -n 1")])
    assert all(r["ok"] for r in results), results[-1]["error"]
    call_line, call_text = line_of("/* inlined call line */")
    malloc_line, malloc_text = line_of("/* inlined malloc line */")
    lines = results[3]["output"].splitlines()
    assert lines[0] == "%s:%d: size=333 B, count=1, average=333 B" % (SOURCE, malloc_line)
    assert lines[-4:] == ['  File "%s", line %d' % (SOURCE, call_line), "    " + call_text,
                          '  File "%s", line %d' % (SOURCE, malloc_line), "    " + malloc_text]
