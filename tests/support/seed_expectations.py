"""The seed's expected output for waste_memory.c, computed from its source.

Line numbers are found by the marker comments in tests/programs/
waste_memory.c ("/* data line */", ...) and by the calls in main/run/
get_data, so editing the program does not silently break the tests; the
numbers (sizes, counts, averages) are the seed's, fixed by the program.
marked_line() finds a marker comment the same way in any test program.
"""

import os

import debuggers

SOURCE = os.path.join(debuggers.SOURCE_ROOT, "tests", "programs", "waste_memory.c")


def _lines():
    with open(SOURCE) as f:
        return f.read().splitlines()


def line_of(fragment):
    """1-based number of the only line of waste_memory.c containing `fragment`."""
    return marked_line(SOURCE, fragment)[0]


def marked_line(path, fragment):
    """(1-based number, stripped text) of the only line of file `path` containing `fragment`."""
    with open(path) as f:
        lines = f.read().splitlines()
    found = [i + 1 for i, text in enumerate(lines) if fragment in text]
    assert len(found) == 1, "%r found on lines %s of %s" % (fragment, found, path)
    return found[0], lines[found[0] - 1].strip()


def source_text(lineno):
    return _lines()[lineno - 1].strip()


DATA = "/* data line */"
OBJECT = "/* object line */"
ARRAY = "/* array line */"
DEEP = "/* deep line */"


def top3_lines():
    """memdiff before after -n 3 (and top_n.py): the seed's three lines."""
    return [
        "%s:%d: size=977 KiB (+977 KiB), count=10000 (+10000), average=100 B"
        % (SOURCE, line_of(DATA)),
        "%s:%d: size=469 KiB (+469 KiB), count=10000 (+10000), average=48 B"
        % (SOURCE, line_of(OBJECT)),
        "%s:%d: size=78.1 KiB (+78.1 KiB), count=100 (+100), average=800 B"
        % (SOURCE, line_of(ARRAY)),
    ]


def top3_stat_lines():
    """memstat -n 3 on the after state (a core): the same lines without diffs."""
    return [
        "%s:%d: size=977 KiB, count=10000, average=100 B" % (SOURCE, line_of(DATA)),
        "%s:%d: size=469 KiB, count=10000, average=48 B" % (SOURCE, line_of(OBJECT)),
        "%s:%d: size=78.1 KiB, count=100, average=800 B" % (SOURCE, line_of(ARRAY)),
    ]


def offender_traceback():
    """The biggest offender's traceback, oldest first: main -> run -> get_data
    -> MyObject_new -> the data line, each followed by its source line."""
    frames = [line_of("= run();"), line_of("= get_data();"),
              line_of("= MyObject_new();"), line_of(DATA)]
    lines = []
    for lineno in frames:
        lines.append('  File "%s", line %d' % (SOURCE, lineno))
        lines.append("    " + source_text(lineno))
    return lines
