"""memstat --since: the blocks allocated after a kept snapshot was taken and still live.

waste_memory stops at the first four calls of get_data(): A is kept at the
first, B at the fourth, so the blocks born after A and live at B are the
three calls' worth in between: 300 data buffers, 300 objects and 3
arrays; run()'s deep array and the first call's array came before A. The
same answer comes from the live process (B kept, and the heap now), and
from a gcore taken at B with A loaded from a file into a fresh debugger.
A taken after B, and A from another run of the program, are one-line errors.
"""

import os

import debuggers as d
from seed_expectations import marked_line

WASTE = "tests/programs/waste_memory"
SOURCE = os.path.join(d.SOURCE_ROOT, "tests", "programs", "waste_memory.c")
CALLS_BETWEEN = 3


def line(fragment, size, count):
    lineno = marked_line(SOURCE, fragment)[0]
    return "%s:%d: size=%s, count=%d, average=%d B" % (SOURCE, lineno, _size(size), count,
                                                       size // count)


def _size(size):
    return "%d B" % size if size < 10240 else "%.1f KiB" % (size / 1024)


EXPECTED = [line("/* data line */", CALLS_BETWEEN * 100 * 100, CALLS_BETWEEN * 100),
            line("/* object line */", CALLS_BETWEEN * 100 * 48, CALLS_BETWEEN * 100),
            line("/* array line */", CALLS_BETWEEN * 800, CALLS_BETWEEN)]



def check_ok(results):
    for result in results:
        assert result["ok"], "%s failed: %s" % (result["op"], result["error"])


def test_since_live_and_on_a_core(session, program, runtime, tmp_path):
    saved = str(tmp_path / "A.memsnap")
    core = str(tmp_path / "B.core")
    steps = [d.load(program(WASTE)), d.breakpoint("get_data"), d.run(), d.command("memsnap A"),
             d.command("memsnap --save A %s" % saved)] + [d.cont()] * CALLS_BETWEEN + \
            [d.command("memsnap B"), d.command("memstat B --since A -n 0"),
             d.command("memstat --since A -n 0"), d.gcore(core),
             d.command("memstat A --since B")]
    results = session(steps)
    check_ok(results[:-1])
    assert results[-4]["output"].splitlines() == EXPECTED
    assert results[-3]["output"].splitlines() == EXPECTED
    assert not results[-1]["ok"]
    assert results[-1]["error"].strip() == ("memstat: --since B: 'B' was taken after 'A' "
                                            "(epoch 1, then 0)")

    results = session([d.open_core(program(WASTE), core),
                       d.command("memsnap --load %s A" % saved),
                       d.command("memstat --since A -n 0")])
    check_ok(results)
    assert results[2]["output"].splitlines() == EXPECTED


def test_since_refuses_another_process(session, program, runtime, tmp_path):
    saved = str(tmp_path / "A.memsnap")
    results = session([d.load(program(WASTE)), d.breakpoint("get_data"), d.run(),
                       d.command("memsnap A"), d.command("memsnap --save A %s" % saved)])
    check_ok(results)
    results = session([d.load(program(WASTE)), d.breakpoint("get_data"), d.run(),
                       d.command("memsnap --load %s A" % saved),
                       d.command("memstat --since A")])
    check_ok(results[:-1])
    assert not results[-1]["ok"]
    assert "memstat: --since A: the snapshots come from different processes" in \
        results[-1]["error"]
