"""Snapshot semantics: statistics, compare_to, cumulative, filters, sort and
tie order, checked against CPython's tracemalloc on the same traces, plus
memsnap's additions (function key, key-frame rule, frames without lines)."""

import random
import tracemalloc

import pytest

import memsnap
from memsnap import DomainFilter, Filter, Frame, Snapshot, Traceback
from memsnap.errors import InvalidArgumentError, MemsnapError

FILES = ["a.c", "b.c", "src/c.c", "lib/d.cc"]


def random_traces(seed, n=300):
    rng = random.Random(seed)
    stacks = []
    for _ in range(25):
        depth = rng.randint(1, 4)
        stacks.append(tuple((rng.choice(FILES), rng.randint(1, 6)) for _ in range(depth)))
    traces = []
    for _ in range(n):
        stack = rng.choice(stacks)
        traces.append((rng.choice((0, 0, 0, 7)), rng.choice((8, 16, 100, 4096, 10240)), stack,
                       len(stack)))
    return traces


def summary(stats):
    return [(str(s), repr(s)) for s in stats]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("key, cumulative", [("lineno", False), ("filename", False),
                                             ("traceback", False), ("lineno", True),
                                             ("filename", True)])
def test_statistics_match_tracemalloc(seed, key, cumulative):
    traces = random_traces(seed)
    # tracemalloc counts a frame twice when it repeats in one traceback;
    # memsnap counts it once: keep stacks without repeats for the oracle.
    # (and a file once per traceback for the filename key).
    if key == "filename":
        traces = [t for t in traces if len({f[0] for f in t[2]}) == len(t[2])]
    else:
        traces = [t for t in traces if len(set(t[2])) == len(t[2])]
    assert len(traces) > 30
    mine = Snapshot(traces, 10).statistics(key, cumulative)
    theirs = tracemalloc.Snapshot(traces, 10).statistics(key, cumulative)
    assert summary(mine) == summary(theirs)


@pytest.mark.parametrize("key", ["lineno", "filename", "traceback"])
def test_compare_to_matches_tracemalloc(key):
    old, new = random_traces(10), random_traces(11)
    mine = Snapshot(new, 10).compare_to(Snapshot(old, 10), key)
    theirs = tracemalloc.Snapshot(new, 10).compare_to(tracemalloc.Snapshot(old, 10), key)
    assert summary(mine) == summary(theirs)


def test_compare_to_vanished_and_unchanged_groups():
    old = Snapshot([(0, 100, (("x.c", 1),), 1), (0, 50, (("y.c", 2),), 1)], 1)
    new = Snapshot([(0, 100, (("x.c", 1),), 1)], 1)
    lines = [str(s) for s in new.compare_to(old, "lineno")]
    assert lines == ["y.c:2: size=0 B (-50 B), count=0 (-1)",
                     "x.c:1: size=100 B (+0 B), count=1 (+0), average=100 B"]


FILTERS = [
    [Filter(True, "a.c")],
    [Filter(False, "a.c")],
    [Filter(True, "*.c", lineno=3)],
    [Filter(True, "b.c", all_frames=True)],
    [Filter(False, "b.c", all_frames=True)],
    [Filter(True, "a.c"), Filter(True, "src/*")],
    [Filter(True, "*"), Filter(False, "lib/*"), Filter(False, "b.c", lineno=2)],
    [Filter(True, "a.c", domain=7)],
    [Filter(False, "a.c", domain=7)],
    [DomainFilter(True, 7)],
    [DomainFilter(False, 7), Filter(True, "*.c")],
    [],
]


@pytest.mark.parametrize("index", range(len(FILTERS)))
def test_filter_traces_matches_tracemalloc(index):
    traces = random_traces(5)
    mine_filters = FILTERS[index]
    their_filters = []
    for f in mine_filters:
        if isinstance(f, DomainFilter):
            their_filters.append(tracemalloc.DomainFilter(f.inclusive, f.domain))
        else:
            their_filters.append(tracemalloc.Filter(f.inclusive, f.filename_pattern, f.lineno,
                                                    f.all_frames, f.domain))
    mine = Snapshot(traces, 10).filter_traces(mine_filters)
    theirs = tracemalloc.Snapshot(traces, 10).filter_traces(their_filters)
    assert summary(mine.statistics("traceback")) == summary(theirs.statistics("traceback"))
    assert len(mine.traces) == len(theirs.traces)


