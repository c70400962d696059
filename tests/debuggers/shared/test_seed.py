"""The seed flow (tracemalloc tutorial) in each debugger: live, on a gcore, on a kernel core.

Live: break at checkpoint, `memsnap before`, continue, `memsnap after`,
then `memdiff before after -n 3` prints the seed's three lines and
`memdiff before after -k traceback -n 1` the biggest offender with its
traceback main -> run -> get_data -> MyObject_new -> malloc line. Post
mortem: `memstat -n 3` on a gcore taken at the after checkpoint and on the
kernel's core of waste_and_abort prints the same three groups.
"""

import os

import debuggers as d
from cores import kernel_core
import seed_expectations as seed

WASTE = "tests/programs/waste_memory"


def seed_steps(program):
    return [
        d.load(program),
        d.breakpoint("checkpoint"),
        d.run(),
        d.command("memsnap before"),
        d.cont(),
        d.command("memsnap after"),
        d.command("memdiff before after -n 3"),
        d.command("memdiff before after -k traceback -n 1"),
    ]


def assert_ok(result):
    assert result["ok"], "%s failed: %s\n%s" % (result["op"], result["error"],
                                                 result.get("transcript", ""))


def test_seed_live(session, program, runtime):
    results = session(seed_steps(program(WASTE)))
    for result in results:
        assert_ok(result)
    assert results[2]["stop"]["function"] == "checkpoint"
    assert results[4]["stop"]["function"] == "checkpoint"
    assert results[6]["output"].splitlines() == seed.top3_lines()
    offender = results[7]["output"].splitlines()
    assert offender[0] == seed.top3_lines()[0]
    expected = seed.offender_traceback()
    assert offender[-len(expected):] == expected, "\n".join(offender)


def test_seed_on_gcore(session, program, runtime, tmp_path):
    waste = program(WASTE)
    core = str(tmp_path / "after.core")
    results = session(seed_steps(waste) + [d.gcore(core)])
    for result in results:
        assert_ok(result)
    assert os.path.getsize(core) > 0
    results = session([d.open_core(waste, core), d.command("memstat -n 3"),
                       d.command("memtrace")])
    for result in results:
        assert_ok(result)
    assert results[1]["output"].splitlines() == seed.top3_stat_lines()


def test_seed_on_kernel_core(session, program, runtime, tmp_path):
    aborting = program("tests/debuggers/programs/waste_and_abort")
    core = kernel_core(aborting, runtime, str(tmp_path))
    results = session([d.open_core(aborting, core), d.command("memstat -n 3"),
                       d.command("memstat -k traceback -n 1")])
    for result in results:
        assert_ok(result)
    assert results[1]["output"].splitlines() == seed.top3_stat_lines()
    offender = results[2]["output"].splitlines()
    expected = seed.offender_traceback()
    assert offender[-len(expected):] == expected, "\n".join(offender)
