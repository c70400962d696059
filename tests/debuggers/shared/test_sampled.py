"""A sampled table (MEMSNAP_SAMPLE) in each debugger: every figure is marked as an estimate.

waste_memory at its "after" checkpoint holds 10,000 data buffers of 100
bytes, 10,000 objects of 48 bytes and 100 arrays of 800 bytes. Traced with
a mean sampling interval R of 4096 bytes, memtrace says so, memstat and
memsnap end with the one note that their figures are estimates, and the
estimates of each line are within 3 standard deviations of the truth
(a block of size s is kept with p = 1 - exp(-s/R) and counts 1/p: the
count estimate of n blocks has variance n (1 - p) / p). memleaks says it
checks only the sampled blocks. A fixed MEMSNAP_TEST_SEED makes the draw
repeatable (the debuggers turn address randomization off), so the test
checks one draw rather than failing at random in 1% of runs.
"""

import json
import math
import os

import debuggers as d
from seed_expectations import marked_line

WASTE = "tests/programs/waste_memory"
SOURCE = os.path.join(d.SOURCE_ROOT, "tests", "programs", "waste_memory.c")
INTERVAL = 4096
MODE = "one block per 4096 B allocated on average"
NOTE = "note: sampled table, %s: sizes and counts are estimates" % MODE
TRUTH = {"/* data line */": (10000, 100), "/* object line */": (10000, 48),
         "/* array line */": (100, 800)}


def within_three_sigma(estimate, n, size):
    p = -math.expm1(-size / INTERVAL)
    sigma = math.sqrt(n * (1 - p) / p)
    return abs(estimate - n) <= 3 * sigma, sigma


def test_sampled_figures_are_estimates(session, program, runtime):
    results = session([d.load(program(WASTE), env={"MEMSNAP_SAMPLE": str(INTERVAL),
                                                     "MEMSNAP_TEST_SEED": "7"}),
                       d.breakpoint("checkpoint"), d.run(), d.cont(),
                       d.command("memtrace"), d.command("memstat -n 0"),
                       d.command("memstat --json -n 0"), d.command("memsnap after"),
                       d.command("memleaks")])
    for result in results:
        assert result["ok"], "%s failed: %s" % (result["op"], result["error"])
    assert "sampling: " + MODE in results[4]["output"].splitlines()
    assert results[5]["output"].splitlines()[-1] == NOTE
    assert results[7]["output"].splitlines()[-1] == NOTE
    assert "the trace table is sampled (%s)" % MODE in results[8]["output"]
    stats = json.loads(results[6]["output"])
    assert NOTE in stats["warnings"]
    by_line = {s["lineno"]: s for s in stats["statistics"] if s["filename"] == SOURCE}
    for fragment, (n, size) in TRUTH.items():
        stat = by_line[marked_line(SOURCE, fragment)[0]]
        ok, sigma = within_three_sigma(stat["count"], n, size)
        assert ok, "%s: %d blocks estimated, %d true (sigma %.0f)" % (fragment, stat["count"],
                                                                    n, sigma)
        # each sampled block rounds its byte weight by less than 1
        assert abs(stat["size"] - n * size) <= 3 * sigma * size + stat["count"]