def test_traces_materialize_per_block():
    traces = random_traces(8, 50)
    snap = Snapshot(traces, 10)
    theirs = tracemalloc.Snapshot(traces, 10)
    assert len(snap.traces) == 50
    assert sorted((t.domain, t.size, str(t.traceback)) for t in snap.traces) == \
        sorted((t.domain, t.size, str(t.traceback)) for t in theirs.traces)
    assert repr(snap.traces) == "<Traces len=50>"
    first = snap.traces[0]
    assert first.traceback.total_nframe == traces[0][3]


def test_tie_order_is_tracemalloc_order():
    traces = [(0, 10, (("m.c", 1),), 1), (0, 10, (("z.c", 1),), 1), (0, 10, (("a.c", 9),), 1)]
    mine = [str(s.traceback) for s in Snapshot(traces, 1).statistics("lineno")]
    theirs = [str(s.traceback) for s in tracemalloc.Snapshot(traces, 1).statistics("lineno")]
    assert mine == theirs == ["z.c:1", "m.c:1", "a.c:9"]


def test_recursion_counts_a_frame_once_in_cumulative_mode():
    traces = [(0, 100, (("r.c", 5), ("r.c", 5), ("main.c", 1)), 3)]
    stats = {str(s.traceback): s.count for s in Snapshot(traces, 3).statistics("lineno", True)}
    assert stats == {"r.c:5": 1, "main.c:1": 1}


def test_bad_arguments():
    snap = Snapshot([], 1)
    with pytest.raises(InvalidArgumentError):
        snap.statistics("bogus")
    with pytest.raises(ValueError):
        snap.statistics("traceback", cumulative=True)
    with pytest.raises(MemsnapError):
        snap.statistics("traceback", cumulative=True)
    with pytest.raises(TypeError):
        snap.filter_traces(3)


LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
PROG = "/build/prog"


def c_frame(filename, lineno, function, module, label=""):
    return (filename, lineno, function, 0x1000, module, label)


def test_key_frame_skips_system_libraries_and_headers():
    strdup = c_frame("libc.so.6", 0, "strdup", LIBC, "strdup+0x1e")
    header = c_frame("/usr/include/c++/12/bits/new_allocator.h", 137, "allocate", PROG)
    user = c_frame("/src/main.cc", 10, "main", PROG)
    snap = Snapshot([(0, 64, (strdup, user), 2), (0, 32, (header, user), 2)], 8)
    assert [str(s) for s in snap.statistics("lineno")] == [
        "/src/main.cc:10: size=96 B, count=2, average=48 B"]
    raw = [str(s.traceback) for s in snap.statistics("lineno", raw=True)]
    assert raw == ["libc.so.6(strdup+0x1e)", "/usr/include/c++/12/bits/new_allocator.h:137"]
    # tracebacks keep the system frames
    tb = snap.statistics("traceback")[0].traceback
    assert len(tb) == 2
    # filters test the key frame (or the raw one)
    assert snap.filter_traces([Filter(True, "/src/*")]).total_count == 2
    assert snap.filter_traces([Filter(True, "/src/*")], raw=True).total_count == 0


def test_only_system_frames_key_is_innermost():
    strdup = c_frame("libc.so.6", 0, "strdup", LIBC, "strdup+0x1e")
    start = c_frame("libc.so.6", 0, "__libc_start_main", LIBC, "__libc_start_main+0x80")
    snap = Snapshot([(0, 8, (strdup, start), 2)], 8)
    assert str(snap.statistics("lineno")[0].traceback) == "libc.so.6(strdup+0x1e)"


