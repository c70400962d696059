"""A stripped binary: no line information, names only from dynamic symbols.

waste_memory_stripped is waste_memory built with -rdynamic and stripped of
its symbol table and debug info: get_data, run and checkpoint are exported
(found in .dynsym), MyObject_new is static (an address only). The seed's
groups must still come out apart, with the right counts, and the offender's
traceback must name the exported functions.
"""

import debuggers as d

PROGRAM = "tests/debuggers/programs/waste_memory_stripped"


def test_stripped_binary(session, program, runtime):
    results = session([d.load(program(PROGRAM)), d.breakpoint("checkpoint"), d.run(),
                       d.command("memsnap before"), d.cont(),
                       d.command("memdiff before -n 3"),
                       d.command("memdiff before -k traceback -n 1"),
                       d.command("memstat -k function -n 5")])
    for result in results:
        assert result["ok"], result["error"]
    top = results[5]["output"].splitlines()
    assert len(top) == 3, top
    assert "count=10000 (+10000), average=100 B" in top[0]
    assert "count=10000 (+10000), average=48 B" in top[1]
    assert "count=100 (+100), average=800 B" in top[2]
    # No line information: the groups are told apart, not one bucket.
    keys = [line.split(": size=")[0] for line in top]
    assert len(set(keys)) == 3, keys
    offender = results[6]["output"]
    assert "get_data" in offender and "run" in offender, offender
