"""memgrowth across three snapshots of waste_memory, kept at the first three
calls of get_data(): the object, data and array lines grew at every step,
run()'s deep array (allocated once) did not; one snapshot is a usage error.
"""

import os

import debuggers as d
from seed_expectations import marked_line

WASTE = "tests/programs/waste_memory"
SOURCE = os.path.join(d.SOURCE_ROOT, "tests", "programs", "waste_memory.c")


def where(fragment):
    return "%s:%d" % (SOURCE, marked_line(SOURCE, fragment)[0])


def test_memgrowth(session, program, runtime):
    results = session([d.load(program(WASTE)), d.breakpoint("get_data"), d.run(),
                       d.command("memsnap g1"), d.cont(), d.command("memsnap g2"), d.cont(),
                       d.command("memsnap g3"),
                       d.command("memgrowth g1 g2 g3"),
                       d.command("memgrowth g1 g2 g3 -n 1 -i '*nothing*'"),
                       d.command("memgrowth g1")])
    for result in results[:10]:
        assert result["ok"], "%s failed: %s" % (result["op"], result["error"])
    assert results[8]["output"].splitlines() == [
        where("/* data line */") + ": size=19.5 KiB (+19.5 KiB), count=200 (+200), "
        "growth=+10000 B/step, sizes: 0 B -> 10000 B -> 19.5 KiB",
        where("/* object line */") + ": size=9600 B (+9600 B), count=200 (+200), "
        "growth=+4800 B/step, sizes: 0 B -> 4800 B -> 9600 B",
        where("/* array line */") + ": size=1600 B (+1600 B), count=2 (+2), "
        "growth=+800 B/step, sizes: 0 B -> 800 B -> 1600 B"]
    assert results[9]["output"].splitlines() == ["no key grew at every step of g1, g2, g3"]
    assert not results[10]["ok"]
    assert "memgrowth: missing argument" in results[10]["error"]