def test_frames_without_lines_never_collapse():
    f1 = c_frame("prog", 0, "alpha", PROG, "alpha+0x10")
    f2 = c_frame("prog", 0, "beta", PROG, "beta+0x10")
    f3 = c_frame("prog", 0, "alpha", PROG, "alpha+0x24")
    snap = Snapshot([(0, 1, (f1,), 1), (0, 2, (f2,), 1), (0, 4, (f3,), 1)], 1)
    assert len(snap.statistics("lineno")) == 3
    assert [str(s.traceback) for s in snap.statistics("function")] == ["prog(alpha)", "prog(beta)"]
    assert [str(s.traceback) for s in snap.statistics("filename")] == ["prog:0"]


def test_function_key_groups_lines_of_a_function():
    a = c_frame("/src/w.c", 28, "MyObject_new", PROG)
    b = c_frame("/src/w.c", 29, "MyObject_new", PROG)
    c = c_frame("/src/w.c", 39, "get_data", PROG)
    snap = Snapshot([(0, 48, (a,), 1), (0, 100, (b,), 1), (0, 800, (c,), 1)], 1)
    assert [str(s) for s in snap.statistics("function")] == [
        "/src/w.c(get_data): size=800 B, count=1, average=800 B",
        "/src/w.c(MyObject_new): size=148 B, count=2, average=74 B"]
    cumulative = snap.statistics("function", cumulative=True)
    assert len(cumulative) == 2


def test_public_names():
    for name in ("take_snapshot", "get_traced_memory", "get_traceback_limit", "is_tracing",
                 "get_object_traceback", "get_tracemalloc_memory", "Snapshot", "Statistic",
                 "StatisticDiff", "Trace", "Traceback", "Frame", "Filter", "DomainFilter"):
        assert hasattr(memsnap, name), name
    assert Traceback((("a.c", 1),)) == Traceback([Frame(("a.c", 1))])


def test_key_frame_skips_allocator_wrappers_builtin_and_given():
    # jq's jv_mem_alloc is on the built-in list; pool_alloc is the program's own
    jv = c_frame("src/jv_alloc.c", 150, "jv_mem_alloc", "/usr/lib/libjq.so.1")
    pool = c_frame("/src/pool.c", 7, "pool_alloc", PROG)
    user = c_frame("/src/main.c", 20, "parse", PROG)
    snap = Snapshot([(0, 64, (jv, user), 2), (0, 32, (pool, user), 2)], 8)
    default = {str(s.traceback): s.size for s in snap.statistics("lineno")}
    assert default == {"/src/main.c:20": 64, "/src/pool.c:7": 32}
    given = memsnap.KeyRule(alloc_fns=["pool_*"])
    assert {str(s.traceback): s.size for s in snap.statistics("lineno", raw=given)} == {
        "/src/main.c:20": 96}
    raw = {str(s.traceback): s.size for s in snap.statistics("lineno", raw=True)}
    assert raw == {"src/jv_alloc.c:150": 64, "/src/pool.c:7": 32}
    # raw wins over alloc_fns; filters and compare_to take the rule too
    assert snap.filter_traces([Filter(True, "/src/main.c")], raw=given).total_count == 2
    assert snap.filter_traces([Filter(True, "/src/main.c")]).total_count == 1
    assert [str(d.traceback) for d in snap.compare_to(Snapshot([], 8), "lineno", raw=given)] == [
        "/src/main.c:20"]
    assert memsnap.KeyRule(True, ["pool_*"]) != given
    assert memsnap.KeyRule(False, ["pool_*"]) == given


def test_builtin_allocator_list_names_the_common_families():
    rule = memsnap.KeyRule()
    for name in ("xmalloc", "xstrdup", "g_malloc0", "g_slice_alloc0", "g_new0_n", "sqlite3Malloc",
                 "sqlite3MemMalloc", "PyMem_RawMalloc", "PyObject_Malloc", "jv_mem_alloc_unguarded",
                 "CRYPTO_malloc", "av_mallocz", "ngx_palloc", "apr_palloc", "talloc_named_const",
                 "je_malloc", "tc_malloc"):
        assert rule.is_allocator_frame(Frame(c_frame("a.c", 1, name, PROG))), name
    for name in ("main", "malloc_stats_print", "xmalloc_user", None):
        assert not rule.is_allocator_frame(Frame(c_frame("a.c", 1, name, PROG))), name


