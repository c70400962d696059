"""format_size and the str()/repr() of every value type, against literal
expectations and against CPython's tracemalloc as an oracle."""

import tracemalloc

import pytest

from memsnap import Frame, Statistic, StatisticDiff, Trace, Traceback
from memsnap.model.format import format_size


@pytest.mark.parametrize("size, sign, text", [
    (0, False, "0 B"), (0, True, "+0 B"), (1, False, "1 B"), (99, False, "99 B"),
    (100, False, "100 B"), (10239, False, "10239 B"), (10240, False, "10.0 KiB"),
    (10240, True, "+10.0 KiB"), (-10240, True, "-10.0 KiB"), (-10239, True, "-10239 B"),
    (102399, False, "100.0 KiB"), (102400, False, "100 KiB"), (1000000, False, "977 KiB"),
    (1000000, True, "+977 KiB"), (-1000000, True, "-977 KiB"), (84800, False, "82.8 KiB"),
    (10 * 1024 * 1024 - 1, False, "10240 KiB"), (10 * 1024 * 1024, False, "10.0 MiB"),
    (5 * 1024 ** 4, False, "5120 GiB"), (20 * 1024 ** 4, False, "20.0 TiB"), (50000 * 1024 ** 4, False, "50000 TiB"),
    (79.4, False, "79 B"), (99.5, False, "100 B"),
])
def test_format_size_literals(size, sign, text):
    assert format_size(size, sign) == text


def test_format_size_matches_tracemalloc():
    values = [0, 1, 9, 99, 100, 1023, 1024, 10239, 10240, 10241, 102399, 102400, 102401,
              1048575, 1048576, 10485759, 10485760, 2 ** 40, 2 ** 45, 2 ** 55]
    values += [v + 0.5 for v in values] + [-v for v in values]
    for value in values:
        for sign in (False, True):
            assert format_size(value, sign) == tracemalloc._format_size(value, sign), value


def frames_tm(*frames):
    return tracemalloc.Traceback(frames)


def test_statistic_str_repr_match_tracemalloc():
    cases = [(("waste_memory.c", 14),), (("a.c", 1), ("b.c", 2))]
    for frames in cases:
        for size, count in [(1000000, 10000), (0, 0), (10239, 1), (84800, 100)]:
            mine = Statistic(Traceback(frames), size, count)
            theirs = tracemalloc.Statistic(tracemalloc.Traceback(frames), size, count)
            assert str(mine) == str(theirs)
            assert repr(mine) == repr(theirs)


def test_statistic_diff_str_repr_match_tracemalloc():
    for size, size_diff, count, count_diff in [
            (1000000, 1000000, 10000, 10000), (0, -4800, 0, -100), (100, 0, 1, 0),
            (48, -52, 1, 0), (10240, 10240, 2, 1)]:
        mine = StatisticDiff(Traceback((("waste_memory.c", 14),)), size, size_diff, count, count_diff)
        theirs = tracemalloc.StatisticDiff(tracemalloc.Traceback((("waste_memory.c", 14),)),
                                           size, size_diff, count, count_diff)
        assert str(mine) == str(theirs)
        assert repr(mine) == repr(theirs)


def test_seed_line_text():
    stat = StatisticDiff(Traceback((("waste_memory.c", 14),)), 1000000, 1000000, 10000, 10000)
    assert str(stat) == ("waste_memory.c:14: size=977 KiB (+977 KiB), count=10000 (+10000), "
                         "average=100 B")


def test_vanished_group_has_no_average():
    stat = StatisticDiff(Traceback((("x.c", 3),)), 0, -4800, 0, -100)
    assert str(stat) == "x.c:3: size=0 B (-4800 B), count=0 (-100)"


def test_frame_and_traceback_str_repr_match_tracemalloc():
    frames = (("b.c", 2), ("a.c", 1))   # most recent first
    mine, theirs = Traceback(frames, 5), tracemalloc.Traceback(frames, 5)
    assert str(mine) == str(theirs)
    assert repr(mine) == repr(theirs)
    assert repr(Traceback(frames)) == repr(tracemalloc.Traceback(frames))
    assert [str(f) for f in mine] == [str(f) for f in theirs]
    assert repr(mine[0]) == repr(theirs[0])
    assert mine.total_nframe == 5 and len(mine) == 2
    assert mine[0].filename == "a.c" and mine[-1].lineno == 2


def test_trace_str_repr_match_tracemalloc():
    trace = (0, 10240, (("b.c", 2), ("a.c", 1)), 2)
    assert str(Trace(trace)) == str(tracemalloc.Trace(trace))
    assert repr(Trace(trace)) == repr(tracemalloc.Trace(trace))
    assert Trace(trace).domain == 0 and Trace(trace).size == 10240


def test_traceback_format_limits_and_order(tmp_path):
    source = tmp_path / "prog.c"
    source.write_text("int main(void)\n{\n    run();  \n    return 0;\n}\nvoid run(void) { f(); }\n")
    name = str(source)
    frames = ((name, 6), (name, 3))      # most recent first
    tb = Traceback(frames)
    theirs = tracemalloc.Traceback(frames)
    for limit in (None, 1, -1, 2, 5):
        for recent in (False, True):
            assert tb.format(limit, recent) == theirs.format(limit, recent)
    assert tb.format() == ['  File "%s", line 3' % name, "    run();",
                           '  File "%s", line 6' % name, "    void run(void) { f(); }"]


def test_frame_without_line_info_text():
    frame = Frame(("libc.so.6", 0, "malloc", 0x7f00, "/lib/libc.so.6", "malloc+0x1a"))
    assert str(frame) == "libc.so.6(malloc+0x1a)"
    assert Traceback((frame,)).format() == ['  File "libc.so.6", in malloc+0x1a']
    assert repr(frame) == "<Frame filename='libc.so.6' lineno=0 function='malloc' label='malloc+0x1a'>"
    other = Frame(("libc.so.6", 0, "free", 0x7f10, "/lib/libc.so.6", "free+0x10"))
    assert frame != other and hash(frame) != hash(other)


def test_frames_with_same_line_but_other_pc_are_equal():
    a = Frame(("x.c", 5, "f", 0x1000, "/p", ""))
    b = Frame(("x.c", 5, "f", 0x1004, "/p", ""))
    assert a == b and hash(a) == hash(b)
    assert Frame(("x.c", 5)) == a
