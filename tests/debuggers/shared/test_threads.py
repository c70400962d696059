"""A multi-threaded program stopped at 60 random points: totals consistent at every stop.

threads_churn's workers allocate and free blocks of a fixed size per site
while a ticker thread hits sample_point() after random delays; all threads
stop there wherever they are (inside malloc, free or the runtime). At each
stop: every site's bytes == its count x its size, and the sum over sites
equals memsnap.get_traced_memory()'s current bytes, up to the blocks the
snapshot reports as in flight (each at most the largest size, 4000 B).
"""

import os

import debuggers as d

PROGRAM = "tests/debuggers/programs/threads_churn"
SOURCE = os.path.join(d.SOURCE_ROOT, "tests", "debuggers", "programs", "threads_churn.c")
SAMPLES = 60
WORKERS = 4
SIZES = {"site_small": 24, "site_medium": 200, "site_large": 4000, "site_zeroed": 70}


def site_lines():
    with open(SOURCE) as f:
        lines = f.read().splitlines()
    found = {}
    for name in SIZES:
        matches = [i + 1 for i, text in enumerate(lines) if " *%s(void)" % name in text]
        assert len(matches) == 1, name
        found[matches[0]] = SIZES[name]
    return found


CHECK = """
import memsnap
snapshot = memsnap.take_snapshot()
current, peak = memsnap.get_traced_memory()
in_flight = snapshot.skipped
total = 0
sites = 0
for stat in snapshot.statistics('lineno'):
    total += stat.size
    frame = stat.traceback[0]
    size = SITE_SIZES.get(frame.lineno) if frame.filename.endswith('threads_churn.c') else None
    if size is not None:
        sites += 1
        assert stat.size == stat.count * size, (frame.lineno, stat.size, stat.count, size)
assert in_flight <= WORKERS + 1, in_flight
assert abs(total - current) <= in_flight * 4000, (total, current, in_flight)
print('ok', sites, in_flight, total - current)
"""


def test_random_stops_consistent(session, program, runtime):
    setup = "SITE_SIZES = %r\nWORKERS = %d\n" % (site_lines(), WORKERS)
    steps = [d.load(program(PROGRAM), args=[str(SAMPLES), "7"]),
             d.breakpoint("sample_point"), d.run(), d.python(setup)]
    for _ in range(SAMPLES):
        steps += [d.python(CHECK), d.command("memtrace"), d.cont()]
    results = session(steps)
    assert results[2]["stop"]["function"] == "sample_point"
    checked = 0
    for index in range(4, len(results), 3):
        check, status, cont = results[index:index + 3]
        assert check["ok"], "stop %d: %s\n%s" % (checked, check["error"], check["output"])
        assert check["output"].startswith("ok "), check["output"]
        assert status["ok"], status["error"]
        checked += 1
    assert checked == SAMPLES
    assert results[-1]["stop"]["state"] == "exited"
    assert results[-1]["stop"]["exit_code"] == 0