def test_unnamed_frames_inside_an_allocator_are_its_own():
    # Debian's libsqlite3: sqlite3MemMalloc (static, no symbol) under sqlite3Malloc
    lib = "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0"
    inner = c_frame("libsqlite3.so.0", 0, None, lib, "+0xa7504")
    malloc = c_frame("libsqlite3.so.0", 0, "sqlite3Malloc", lib, "sqlite3Malloc+0x70")
    caller = c_frame("libsqlite3.so.0", 0, None, lib, "+0xb786c")
    named = c_frame("libsqlite3.so.0", 0, "sqlite3BtreeInsert", lib, "sqlite3BtreeInsert+0x7fd")
    snap = Snapshot([(0, 64, (inner, malloc, caller, named), 4)], 8)
    assert str(snap.statistics("lineno")[0].traceback) == "libsqlite3.so.0(+0xb786c)"
    assert str(snap.statistics("lineno", raw=True)[0].traceback) == "libsqlite3.so.0(+0xa7504)"
    # an unnamed frame not under an allocator stays the key frame
    plain = Snapshot([(0, 8, (inner, named), 2)], 8)
    assert str(plain.statistics("lineno")[0].traceback) == "libsqlite3.so.0(+0xa7504)"


def test_growth_keeps_keys_that_grew_at_every_step():
    def snap(*sizes):
        # (file, size) per block
        return Snapshot([(0, size, (("%s.c" % name, 1),), 1) for name, size in sizes], 1)
    steps = [snap(("leak", 10), ("flat", 50), ("bumpy", 5)),
             snap(("leak", 10), ("leak", 20), ("flat", 50), ("bumpy", 1), ("new", 4)),
             snap(("leak", 60), ("flat", 50), ("bumpy", 9), ("new", 8), ("fast", 100))]
    found = memsnap.growth(steps, "filename")
    assert [str(g.traceback) for g in found] == ["leak.c:0", "new.c:0"]
    leak = found[0]
    assert leak.sizes == (10, 30, 60) and leak.counts == (1, 2, 1)
    assert leak.rate == 25 and leak.size_growth == 50
    assert str(leak) == ("leak.c:0: size=60 B (+50 B), count=1 (+0), growth=+25 B/step, "
                         "sizes: 10 B -> 30 B -> 60 B")
    assert found[1].sizes == (0, 4, 8)
    # 'fast' only appears in the last one: it did not grow at every step
    assert memsnap.growth(steps[1:], "filename")[0].sizes == (0, 100)
    with pytest.raises(InvalidArgumentError):
        memsnap.growth(steps[:1], "filename")


def test_slices_are_tuples_as_in_tracemalloc(tmp_path):
    snap = Snapshot([(0, 10, [("a.c", 1), ("b.c", 2)], 2), (0, 20, [("a.c", 3)], 1)], 5)
    theirs = tracemalloc.Snapshot([(0, 10, (("a.c", 1), ("b.c", 2)), 2),
                                   (0, 20, (("a.c", 3),), 1)], 5)
    assert type(snap.traces[0:2]) is type(theirs.traces[0:2]) is tuple
    assert type(snap.traces[0].traceback[0:1]) is type(theirs.traces[0].traceback[0:1]) is tuple


def test_linecache_is_reachable_and_patchable(tmp_path, monkeypatch):
    source = tmp_path / "prog.c"
    source.write_text("int main(void)\n{\n    return 0;\n}\n")
    assert memsnap.linecache is tracemalloc.linecache
    traceback = Traceback((Frame((str(source), 3)),))
    assert traceback.format()[-1] == "    return 0;"
    monkeypatch.setattr(memsnap.linecache, "getline", lambda name, line, *rest: "patched\n")
    assert traceback.format()[-1] == "    patched"
