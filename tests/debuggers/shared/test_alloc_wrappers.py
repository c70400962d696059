"""Allocator wrappers are not key frames: alloc_wrappers.c allocates through
xmalloc (on the built-in list, model/keyframe.py) and pool_alloc (the
program's own). By default memstat charges xmalloc's callers, pool_alloc's
line among them; with --alloc-fn 'pool_*' the pool's callers; with --raw
the innermost frame, xmalloc's malloc line. memdiff and memleaks take the
same option.
"""

import os

import debuggers as d
from seed_expectations import marked_line

PROGRAM = "tests/debuggers/programs/alloc_wrappers"
SOURCE = os.path.join(d.SOURCE_ROOT, "tests", "debuggers", "programs", "alloc_wrappers.c")


def where(fragment):
    return "%s:%d" % (SOURCE, marked_line(SOURCE, fragment)[0])


XMALLOC_CALLS = where("/* xmalloc call line */") + ": size=1000 B, count=10, average=100 B"
POOL_LINE = where("/* pool_alloc line */") + ": size=800 B, count=20, average=40 B"
POOL_CALLS = where("/* pool_alloc call line */") + ": size=800 B, count=20, average=40 B"
MALLOC_LINE = where("/* xmalloc malloc line */") + ": size=1800 B, count=30, average=60 B"


def output_lines(result):
    assert result["ok"], "%s failed: %s" % (result["op"], result["error"])
    return result["output"].splitlines()


def test_builtin_wrapper_and_alloc_fn(session, program, runtime):
    results = session([d.load(program(PROGRAM)), d.breakpoint("main"),
                       d.breakpoint("checkpoint"), d.run(), d.command("memsnap start"),
                       d.cont(),
                       d.command("memstat"),
                       d.command("memstat --alloc-fn 'pool_*'"),
                       d.command("memstat --raw --alloc-fn 'pool_*'"),
                       d.command("memdiff start --alloc-fn pool_alloc -n 1"),
                       d.command("memleaks --show reachable --alloc-fn 'pool_*'")])
    for result in results[:6]:
        output_lines(result)
    assert output_lines(results[6]) == [XMALLOC_CALLS, POOL_LINE]
    assert output_lines(results[7]) == [XMALLOC_CALLS, POOL_CALLS]
    assert output_lines(results[8]) == [MALLOC_LINE]
    assert output_lines(results[9]) == [
        where("/* xmalloc call line */") + ": size=1000 B (+1000 B), count=10 (+10), average=100 B"]
    leaks = output_lines(results[10])
    assert XMALLOC_CALLS in leaks and POOL_CALLS in leaks, leaks
