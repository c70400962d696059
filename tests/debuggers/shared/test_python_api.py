"""The seed's top_n.py and with_trace.py on `import memsnap`, in each debugger.

The analysis code is the seed's, unchanged but for the module name, run as
Python steps at the two checkpoints of waste_memory; it must print what the
memdiff commands print (the seed's three lines; the offender's traceback).
"""

import debuggers as d
import seed_expectations as seed

BEFORE = """
import memsnap
time1 = memsnap.take_snapshot()        # Before snapshot
"""

TOP_N = """
time2 = memsnap.take_snapshot()        # After snapshot
stats = time2.compare_to(time1, 'lineno')  # Compare snapshots
for stat in stats[:3]:
    print(stat)
"""

WITH_TRACE = """
stats = time2.compare_to(time1, 'traceback')
top = stats[0]
print('Biggest offender is:')
print('\\n'.join(top.traceback.format()))
"""


def test_top_n_and_with_trace(session, program, runtime):
    results = session([
        d.load(program("tests/programs/waste_memory")),
        d.breakpoint("checkpoint"),
        d.run(),
        d.python(BEFORE),
        d.cont(),
        d.python(TOP_N),
        d.python(WITH_TRACE),
    ])
    for result in results:
        assert result["ok"], result["error"] + "\n" + result["output"]
    assert results[5]["output"].splitlines() == seed.top3_lines()
    offender = results[6]["output"].splitlines()
    assert offender[0] == "Biggest offender is:"
    expected = seed.offender_traceback()
    assert offender[-len(expected):] == expected, "\n".join(offender)
